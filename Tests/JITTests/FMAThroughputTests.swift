import JIT
import Testing

/// The FMA-throughput loop behind `metajit bench --limits` computes what it says: every
/// accumulator runs `a ← a·m + c` from 0, and the stored lanes are their sum.
@Suite struct FMAThroughputTests {
    @Test func loopComputesTheRecurrenceInEveryAccumulator() throws {
        let (module, loop) = try FMAThroughput.compile()
        defer { withExtendedLifetime(module) {} }
        // m = 1, c = 1: each accumulator counts the iterations.
        let counted = FMAThroughput.run(loop, m: 1, c: 1, iterations: 10)
        #expect(counted == [Float](repeating: Float(10 * FMAThroughput.accumulators), count: 16))
        // m = 0.5, c = 1, three steps: 0 → 1 → 1.5 → 1.75.
        let halved = FMAThroughput.run(loop, m: 0.5, c: 1, iterations: 3)
        #expect(halved == [Float](repeating: 1.75 * Float(FMAThroughput.accumulators), count: 16))
        // No iterations: the sum of zero accumulators.
        #expect(FMAThroughput.run(loop, m: 2, c: 3, iterations: 0) == [Float](repeating: 0, count: 16))
    }

    @Test func moduleHasIndependentVectorFMAs() {
        let text = FMAThroughput.module()
        let calls = text.split(separator: "\n").filter { $0.contains("call <16 x float> @llvm.fma.v16f32") }
        #expect(calls.count == FMAThroughput.accumulators)
        // Each accumulator feeds only its own FMA: no chain between accumulators.
        for j in 0..<FMAThroughput.accumulators {
            #expect(calls.contains { $0.contains("%a\(j).next = call") && $0.contains("(<16 x float> %a\(j),") })
        }
    }
}
