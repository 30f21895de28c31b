import Foundation
import Interpreter
import Lowering
import MetaIR
import MetaLearning
import Runtime

/// The benchmark workloads, named as the peer scripts (`Benchmarks/peers/peers.py`) name them.
struct BenchWorkload {
    var name: String
    var summary: String
    /// The compiled step and how to fill its inputs.
    var build: () throws -> StepGraph
    /// Input values (synthetic: uniform images, labels `0..<ways` in class-major order), seeded.
    var inputs: (StepGraph, UInt64) -> [String: FeedValue]
    /// The episodic step's configuration (`nil` for steps without a split gradient/update form).
    var config: StepConfig? = nil

    static func conv(_ name: String, _ summary: String, _ c: StepConfig) -> BenchWorkload {
        BenchWorkload(name: name, summary: summary, build: { try StepBuilder.trainStep(c) }, inputs: { _, seed in
            var rng = SeededRandom(seed: seed)
            let t = c.metaBatch, n = c.ways, s = c.imageSize
            func images(_ count: Int) -> [Float] { (0..<(t * count * s * s)).map { _ in rng.unit() } }
            func labels(_ per: Int) -> [Int32] { (0..<t).flatMap { _ in (0..<n).flatMap { k in [Int32](repeating: Int32(k), count: per) } } }
            return [StepSignature.supportX: .f32(images(n * c.shots), [t, n * c.shots, 1, s, s]),
                    StepSignature.supportY: .i32(labels(c.shots), [t, n * c.shots]),
                    StepSignature.queryX: .f32(images(n * c.queries), [t, n * c.queries, 1, s, s]),
                    StepSignature.queryY: .i32(labels(c.queries), [t, n * c.queries])]
        }, config: c)
    }

    static var all: [BenchWorkload] { [
        conv("maml-5w1s", "MAML (2nd order) Conv-4 Omniglot 5-way 1-shot 15q, meta-batch 32, 1 inner step",
             StepConfig(algorithm: .maml, ways: 5, shots: 1, queries: 15, metaBatch: 32, innerSteps: 1, innerLR: 0.4, strided: true)),
        conv("maml-5w1s-pool", "MAML (2nd order) max-pool Conv-4 (ProtoNet's network) Omniglot 5-way 1-shot 15q, meta-batch 32, 1 inner step",
             StepConfig(algorithm: .maml, ways: 5, shots: 1, queries: 15, metaBatch: 32, innerSteps: 1, innerLR: 0.4, strided: false)),
        conv("fomaml-5w1s", "FOMAML Conv-4 Omniglot 5-way 1-shot 15q, meta-batch 32, 1 inner step",
             StepConfig(algorithm: .fomaml, ways: 5, shots: 1, queries: 15, metaBatch: 32, innerSteps: 1, innerLR: 0.4, strided: true)),
        conv("maml-20w1s", "MAML (2nd order) Conv-4 Omniglot 20-way 1-shot 15q, meta-batch 16, 5 inner steps",
             StepConfig(algorithm: .maml, ways: 20, shots: 1, queries: 15, metaBatch: 16, innerSteps: 5, innerLR: 0.1, strided: true)),
        conv("protonet-20w", "ProtoNet max-pool Conv-4, 20-way 1-shot 15q training episodes",
             StepConfig(algorithm: .protonet, ways: 20, shots: 1, queries: 15, metaBatch: 1, innerSteps: 0, innerLR: 0, strided: false)),
        BenchWorkload(name: "maml-sinusoid", summary: "MAML (2nd order) sinusoid MLP 1-40-40-1, 10-shot, meta-batch 25, 1 inner step",
                      build: { try StepBuilder.sinusoidTrainStep(tasks: 25, shots: 10, queries: 10, steps: 1, innerLR: 0.01) }) { _, seed in
            var rng = SeededRandom(seed: seed)
            func points(_ n: Int) -> [Float] { (0..<(25 * n)).map { _ in rng.unit() * 10 - 5 } }
            return Self.regression(points(10), points(10), points(10), points(10), shape: [25, 10, 1])
        },
    ] }

