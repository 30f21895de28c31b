import Foundation

/// Median and best of one runner's rounds (iterations per second; higher is faster).
public struct RoundSummary: Codable, Equatable, Sendable {
    /// Every round's rate, in the order the rounds ran.
    public var rounds: [Double]
    /// The median round (the mean of the two middle ones for an even count).
    public var median: Double
    /// The fastest round.
    public var best: Double

    /// Summarises `rounds`; `nil` when there are none or one is not a positive finite rate.
    public init?(rounds: [Double]) {
        guard !rounds.isEmpty, rounds.allSatisfy({ $0.isFinite && $0 > 0 }), let m = BenchStatistics.median(rounds),
              let b = rounds.max() else { return nil }
        self.rounds = rounds
        self.median = m
        self.best = b
    }
}

/// Pure helpers behind `metajit bench`'s report: medians, the headline peer, ratios, rates.
public enum BenchStatistics {
    /// The median of `values` (mean of the middle two for an even count), `nil` if empty.
    public static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let s = values.sorted()
        let mid = s.count / 2
        return s.count % 2 == 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
    }

    /// The fastest runner by median rate: `(label, median)`; ties go to the label first in
    /// sort order, so the headline does not depend on dictionary order.
    public static func fastest(_ medians: [String: Double]) -> (label: String, median: Double)? {
        medians.filter { $0.value.isFinite && $0.value > 0 }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .first.map { ($0.key, $0.value) }
    }

    /// GFLOP/s of a step of `stepGFLOP` GFLOP at `iterationsPerSecond`.
    public static func gflops(stepGFLOP: Double, iterationsPerSecond: Double) -> Double {
        stepGFLOP * iterationsPerSecond
    }
}

/// One runner's first loss compared with the reference runner's.
public struct LossCheck: Codable, Equatable, Sendable {
    /// `framework variant`, e.g. `jax unroll-nhwc`.
    public var runner: String
    /// Its first loss; `nil` when the runner was skipped or printed none.
    public var loss: Double?
    /// |loss − reference| / |reference|; `nil` when there is no loss to compare.
    public var relative_difference: Double?
    /// Within the tolerance (a runner without a loss neither agrees nor disagrees: `true`).
    public var agrees: Bool
}

/// The check that every runner started from the same numbers: first losses within a
/// relative tolerance of the reference runner's (MetaJIT's).
public enum LossAgreement {
    /// The relative tolerance the issue fixes: 1e-4.
    public static let defaultTolerance = 1e-4

    /// |a − b| / |b|, with |b| clamped below at 1e-30 so a zero reference does not divide by
    /// zero; infinite when either value is not finite.
    public static func relativeDifference(_ a: Double, reference b: Double) -> Double {
        guard a.isFinite, b.isFinite else { return .infinity }
        return abs(a - b) / max(abs(b), 1e-30)
    }

    /// Compares each runner's first loss with `reference`. A runner without a loss (skipped)
    /// is reported with `loss: nil` and counts as agreeing; a non-finite loss disagrees.
    public static func check(reference: Double, runners: [(label: String, loss: Double?)],
                             tolerance: Double = defaultTolerance) -> [LossCheck] {
        runners.map { r in
            guard let loss = r.loss else { return LossCheck(runner: r.label, loss: nil, relative_difference: nil, agrees: true) }
            let d = relativeDifference(loss, reference: reference)
            return LossCheck(runner: r.label, loss: loss, relative_difference: d.isFinite ? d : nil, agrees: d <= tolerance)
        }
    }

    /// The runners that disagree, as one line each: `jax map: loss 1.6101 vs 1.6094 (4.3e-04 relative)`.
    public static func disagreements(_ checks: [LossCheck], reference: Double) -> [String] {
        checks.filter { !$0.agrees }.map { c in
            let rel = c.relative_difference.map { String(format: "%.1e", $0) } ?? "not finite"
            return "\(c.runner): loss \(c.loss.map { String(format: "%.6g", $0) } ?? "–") vs \(String(format: "%.6g", reference)) (\(rel) relative)"
        }
    }
}

/// A bound on how long a `metajit bench` run takes, printed before it starts.
public enum BenchEstimate {
    /// Seconds for `runs` measurements of which each costs at most `startup` seconds of process
    /// start and compilation outside the timed loop, `warmup` untimed iterations and a timed
    /// loop stopped after `maxSeconds` (the warm-up is bounded by the same cap).
    public static func upperBound(runs: Int, startup: Double, maxSeconds: Double, warmup: Int) -> Double {
        Double(runs) * (startup + maxSeconds * Double(1 + max(warmup - 1, 0)))
    }
}
