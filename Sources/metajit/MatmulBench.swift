import Foundation
import GraphDSL
import Interpreter
import MetaIR
import Runtime

/// Matmul GFLOP/s of the compiled kernels on 1 and 2 threads (`metajit bench --matmul`).
enum MatmulBench {
    struct Row: Codable {
        var shape: String
        var threads: Int
        var gflops: Double
        var seconds_per_call: Double
    }

    static let shapes: [(m: Int, k: Int, n: Int)] = [(64, 576, 64), (1024, 1024, 1024), (80, 256, 5), (320, 64, 576)]

    static func run() throws -> [Row] {
        var rows: [Row] = []
        for s in shapes {
            let b = GraphBuilder(name: "matmul_\(s.m)x\(s.k)x\(s.n)")
            let x = try b.input("a", [s.m, s.k]), w = try b.input("b", [s.k, s.n])
            b.output("c", try x.matmul(w))
            let g = try b.finish()
            for threads in [1, 2] {
                let p = try CompiledProgram(graph: g, options: CompileOptions(optLevel: .O3, threads: threads))
                var rng = SeededRandom(seed: 1)
                try p.set("a", rng.tensor(TensorType(.f32, [s.m, s.k])))
                try p.set("b", rng.tensor(TensorType(.f32, [s.k, s.n])))
                p.execute()
                // Repeat until at least 0.3 s, best of 3 such runs.
                let flops = 2.0 * Double(s.m * s.k * s.n)
                let reps = max(1, Int(3e8 / flops))
                var best = Double.infinity
                for _ in 0..<3 {
                    let t = ContinuousClock.now
                    for _ in 0..<reps { p.execute() }
                    best = min(best, seconds(ContinuousClock.now - t) / Double(reps))
                }
                rows.append(Row(shape: "\(s.m)×\(s.k) · \(s.k)×\(s.n)", threads: threads, gflops: flops / best / 1e9,
                                seconds_per_call: best))
            }
        }
        return rows
    }

    static func markdown(_ rows: [Row], peak: [String: Double]) -> String {
        var s = "| matmul | threads | MetaJIT GFLOP/s | best sgemm 4096³ (NumPy, PyTorch, JAX) | fraction of peak |\n| --- | --- | --- | --- | --- |\n"
        for r in rows {
            let p = peak["threads_\(r.threads)"]
            s += "| \(r.shape) | \(r.threads) | \(String(format: "%.1f", r.gflops)) | \(p.map { String(format: "%.1f", $0) } ?? "–") | "
            s += (p.map { String(format: "%.0f%%", 100 * r.gflops / $0) } ?? "–") + " |\n"
        }
        return s
    }
}
