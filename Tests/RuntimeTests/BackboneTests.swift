import EpisodeData
import Foundation
import Interpreter
import MetaIR
import MetaLearning
import Runtime
import Testing

/// Learners name their network: the same algorithms on a fully connected backbone.
@Suite struct BackboneTests {
    static func config(_ a: Algorithm, _ backbone: Backbone) -> StepConfig {
        StepConfig(algorithm: a, ways: 5, shots: 1, queries: 5, metaBatch: 2, innerSteps: a == .protonet ? 0 : 1,
                   innerLR: 0.4, optimizer: .adam, imageSize: 28, width: 8, strided: true, backbone: backbone)
    }

    @Test func specsParseAndPrint() {
        #expect(Backbone(spec: "conv4") == .conv4)
        #expect(Backbone(spec: "mlp:64,32") == .mlp(hidden: [64, 32]))
        #expect(Backbone(spec: "mlp") == .mlp(hidden: [256, 128, 64, 64]))
        #expect(Backbone(spec: "mlp:64,-1") == nil)
        #expect(Backbone(spec: "resnet") == nil)
        #expect(Backbone.mlp(hidden: [64, 32]).description == "mlp:64,32")
    }

    @Test func recordsWithoutABackboneAreConv4() throws {
        var json = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(Self.config(.maml, .mlp(hidden: [8]))))
            as? [String: Any] ?? [:]
        json["backbone"] = nil
        let old = try JSONDecoder().decode(StepConfig.self, from: try JSONSerialization.data(withJSONObject: json))
        #expect(old.backbone == .conv4)
        let round = try JSONDecoder().decode(StepConfig.self, from: try JSONEncoder().encode(Self.config(.maml, .mlp(hidden: [8]))))
        #expect(round.backbone == .mlp(hidden: [8]))
    }

    // Relation Networks compare feature maps and the baselines train Conv-4: they refuse the MLP.
    @Test("every algorithm builds on the MLP", arguments: Algorithm.episodic.filter { $0 != .relationnet })
    func everyAlgorithmBuildsOnTheMLP(_ a: Algorithm) throws {
        let step = try StepBuilder.trainStep(Self.config(a, .mlp(hidden: [32, 16])))
        let names = Set(step.graph.parameters.map(\.name))
        #expect(names.contains("layer1.w") && names.contains("layer2.b"))
        #expect(!names.contains { $0.hasPrefix("conv") })
        #expect(names.contains("head.w") == a.usesInnerLoop)
        #expect(step.signature.updates.contains { $0.parameter == "layer1.w" })
        #expect(step.signature.learningRate == "lr")
    }

    /// The compiled MLP step agrees with the interpreter on one training step.
    @Test func mlpStepJITMatchesInterpreter() throws {
        let step = try StepBuilder.trainStep(Self.config(.maml, .mlp(hidden: [32, 16])))
        // Random episode inputs; parameters and Adam state from their initialisers (random
        // second moments would be negative).
        var feeds = RandomFeeds.make(for: step.graph, seed: 3)
        for (n, v) in ParameterStore(specs: step.parameters, seed: 3).values { feeds[n] = v }
        feeds["lr"] = HostTensor(TensorType(.f32, .scalar), [1e-3])
        let jit = try RT.compile(step.graph).run(feeds)
        let interp = try InterpretedProgram(graph: step.graph).run(feeds)
        for name in ["loss", "update.layer1.w", "update.head.b"] {
            let a = try #require(jit[name]), b = try #require(interp[name])
            #expect(RT.maxRelativeDifference(a, b) < 2e-3, "\(name)")
        }
    }

    /// MAML on a small MLP learns held-out Omniglot alphabets far above chance.
    @Test(.enabled(if: RT.hasOmniglot, RT.noOmniglot))
    func mamlOnTheMLPLearns() throws {
        let c = Self.config(.maml, .mlp(hidden: [64, 64]))
        let step = try StepBuilder.trainStep(c)
        let program = try RT.compile(step.graph)
        let episodes = EpisodeConfig(ways: 5, shots: 1, queries: 5, metaBatchSize: 2)
        func heldOut(_ store: ParameterStore) throws -> EvalResult {
            let sampler = try EpisodeSampler(dataset: RT.testData(), config: episodes, seed: 4242)
            return try Evaluator.evaluate(step: program, store: store, episodes: 100) { RT.feeds(try sampler.metaBatch(at: $0)) }
        }
        let initial = ParameterStore(specs: step.parameters, seed: 5)
        let before = try heldOut(initial)
        let dir = try RT.tempDir("mlp-maml")
        defer { RT.remove(dir) }
        let trainer = try Trainer(step: program, signature: step.signature, store: initial,
                                  options: RT.options(iterations: 300, dir: dir, checkpointEvery: 300, lr: 3e-3, tasks: 2),
                                  metadata: [:], resume: false)
        let sampler = try EpisodeSampler(dataset: RT.trainData(), config: episodes, seed: 11)
        try trainer.run(batch: { RT.feeds(try sampler.metaBatch(at: $0)) }, evaluate: nil)
        let after = try heldOut(trainer.store)
        RT.note(String(format: "maml on mlp:64,64: held-out %.3f → %.3f", before.accuracy, after.accuracy))
        #expect(after.accuracy >= 0.35, "held-out \(after)")
        #expect(after.accuracy >= before.accuracy + 0.08, "\(before.accuracy) → \(after.accuracy)")
    }
}
