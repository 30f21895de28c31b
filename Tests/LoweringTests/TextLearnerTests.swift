import EpisodeData
import Foundation
import Interpreter
import MetaIR
import MetaLearning
import Runtime
import Testing

/// The LSTM text learners compiled: JIT against the interpreter, and MAML learning on WordNet.
@Suite struct TextLearnerTests {
    static func feeds(_ c: TextStepConfig, seed: UInt64) -> [String: HostTensor] {
        var rng = SeededRandom(seed: seed)
        var f: [String: HostTensor] = [:]
        for spec in TextSteps.learnedSpecs(c) {
            let t = rng.tensor(TensorType(.f32, spec.type.shape), scale: 0.5)
            f[spec.name] = spec.name.hasPrefix("lr.") ? HostTensor(t.type, t.data.map { 0.2 + 0.05 * $0 }) : t
        }
        func tokens(_ rows: Int) -> (HostTensor, HostTensor) {
            var ids: [Double] = [], mask: [Double] = []
            for _ in 0..<(c.metaBatch * rows) {
                let len = 1 + rng.int(below: c.length)
                for t in 0..<c.length {
                    ids.append(t < len ? Double(rng.int(below: c.vocabulary)) : -1)
                    mask.append(t < len ? 1 : 0)
                }
            }
            let shape = Shape([c.metaBatch, rows, c.length])
            return (HostTensor(TensorType(.i32, shape), ids), HostTensor(TensorType(.f32, shape), mask))
        }
        (f[TextSteps.support], f[TextSteps.supportMask]) = tokens(c.ways * c.shots)
        (f[TextSteps.query], f[TextSteps.queryMask]) = tokens(c.ways * c.queries)
        let nq = c.ways * c.queries
        f[TextSteps.queryLabels] = HostTensor(TensorType(.i32, [c.metaBatch, nq]), (0..<(c.metaBatch * nq)).map { Double(($0 % nq) / c.queries) })
        return f
    }

    /// Loss, accuracy and every meta-gradient of each learner agree between the compiled code
    /// and the interpreter (the spec) on random inputs, meta-batch 2, two inner steps.
    @Test(arguments: [TextLearner.protonet, .maml, .metasgd])
    func jitMatchesInterpreter(_ learner: TextLearner) throws {
        let c = TextStepConfig(learner: learner, ways: 2, shots: 2, queries: 1, length: 3, vocabulary: 7, embedding: 3, hidden: 4,
                               metaBatch: 2, innerSteps: 2, innerLR: 0.3)
        let graph = try TextSteps.lossGraph(c)
        let feeds = Self.feeds(c, seed: 21)
        let reference = try Interpreter().run(graph, feeds: feeds)
        let compiled = try CompiledProgram(graph: graph).run(feeds)
        for (name, r) in reference {
            let got = try #require(compiled[name])
            let scale = max(1, r.data.map(abs).max() ?? 0)
            let worst = zip(r.data, got.data).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-4 * scale, "\(learner) \(name): max difference \(worst)")
        }
        // The eval and train steps build and their signatures validate.
        _ = try TextSteps.evalStep(c)
        #expect(try TextSteps.trainStep(c).signature.updates.count == TextSteps.learnedSpecs(c).count * 3 + 2)
    }

    /// Second-order MAML through the LSTM learns WordNet glosses: held-out 5-way 5-shot
    /// accuracy after 200 one-episode meta-iterations is clearly above chance (20%) and above its start.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/share/wordnet/data.noun")))
    func mamlLearnsHeldOutCategories() throws {
        let corpus = try TextCorpus.load(.wordnet)
        var c = TextStepConfig(learner: .maml, ways: 5, shots: 5, queries: 5, length: 6, vocabulary: corpus.tokenizer.vocabularySize,
                               embedding: 16, hidden: 16, metaBatch: 1, innerSteps: 2, innerLR: 2)
        let episode = TextEpisodeConfig(ways: 5, shots: 5, queries: 5, length: 6)
        let train = try TextEpisodeSampler(classes: corpus.train, tokenizer: corpus.tokenizer, config: episode, seed: 1)
        let test = try TextEpisodeSampler(classes: corpus.test, tokenizer: corpus.tokenizer, config: episode, seed: 2)
        let step = try TextSteps.trainStep(c)
        let program = try CompiledProgram(graph: step.graph)
        c.metaBatch = 5
        let evalGraph = try TextSteps.evalStep(c)
        let evalProgram = try CompiledProgram(graph: evalGraph.graph)
        func feeds(_ b: TextBatch) -> [String: FeedValue] {
            [TextSteps.support: .i32(b.support, b.supportShape), TextSteps.supportMask: .f32(b.supportMask, b.supportShape),
             TextSteps.query: .i32(b.query, b.queryShape), TextSteps.queryMask: .f32(b.queryMask, b.queryShape),
             TextSteps.queryLabels: .i32(b.queryLabels, b.labelShape)]
        }
        func evaluate(_ store: ParameterStore) throws -> Double {
            var subset = ParameterStore(specs: evalGraph.parameters, seed: 0)
            for s in evalGraph.parameters { try subset.set(s.name, try #require(store.values[s.name])) }
            return try Evaluator.evaluate(step: evalProgram, signature: evalGraph.signature, store: subset, episodes: 60) {
                feeds(test.batch(at: $0, batchSize: 5))
            }.accuracy
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("maml-lstm-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = ParameterStore(specs: step.parameters, seed: 5)
        let before = try evaluate(store)
        let trainer = try Trainer(step: program, signature: step.signature, store: store,
                                  options: TrainerOptions(iterations: 200, outputDirectory: dir, checkpointEvery: 1000, evaluateEvery: 0,
                                                          learningRate: { _ in 3e-3 }, tasksPerBatch: 1, progress: false),
                                  metadata: [:], resume: false)
        try trainer.run(batch: { feeds(train.batch(at: $0, batchSize: 1)) }, evaluate: nil)
        let after = try evaluate(trainer.store)
        print("maml-lstm wordnet 5w5s held-out accuracy: before \(before), after \(after)")
        #expect(after > 0.26, "chance is 0.2")
        #expect(after > before + 0.04)
    }
}