    /// Episode inputs of a regression step, all of one shape.
    static func regression(_ sx: [Float], _ sy: [Float], _ qx: [Float], _ qy: [Float], shape: [Int]) -> [String: FeedValue] {
        [StepSignature.supportX: .f32(sx, shape), StepSignature.supportY: .f32(sy, shape),
         StepSignature.queryX: .f32(qx, shape), StepSignature.queryY: .f32(qy, shape)]
    }

    /// Small variants for CI's smoke run (same code paths, seconds not minutes).
    static var smoke: [BenchWorkload] { [
        conv("maml-5w1s", "smoke: MAML Conv-4 width 64, 5-way 1-shot, meta-batch 2",
             StepConfig(algorithm: .maml, ways: 5, shots: 1, queries: 15, metaBatch: 2, innerSteps: 1, innerLR: 0.4, strided: true)),
        BenchWorkload(name: "maml-sinusoid", summary: "smoke: sinusoid MAML, meta-batch 4",
                      build: { try StepBuilder.sinusoidTrainStep(tasks: 4) }) { _, seed in
            var rng = SeededRandom(seed: seed)
            func points() -> [Float] { (0..<40).map { _ in rng.unit() * 10 - 5 } }
            return Self.regression(points(), points(), points(), points(), shape: [4, 10, 1])
        },
    ] }
}

extension SeededRandom {
    /// Uniform in [0, 1) as `Float` (synthetic benchmark data).
    mutating func unit() -> Float { Float(uniform()) }
}

/// Peak resident set size of this process, in bytes (Linux reports KiB).
func peakRSSBytes() -> Int {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return u.ru_maxrss * 1024
}

/// One MetaJIT measurement, as JSON.
struct MetaJITMeasurement: Codable {
    var workload: String
    var iterations_per_s: Double
    var seconds_per_iteration: Double
    /// From the start of graph construction to the end of the first step.
    var time_to_first_step_s: Double
    var build_s: Double
    var compile_s: Double
    var compile_cached: Bool
    var peak_rss_bytes: Int
    var step_gflop: Double
    var achieved_gflops: Double
    var kernels: Int
    var distinct_functions: Int
    var arena_bytes: Int
    var loss_first: Double
    var loss_last: Double
    var hottest_kernels: [String]
    /// Kernel threads (`--threads`).
    var threads: Int?
    /// The CPUs this process may run on (`Cpus_allowed_list` of `/proc/self/status`).
    var affinity: String?
    /// How subnormal floats are handled while the kernels run.
    var denormals: String?
    /// How the step used the threads: `kernels` (each large kernel split between them) or
    /// `tasks (16+16 per core)` (shares of the meta-batch, one per core).
    var parallel: String? = nil
}

/// `Cpus_allowed_list` of `/proc/self/status` (e.g. `0-1`), or `nil` off Linux.
func cpuAffinity() -> String? {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    return s.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }
        .map { $0.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces) }
}

