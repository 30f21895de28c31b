import EpisodeData
import Foundation
import Interpreter
import MetaIR
import MetaLearning
import Runtime
import Testing

/// The learned-rule training steps (`mamlpp`, `lrain`, `metalstm`) compiled: JIT against the
/// interpreter away from the initialisation, and checkpoints that carry the rules.
@Suite("Learned inner-loop rules: compiled steps and checkpoints")
struct LearnedRuleStepTests {
    /// The generic agreement test starts from the rules' initial values, where LRAIN's first
    /// layer and the meta-LSTM's first LSTM layer get no gradient (their outputs meet zero
    /// weights); here every rule parameter is random, so each path carries a gradient.
    @Test("JIT and interpreter agree on a two-inner-step training step with random rule parameters",
          arguments: [Algorithm.mamlpp, .lrain, .metalstm])
    func jitMatchesInterpreter(_ a: Algorithm) throws {
        let c = StepConfig(algorithm: a, ways: 3, shots: 1, queries: 2, metaBatch: 2, innerSteps: 2, innerLR: 0.3,
                           optimizer: .adam, imageSize: 8, width: 4, strided: true, backbone: .mlp(hidden: [12]))
        let step = try StepBuilder.trainStep(c)
        var feeds = RandomFeeds.make(for: step.graph, seed: 3)
        for (n, v) in ParameterStore(specs: step.parameters, seed: 3).values { feeds[n] = v }
        var rng = SeededRandom(seed: 17)
        for spec in step.parameters where spec.name.hasPrefix("\(a.rawValue).") {
            // Rates stay positive and near their start; network weights are drawn around 0.
            let isRate = spec.name.contains(".lr.") || spec.name.contains(".alpha.") || spec.name.contains(".beta.")
            let values = (0..<spec.type.shape.count).map { _ in isRate ? 0.3 * (1 + 0.5 * rng.normal()) : 0.5 * rng.normal() }
            feeds[spec.name] = HostTensor(spec.type, values)
        }
        for (n, v) in feeds where n.hasPrefix("support_y") || n.hasPrefix("query_y") {
            feeds[n] = HostTensor(v.type, v.data.map { Double(Int(abs($0) * 7) % 3) })
        }
        feeds["lr"] = HostTensor(TensorType(.f32, .scalar), [1e-3])
        let jit = try RT.compile(step.graph).run(feeds)
        let interp = try InterpretedProgram(graph: step.graph).run(feeds)
        let rule = step.parameters.map(\.name).filter { $0.hasPrefix("\(a.rawValue).") }
        var checked = 0
        let names = ["loss"] + (["layer1.w", "head.b"] + rule).map({ "update.adam.m.\($0)" })
        for name in names {
            let x = try #require(jit[name], "\(name)"), y = try #require(interp[name], "\(name)")
            #expect(RT.maxRelativeDifference(x, y) < 2e-3, "\(a.rawValue) \(name)")
            checked += 1
        }
        // The meta-gradient reaches every rule parameter.
        for n in rule {
            let g = try #require(interp["update.adam.m.\(n)"])
            #expect(g.data.contains { $0 != 0 }, "\(a.rawValue): no meta-gradient for \(n)")
        }
        RT.note("\(a.rawValue): JIT vs interpreter on \(checked) outputs with random rule parameters")
    }

    /// LRAIN's checkpoint holds its network and per-step multipliers; training resumed from it
    /// ends where an uninterrupted run does; evaluating with more inner steps than were
    /// trained fails with a checkpoint error naming the missing step.
    @Test("checkpoints carry the rule, resume continues it, extra inner steps are refused",
          .enabled(if: RT.hasOmniglot, RT.noOmniglot))
    func checkpointAndResume() throws {
        try #require(OmniglotFixture.steps[.lrain]).use { s in
            let sampler = try EpisodeSampler(dataset: RT.trainData(), config: OmniglotFixture.episodes, seed: 8)
            func run(_ dir: URL, iterations: Int, resume: Bool) throws -> Trainer {
                let trainer = try Trainer(step: s.program, store: ParameterStore(specs: s.step.parameters, seed: 4),
                                          options: RT.options(iterations: iterations, dir: dir, checkpointEvery: 2, lr: 3e-3,
                                                              tasks: OmniglotFixture.metaBatch),
                                          metadata: ["format": "metajit-checkpoint-1"], resume: resume)
                _ = try RT.run(trainer, sampler: sampler)
                return trainer
            }
            let straightDir = try RT.tempDir("lrain-straight"), resumedDir = try RT.tempDir("lrain-resumed")
            defer { RT.remove(straightDir); RT.remove(resumedDir) }
            let straight = try run(straightDir, iterations: 4, resume: false)
            _ = try run(resumedDir, iterations: 2, resume: false)
            let resumed = try run(resumedDir, iterations: 4, resume: true)
            #expect(resumed.store == straight.store)

            let url = straightDir.appendingPathComponent(Trainer.checkpointName)
            var eval = StepConfig(algorithm: .lrain, ways: 5, shots: 1, queries: 5, metaBatch: 1, innerSteps: 1, innerLR: 0.4,
                                  imageSize: 28, width: 8, strided: true)
            var store = ParameterStore(specs: try StepBuilder.evalStep(eval).parameters, seed: 0)
            _ = try store.load(from: url)
            let initial = ParameterStore(specs: s.step.parameters, seed: 4)
            for name in ["lrain.w2", "lrain.b2", "lrain.alpha.0", "lrain.beta.0"] {
                let saved = try #require(store.values[name]), start = try #require(initial.values[name])
                #expect(saved == straight.store.values[name], "\(name) is not the trained value")
                #expect(saved != start, "\(name) was not meta-learned")
            }
            eval.innerSteps = 2
            var longer = ParameterStore(specs: try StepBuilder.evalStep(eval).parameters, seed: 0)
            #expect(throws: CheckpointError.self) { _ = try longer.load(from: url) }
        }
    }
}
