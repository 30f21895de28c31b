import Foundation
import Interpreter
import MetaIR

/// Mean accuracy over episodes with its 95% confidence interval.
public struct EvalResult: Codable, Equatable, CustomStringConvertible {
    /// Mean accuracy in [0, 1].
    public var accuracy: Double
    /// Half-width of the 95% confidence interval (1.96·σ/√n).
    public var ci95: Double
    /// Episodes evaluated.
    public var episodes: Int
    /// Mean query loss.
    public var loss: Double

    /// Summarises per-episode accuracies and per-batch losses.
    public init(accuracies: [Double], losses: [Double]) {
        let n = Double(max(accuracies.count, 1))
        let mean = accuracies.reduce(0, +) / n
        let variance = accuracies.count > 1
            ? accuracies.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(accuracies.count - 1) : 0
        accuracy = mean
        ci95 = 1.96 * variance.squareRoot() / n.squareRoot()
        episodes = accuracies.count
        loss = losses.isEmpty ? .nan : losses.reduce(0, +) / Double(losses.count)
    }

    /// `accuracy 93.41% ± 0.52% (600 episodes)`.
    public var description: String {
        String(format: "accuracy %.2f%% ± %.2f%% (%d episodes)", accuracy * 100, ci95 * 100, episodes)
    }
}

/// Runs an evaluation step over batches of episodes.
public enum Evaluator {
    /// Feeds `batches` (each with the signature's episode inputs, tasks on axis 0) through
    /// `step` with the parameters in `store`; collects the per-task accuracy output until
    /// `episodes` are scored. The signature defaults to the episodic conventions.
    public static func evaluate(step: Executable, signature: StepSignature? = nil, store: ParameterStore, episodes: Int,
                                batches: (Int) throws -> [String: FeedValue]) throws -> EvalResult {
        let signature = signature ?? StepSignature.episodic(.eval, of: step.graph)
        try signature.validate(against: step.graph)
        guard let taskAccuracy = signature.taskAccuracy else {
            throw TrainingError.missingOutput(StepSignature.taskAccuracyName)
        }
        var accuracies: [Double] = [], losses: [Double] = []
        var index = 0
        for (n, v) in store.values { try step.set(n, v) }
        while accuracies.count < episodes {
            for (n, v) in try batches(index) { try step.feed(n, v) }
            try step.execute()
            let acc = try step.value(taskAccuracy)
            guard !acc.data.isEmpty else { throw TrainingError.missingOutput(taskAccuracy) }
            accuracies += acc.data.prefix(episodes - accuracies.count)
            losses.append(try step.scalar(signature.loss))
            index += 1
        }
        return EvalResult(accuracies: accuracies, losses: losses)
    }
}
