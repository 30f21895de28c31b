import Foundation
import Interpreter

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
    /// Feeds `batches` (each with `support_x`, ..., tasks on axis 0) through `step` with the
    /// parameters in `store`; collects `task_accuracy` until `episodes` are scored.
    public static func evaluate(step: Executable, store: ParameterStore, episodes: Int,
                                batches: (Int) throws -> [String: FeedValue]) throws -> EvalResult {
        var accuracies: [Double] = [], losses: [Double] = []
        var index = 0
        let compiled = step as? CompiledProgram
        if let compiled { for (n, v) in store.values { try compiled.set(n, v) } }
        while accuracies.count < episodes {
            let inputs = try batches(index)
            let acc: HostTensor, loss: Double?
            if let compiled {
                for (n, v) in inputs { try v.write(n, into: compiled) }
                compiled.execute()
                acc = try compiled.value("task_accuracy")
                loss = try? compiled.scalar("loss")
            } else {
                var feeds = inputs.mapValues(\.hostTensor)
                for (n, v) in store.values { feeds[n] = v }
                let out = try step.run(feeds)
                guard let a = out["task_accuracy"] else { throw TrainingError.missingOutput("task_accuracy") }
                acc = a
                loss = out["loss"]?.scalar
            }
            accuracies += acc.data.prefix(episodes - accuracies.count)
            if let loss { losses.append(loss) }
            index += 1
        }
        return EvalResult(accuracies: accuracies, losses: losses)
    }
}
