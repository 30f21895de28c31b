import EpisodeData
import Foundation
import Interpreter
import MetaIR
import MetaLearning
import Runtime
import Testing

/// Short end-to-end runs of the learners `OmniglotLearningTests` does not cover: Matching
/// Networks with full context embeddings (without them it is one of that suite's cases, as
/// is Relation Networks), and Baseline / Baseline++, which train non-episodically.
@Suite("Metric learners and baselines learn on Omniglot (JIT)", .enabled(if: RT.hasOmniglot, RT.noOmniglot))
struct MetricLearningTests {
    static let iterations = 300, outerLR = 3e-3, heldOutEpisodes = 100

    static func heldOut(_ program: CompiledProgram, _ step: StepGraph, _ store: ParameterStore) throws -> EvalResult {
        let sampler = try EpisodeSampler(dataset: RT.testData(), config: OmniglotFixture.episodes, seed: 4242)
        var subset = ParameterStore(specs: step.parameters, seed: 0)
        let names = Set(step.parameters.map(\.name))
        for (n, v) in store.values where names.contains(n) { try subset.set(n, v) }
        return try Evaluator.evaluate(step: program, signature: step.signature, store: subset, episodes: heldOutEpisodes) { i in
            RT.feeds(try sampler.metaBatch(at: i))
        }
    }

    /// Trains `train` for `iterations` on batches from `feeds`, returns the trained store.
    static func train(_ train: StepGraph, _ tag: String, tasks: Int, episodes: EpisodeConfig,
                      feeds: @escaping (MetaBatch) -> [String: FeedValue]) throws -> (ParameterStore, Double) {
        let dir = try RT.tempDir(tag)
        defer { RT.remove(dir) }
        let program = try RT.compile(train.graph)
        let sampler = try EpisodeSampler(dataset: RT.trainData(), config: episodes, seed: 11)
        let trainer = try Trainer(step: program, signature: train.signature, store: ParameterStore(specs: train.parameters, seed: 7),
                                  options: RT.options(iterations: iterations, dir: dir, checkpointEvery: iterations, lr: outerLR, tasks: tasks),
                                  metadata: ["algorithm": tag], resume: false)
        let seconds = try RT.run(trainer, sampler: sampler, feeds: feeds)
        return (trainer.store, seconds)
    }

    @Test("Matching Networks with full context embeddings: held-out 5-way 1-shot accuracy rises above 0.30")
    func matchingNetworkWithFCELearns() throws {
        var c = OmniglotFixture.config(.matchingnet)
        c.fce = true
        let step = try StepBuilder.trainStep(c)
        #expect(step.parameters.contains { $0.name == "fce.att.wh" && $0.type.shape.dims == [64, 128] })
        let program = try RT.compile(step.graph)
        let before = try Self.heldOut(program, step, ParameterStore(specs: step.parameters, seed: 7))
        let (store, seconds) = try Self.train(step, "matchingnet-fce", tasks: c.metaBatch, episodes: OmniglotFixture.episodes) { RT.feeds($0) }
        let after = try Self.heldOut(program, step, store)
        RT.note(String(format: "matchingnet --fce: %d iterations in %.1f s; held-out %.3f → %.3f ± %.3f", Self.iterations, seconds,
                       before.accuracy, after.accuracy, after.ci95))
        #expect(after.accuracy >= 0.30 && after.accuracy >= before.accuracy + 0.08, "\(before.accuracy) → \(after.accuracy)")
    }

    @Test("Baseline and Baseline++: a classifier over the training classes, a head fitted per held-out episode",
          arguments: [Algorithm.baseline, .baselinepp])
    func baselineLearns(_ a: Algorithm) throws {
        let data = try RT.trainData()
        let c = StepConfig(algorithm: a, ways: 5, shots: 1, queries: 5, metaBatch: 2, innerSteps: 20, innerLR: 0.2,
                           optimizer: .adam, imageSize: 28, width: 16, strided: false)
        let batches = EpisodeConfig(ways: 8, shots: 1, queries: 1, metaBatchSize: 1)
        let train = try BaselineStep.trainStep(c, classes: data.numClasses, batch: 16)
        #expect(train.signature.inputs == [BaselineStep.imagesName, BaselineStep.labelsName, "lr"])
        let eval = try StepBuilder.evalStep(c)
        #expect(!eval.parameters.contains { $0.name.hasPrefix("cls.") })
        let program = try RT.compile(eval.graph)
        let before = try Self.heldOut(program, eval, ParameterStore(specs: train.parameters, seed: 7))
        let (store, seconds) = try Self.train(train, a.rawValue, tasks: 1, episodes: batches) { b in
            let items = b.episodes.flatMap { $0.support + $0.query }
            return [BaselineStep.imagesName: .f32(b.supportX + b.queryX, [items.count] + b.imageShape.dims),
                    BaselineStep.labelsName: .i32(items.map { Int32($0.classIndex) }, [items.count])]
        }
        let after = try Self.heldOut(program, eval, store)
        RT.note(String(format: "%@: %d iterations over %d classes in %.1f s; held-out %.3f → %.3f ± %.3f", a.rawValue,
                       Self.iterations, data.numClasses, seconds, before.accuracy, after.accuracy, after.ci95))
        #expect(after.accuracy >= 0.30 && after.accuracy >= before.accuracy + 0.05, "\(a.rawValue): \(before.accuracy) → \(after.accuracy)")
    }
}