extension BenchWorkload {
    /// Builds, compiles and times the step in this process.
    ///
    /// With `writeInputs`, the initial parameters and the batch (labels as F32) are written
    /// there as safetensors first, so the peers (`peers.py --inputs`) start from the same numbers.
    func measure(warmup: Int, iterations: Int, threads: Int, seed: UInt64, parallel: ParallelMode = .kernels,
                 writeInputs: URL? = nil) throws -> MetaJITMeasurement {
        let clock = ContinuousClock()
        let t0 = clock.now
        let step = try build()
        let split = try parallel == .tasks ? config.flatMap { try TaskShares.graphs($0, threads: threads) } : nil
        let built = clock.now
        let options = CompileOptions(optLevel: .O3, threads: threads)
        let program: any Executable, compiledParts: [CompiledProgram]
        if let split {
            let p = try TaskParallelProgram(shares: split.shares, update: split.update, options: options)
            (program, compiledParts) = (p, p.shares + [p.update])
        } else {
            let p = try CompiledProgram(graph: step.graph, options: options)
            (program, compiledParts) = (p, [p])
        }
        let compiled = clock.now
        let store = ParameterStore(specs: step.parameters, seed: seed)
        for (n, v) in store.values { try program.set(n, v) }
        let feeds = inputs(step, seed)
        for (n, v) in feeds { try program.feed(n, v) }
        if let writeInputs {
            var tensors: [String: (shape: Shape, values: [Float])] = [:]
            let names = Set(step.parameters.map(\.name))
            for (n, v) in store.values where names.contains(n) && !n.hasPrefix("adam") {
                tensors[n] = (v.type.shape, v.data.map(Float.init))
            }
            for (n, v) in feeds {
                switch v {
                case .f32(let x, let s): tensors["input." + n] = (Shape(s), x)
                case .i32(let x, let s): tensors["input." + n] = (Shape(s), x.map(Float.init))
                }
            }
            try SafeTensors.encode(tensors, metadata: ["workload": name, "seed": "\(seed)", "labels": "f32"])
                .write(to: writeInputs, options: .atomic)
        }
        let signature = step.signature
        try program.set(signature.learningRate ?? StepSignature.learningRateName, .init(.init(.f32, .scalar), [1e-3]))
        func once() throws -> Double {
            try program.execute()
            try program.apply(signature.updates)
            return try program.scalar(signature.loss)
        }
        let first = try once()
        let firstDone = clock.now
        for _ in 1..<max(warmup, 1) { _ = try once() }
        var last = first
        let t = clock.now
        for _ in 0..<iterations { last = try once() }
        let per = seconds(clock.now - t) / Double(iterations)
        // Dense work of every program that runs (each share and the update, or the fused step).
        let flops = compiledParts.reduce(0) { total, p in
            total + p.lowered.calls.filter { c in p.program.kernels[safe: c.kernel]?.body.isDense ?? false }.reduce(0) { $0 + $1.work }
        }
        // Task-parallel: the first share's kernels, timed alone on one thread.
        let entries = compiledParts[0].profile()
        if ProcessInfo.processInfo.environment["METAJIT_PROFILE"] != nil {
            // Time by kind of kernel, then the hottest functions (`METAJIT_PROFILE=N`: N of them, else 25).
            var byKind: [String: (Double, Int)] = [:]
            for e in entries {
                let kind = e.example.split(separator: "=").dropFirst().first.map { String($0.split(separator: " ").first ?? "") } ?? "?"
                byKind[kind, default: (0, 0)].0 += e.seconds
                byKind[kind, default: (0, 0)].1 += e.calls
            }
            for part in compiledParts { log("compile: " + part.report.description) }
            for (k, v) in byKind.sorted(by: { $0.value.0 > $1.value.0 }) { log(String(format: "%-20@ %8.1f ms %6d calls", k, v.0 * 1000, v.1)) }
            let shown = Int(ProcessInfo.processInfo.environment["METAJIT_PROFILE"] ?? "") ?? 25
            for e in entries.prefix(max(shown, 25)) {
                log(String(format: "%7.1f ms x%-5d %6.1f G/s ", e.seconds * 1000, e.calls, Double(e.work) / max(e.seconds, 1e-12) / 1e9) + e.example.prefix(200))
            }
        }
        let hot = entries.prefix(5).map { e in
            String(format: "%.1f ms x%d (%.1f GFLOP/s) ", e.seconds * 1000, e.calls, Double(e.work) / max(e.seconds, 1e-12) / 1e9)
                + String(e.example.prefix(160))
        }
        return MetaJITMeasurement(
            workload: name, iterations_per_s: 1 / per, seconds_per_iteration: per,
            time_to_first_step_s: seconds(firstDone - t0), build_s: seconds(built - t0), compile_s: seconds(compiled - built),
            compile_cached: compiledParts.allSatisfy(\.report.llvm.cacheHit), peak_rss_bytes: peakRSSBytes(),
            step_gflop: Double(flops) / 1e9, achieved_gflops: Double(flops) / per / 1e9,
            kernels: compiledParts.reduce(0) { $0 + $1.report.kernels }, distinct_functions: compiledParts.reduce(0) { $0 + $1.report.functions },
            arena_bytes: compiledParts.reduce(0) { $0 + $1.report.arenaBytes },
            loss_first: first, loss_last: last, hottest_kernels: Array(hot), threads: threads, affinity: cpuAffinity(),
            denormals: "flush-to-zero (MXCSR FTZ+DAZ while kernels run)",
            parallel: split.map { "tasks (\($0.shares.map { String($0.tasks) }.joined(separator: "+")) per core)" } ?? "kernels")
    }
}

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }

extension Array {
    subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}
