import Foundation
import MetaIR
import MetaLearning
import Runtime

/// `metajit eval DIR --nearest-neighbour`: the nearest-neighbour baseline on the episodes the
/// learner was scored on, in pixel space and in the checkpoint's embedding.
enum NearestNeighbourEval {
    struct Result {
        var pixels: EvalResult
        var embedding: EvalResult

        /// `nearest-neighbour accuracy: pixels A% ± CI, embedding B% ± CI (N episodes)`.
        var line: String {
            String(format: "nearest-neighbour accuracy: pixels %.2f%% ± %.2f%%, embedding %.2f%% ± %.2f%% (%d episodes)",
                   pixels.accuracy * 100, pixels.ci95 * 100, embedding.accuracy * 100, embedding.ci95 * 100, pixels.episodes)
        }

        var json: [String: Any] {
            ["pixels": pixels.accuracy, "pixels_ci95": pixels.ci95, "embedding": embedding.accuracy,
             "embedding_ci95": embedding.ci95, "episodes": pixels.episodes]
        }
    }

    static func run(_ c: StepConfig, checkpoint url: URL, backend: BackendKind, memoryLimit: MemoryLimit, episodes: Int,
                    batches: (Int) throws -> [String: FeedValue]) throws -> Result {
        func score(_ space: NearestNeighbour.Space) throws -> EvalResult {
            let graph = try NearestNeighbour.evalStep(c, space: space)
            var store = try ParameterStore(specs: graph.parameters, seed: 0, memoryLimit: memoryLimit)
            if !graph.parameters.isEmpty { _ = try store.load(from: url) }
            let step = try ProgramFactory.make(graph.graph, backend: backend, memoryLimit: memoryLimit)
            return try Evaluator.evaluate(step: step, signature: graph.signature, store: store, episodes: episodes, batches: batches)
        }
        return Result(pixels: try score(.pixels), embedding: try score(.embedding))
    }
}
