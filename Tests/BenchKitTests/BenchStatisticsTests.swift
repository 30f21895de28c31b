import BenchKit
import Testing

@Suite struct BenchStatisticsTests {
    @Test func medianAndBestOfRounds() throws {
        #expect(BenchStatistics.median([]) == nil)
        #expect(BenchStatistics.median([3, 1, 2]) == 2)
        #expect(BenchStatistics.median([4, 1, 3, 2]) == 2.5)
        let s = try #require(RoundSummary(rounds: [1.9, 1.2, 2.1]))
        #expect(s.median == 1.9 && s.best == 2.1 && s.rounds == [1.9, 1.2, 2.1])
        #expect(RoundSummary(rounds: []) == nil)
        #expect(RoundSummary(rounds: [1, .nan]) == nil)
        #expect(RoundSummary(rounds: [1, 0]) == nil)
    }

    @Test func headlineIsTheFastestMedianAndTiesAreStable() throws {
        let top = try #require(BenchStatistics.fastest(["torch eager": 1.8, "jax unroll-nhwc": 2.4, "jax map": 0.2, "tf xla": .nan]))
        #expect(top.label == "jax unroll-nhwc" && top.median == 2.4)
        #expect(BenchStatistics.fastest(["b": 1, "a": 1])?.label == "a")
        #expect(BenchStatistics.fastest([:]) == nil)
        #expect(BenchStatistics.gflops(stepGFLOP: 45.2, iterationsPerSecond: 2) == 90.4)
    }

    @Test func firstLossesAgreeWithinTheRelativeTolerance() {
        let ref = 1.6094
        let checks = LossAgreement.check(reference: ref, runners: [
            ("torch eager", 1.6094 * (1 + 5e-5)), ("jax map", 1.6094 * (1 + 3e-4)), ("tf xla", nil), ("torch compile", .nan)])
        #expect(checks.map(\.agrees) == [true, false, true, false])
        #expect(checks[2].loss == nil && checks[2].relative_difference == nil)
        #expect(checks[3].relative_difference == nil)
        let lines = LossAgreement.disagreements(checks, reference: ref)
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix("jax map: loss 1.60988 vs 1.6094") && lines[0].contains("3.0e-04 relative"))
        #expect(lines[1].hasPrefix("torch compile") && lines[1].contains("not finite"))
        #expect(LossAgreement.relativeDifference(0, reference: 0) == 0)
        #expect(LossAgreement.check(reference: 2, runners: [("x", 2.0003)], tolerance: 1e-3)[0].agrees)
    }

    @Test func estimateBoundsEveryRun() {
        #expect(BenchEstimate.upperBound(runs: 10, startup: 5, maxSeconds: 20, warmup: 2) == 10 * (5 + 40))
        #expect(BenchEstimate.upperBound(runs: 3, startup: 1, maxSeconds: 2, warmup: 0) == 9)
    }
}
