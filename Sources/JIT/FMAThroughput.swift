import Foundation

/// The machine's fused multiply-add peak as this JIT's code reaches it: a loop of
/// `accumulators` independent `<16 x float>` FMAs (`llvm.fma.v16f32`), compiled for the host
/// CPU like every kernel, run on 1…N threads at once.
///
/// It is the ceiling the dense kernels are measured against (`metajit bench --limits`): with
/// enough independent accumulators to cover the FMA latency, nothing but the FMA ports limits
/// the loop. Each iteration is `accumulators × 16 × 2` FLOPs.
public enum FMAThroughput {
    /// Independent accumulators (latency 4 × 2 FMA pipes needs at least 8 chains). With
    /// AVX-512, 16 leave margin and still fit the 32 `zmm` registers with the two operands.
    /// Without it each `<16 x float>` is two `ymm` chains: 6 accumulators are 12 chains and,
    /// with the operands, exactly the 16 `ymm` registers (16 would spill and measure the
    /// spills: 34 instead of ~90 GFLOP/s per core on a Zen 3 EPYC).
    public static var accumulators: Int { LLVMInfo.hostHasAVX512 ? 16 : 6 }

    /// `void @fma_loop(ptr %io, i64 %n)`: loads `m` from `io[0..<16]` and `c` from
    /// `io[16..<32]`, runs `n` iterations of `a_j ← fma(a_j, m, c)` from `a_j = 0` for every
    /// accumulator j, and stores `Σ_j a_j` to `io[0..<16]`.
    public static func module() -> String {
        let v = "<16 x float>"
        var s = """
            declare \(v) @llvm.fma.v16f32(\(v), \(v), \(v))

            define void @fma_loop(ptr %io, i64 %n) {
            entry:
              %m = load \(v), ptr %io, align 4
              %cp = getelementptr inbounds float, ptr %io, i64 16
              %c = load \(v), ptr %cp, align 4
              %empty = icmp sle i64 %n, 0
              br i1 %empty, label %exit, label %loop
            loop:
              %i = phi i64 [ 0, %entry ], [ %i.next, %loop ]

            """
        for j in 0..<accumulators {
            s += "  %a\(j) = phi \(v) [ zeroinitializer, %entry ], [ %a\(j).next, %loop ]\n"
        }
        for j in 0..<accumulators {
            s += "  %a\(j).next = call \(v) @llvm.fma.v16f32(\(v) %a\(j), \(v) %m, \(v) %c)\n"
        }
        s += """
              %i.next = add nuw nsw i64 %i, 1
              %done = icmp eq i64 %i.next, %n
              br i1 %done, label %exit, label %loop
            exit:

            """
        for j in 0..<accumulators {
            s += "  %r\(j) = phi \(v) [ zeroinitializer, %entry ], [ %a\(j).next, %loop ]\n"
        }
        var sum = "%r0"
        for j in 1..<accumulators {
            s += "  %s\(j) = fadd \(v) \(sum), %r\(j)\n"
            sum = "%s\(j)"
        }
        s += "  store \(v) \(sum), ptr %io, align 4\n  ret void\n}\n"
        return s
    }

    /// The compiled loop.
    public typealias Loop = @convention(c) (UnsafeMutableRawPointer, Int64) -> Void

    /// Compiles the loop (no cache: it is compiled once per measurement).
    public static func compile() throws -> (module: CompiledModule, loop: Loop) {
        let jit = try LLVMJIT(cache: nil)
        let module = try jit.compile(module: module(), name: "fma_throughput", optLevel: .O3)
        return (module, try module.function(named: "fma_loop", as: Loop.self))
    }

    /// Runs `loop` with `m`, `c` for `iterations` and returns the 16 lanes it stores.
    public static func run(_ loop: Loop, m: Float, c: Float, iterations: Int) -> [Float] {
        var io = [Float](repeating: m, count: 16) + [Float](repeating: c, count: 16)
        io.withUnsafeMutableBytes { loop($0.baseAddress!, Int64(iterations)) }
        return Array(io.prefix(16))
    }

    /// GFLOP/s of `threads` threads running the loop at the same time (best of `repeats`
    /// runs of about `seconds` each).
    public static func measure(threads: Int, seconds: Double = 0.3, repeats: Int = 3) throws -> Double {
        let (module, loop) = try compile()
        let flopsPerIteration = Double(accumulators * 16 * 2)
        // Calibrate: iterations per second on one thread.
        var n = 1 << 20
        var elapsed = 0.0
        while true {
            let t = Date()
            _ = run(loop, m: 0.999_999, c: 1e-3, iterations: n)
            elapsed = Date().timeIntervalSince(t)
            if elapsed > 0.02 || n > 1 << 34 { break }
            n *= 4
        }
        let iterations = max(1, Int(Double(n) * seconds / max(elapsed, 1e-9)))
        var best = 0.0
        for _ in 0..<max(1, repeats) {
            let group = DispatchGroup()
            let start = Date()
            for _ in 0..<max(1, threads) {
                group.enter()
                Thread.detachNewThread {
                    _ = run(loop, m: 0.999_999, c: 1e-3, iterations: iterations)
                    group.leave()
                }
            }
            group.wait()
            let wall = Date().timeIntervalSince(start)
            best = max(best, flopsPerIteration * Double(iterations) * Double(max(1, threads)) / wall / 1e9)
        }
        withExtendedLifetime(module) {}
        return best
    }
}
