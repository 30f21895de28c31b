import EpisodeData
import Foundation
import Interpreter
import MetaLearning
import Runtime
import Testing

/// Each algorithm, meta-trained briefly on the meta-train alphabets with the JIT-compiled
/// step, classifies episodes of the held-out alphabets clearly better than chance (20%).
@Suite("Omniglot meta-training reaches above-chance held-out accuracy (JIT)", .enabled(if: RT.hasOmniglot, RT.noOmniglot))
struct OmniglotLearningTests {
    /// Meta-iterations and Adam learning rate (fixed seeds; 5–25 ms an iteration).
    static let iterations = 300, outerLR = 3e-3

    static let heldOutEpisodes = 100

    /// Accuracy on `heldOutEpisodes` fixed episodes of the meta-test alphabets, scored by the
    /// `Evaluator` with the training step itself (its `task_accuracy` is the post-adaptation
    /// query accuracy; running it without `applyUpdates` leaves the parameters unchanged).
    static func heldOut(_ s: CompiledStep, _ store: ParameterStore) throws -> EvalResult {
        let sampler = try EpisodeSampler(dataset: RT.testData(), config: OmniglotFixture.episodes, seed: 4242)
        return try Evaluator.evaluate(step: s.program, store: store, episodes: heldOutEpisodes) { i in
            RT.feeds(try sampler.metaBatch(at: i))
        }
    }

    @Test("held-out 5-way 1-shot accuracy ≥ 0.30 after a short meta-training run", arguments: Algorithm.episodic)
    func learns(_ algorithm: Algorithm) throws {
        let (iterations, lr) = (Self.iterations, Self.outerLR)
        try #require(OmniglotFixture.steps[algorithm]).use { s in
            let dir = try RT.tempDir("learn-\(algorithm.rawValue)")
            defer { RT.remove(dir) }
            let initial = ParameterStore(specs: s.step.parameters, seed: 7)
            let before = try Self.heldOut(s, initial)
            let sampler = try EpisodeSampler(dataset: RT.trainData(), config: OmniglotFixture.episodes, seed: 11)
            let trainer = try Trainer(step: s.program, store: initial,
                                      options: RT.options(iterations: iterations, dir: dir, checkpointEvery: iterations,
                                                          lr: lr, tasks: OmniglotFixture.metaBatch),
                                      metadata: ["algorithm": algorithm.rawValue], resume: false)
            let trainSeconds = try RT.run(trainer, sampler: sampler)
            let after = try Self.heldOut(s, trainer.store)
            RT.note(String(format: "%@: %d iterations (lr %g) in %.1f s; held-out accuracy %.3f → %.3f ± %.3f (%d episodes)",
                           algorithm.rawValue, iterations, lr, trainSeconds, before.accuracy, after.accuracy, after.ci95, after.episodes))
            #expect(after.episodes == Self.heldOutEpisodes)
            #expect(after.accuracy >= 0.30, "\(algorithm.rawValue): held-out \(after)")
            // Random features already beat chance (ProtoNet's nearest prototype, or a head
            // adapted on them), so also require that meta-training itself helped.
            #expect(after.accuracy >= before.accuracy + 0.08, "\(algorithm.rawValue): \(before.accuracy) → \(after.accuracy)")
        }
    }
}
