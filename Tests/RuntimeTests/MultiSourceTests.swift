import EpisodeData
import Foundation
import Glyphs
import Interpreter
import MetaIR
import MetaLearning
import Runtime
import Testing

/// The masked, padded multi-source steps: they compute what the unpadded episode computes,
/// on both back ends, and a short run through shape buckets learns.
@Suite struct MultiSourceTests {
    static func config(_ learner: MultiSourceLearner, hidden: [Int] = [32, 16]) -> StepConfig {
        StepConfig(algorithm: learner == .protonet ? .protonet : .fomaml, ways: 5, shots: 2, queries: 3, metaBatch: 1,
                   innerSteps: learner == .protonet ? 0 : 2, innerLR: 0.1, optimizer: .adam, imageSize: 28,
                   backbone: .mlp(hidden: hidden))
    }

    /// A 5-way 2-shot 3-query episode of random images, class-major, as a variable episode.
    struct Episode {
        var sx: [Float], sy: [Int32], qx: [Float], qy: [Int32]
        init(seed: UInt64) {
            var rng = Xoshiro256(seed: seed)
            sx = (0..<(10 * 784)).map { _ in Float(rng.nextUnit()) }
            qx = (0..<(15 * 784)).map { _ in Float(rng.nextUnit()) }
            sy = (0..<10).map { Int32($0 / 2) }
            qy = (0..<15).map { Int32($0 / 3) }
        }

        /// The inputs padded to `bucket`.
        func feeds(_ k: ShapeBucket) -> [String: HostTensor] {
            func pad(_ v: [Float], to n: Int) -> [Double] { v.map { Double($0) } + Array(repeating: 0, count: n - v.count) }
            func padI(_ v: [Int32], to n: Int) -> [Double] { v.map { Double($0) } + Array(repeating: 0, count: n - v.count) }
            func mask(_ real: Int, _ n: Int) -> [Double] { (0..<n).map { $0 < real ? 1 : 0 } }
            return ["support_x": HostTensor(TensorType(.f32, [1, k.support, 1, 28, 28]), pad(sx, to: k.support * 784)),
                    "support_y": HostTensor(TensorType(.i32, [1, k.support]), padI(sy, to: k.support)),
                    "query_x": HostTensor(TensorType(.f32, [1, k.query, 1, 28, 28]), pad(qx, to: k.query * 784)),
                    "query_y": HostTensor(TensorType(.i32, [1, k.query]), padI(qy, to: k.query)),
                    MultiSourceStep.supportMask: HostTensor(TensorType(.f32, [1, k.support]), mask(10, k.support)),
                    MultiSourceStep.queryMask: HostTensor(TensorType(.f32, [1, k.query]), mask(15, k.query)),
                    MultiSourceStep.classMask: HostTensor(TensorType(.f32, [1, k.ways]), mask(5, k.ways))]
        }
    }

    static let exact = ShapeBucket(ways: 5, support: 10, query: 15)
    static let padded = ShapeBucket(ways: 12, support: 24, query: 40)

    @Test("masked ProtoNet on a padded episode equals ProtoNet on the unpadded one (interpreter and JIT)")
    func maskedProtoNetEqualsUnpadded() throws {
        let c = Self.config(.protonet)
        let plain = try StepBuilder.evalStep(c)
        let masked = try MultiSourceStep.evalStep(c, learner: .protonet, bucket: Self.padded)
        let e = Episode(seed: 1)
        var feeds = e.feeds(Self.padded)
        let store = ParameterStore(specs: plain.parameters, seed: 9)
        for (n, v) in store.values { feeds[n] = v }
        var plainFeeds = e.feeds(Self.exact)
        plainFeeds = plainFeeds.filter { ["support_x", "support_y", "query_x", "query_y"].contains($0.key) }
        for (n, v) in store.values { plainFeeds[n] = v }
        let reference = try InterpretedProgram(graph: plain.graph).run(plainFeeds)
        let interp = try InterpretedProgram(graph: masked.graph).run(feeds)
        let jit = try RT.compile(masked.graph).run(feeds)
        for name in ["loss", "accuracy"] {
            let r = try #require(reference[name])
            #expect(RT.maxRelativeDifference(r, try #require(interp[name])) < 1e-5, "interp \(name)")
            #expect(RT.maxRelativeDifference(r, try #require(jit[name])) < 1e-3, "jit \(name)")
        }
    }

    @Test("padding changes neither loss nor meta-gradient step of ProtoNet and Proto-MAML", arguments: MultiSourceLearner.allCases)
    func paddingIsInvisibleToTraining(_ learner: MultiSourceLearner) throws {
        let c = Self.config(learner)
        let tight = try MultiSourceStep.trainStep(c, learner: learner, bucket: Self.exact)
        let loose = try MultiSourceStep.trainStep(c, learner: learner, bucket: Self.padded)
        let e = Episode(seed: 2)
        let store = ParameterStore(specs: tight.parameters, seed: 4)
        func run(_ g: StepGraph, _ k: ShapeBucket, jit: Bool) throws -> [String: HostTensor] {
            var feeds = e.feeds(k)
            for (n, v) in store.values { feeds[n] = v }
            feeds["lr"] = HostTensor(TensorType(.f32, .scalar), [1e-3])
            return jit ? try RT.compile(g.graph).run(feeds) : try InterpretedProgram(graph: g.graph).run(feeds)
        }
        let a = try run(tight, Self.exact, jit: false), b = try run(loose, Self.padded, jit: false)
        let j = try run(loose, Self.padded, jit: true)
        for name in ["loss", "accuracy", "update.layer1.w", "update.adam.m.layer1.w", "update.adam.m.layer2.b"] {
            let x = try #require(a[name])
            #expect(RT.maxRelativeDifference(x, try #require(b[name])) < 1e-4, "interp \(learner) \(name)")
        }
        // Adam's first step is ±lr wherever a gradient is tiny, so the JIT is compared on the
        // loss and the gradient moments rather than on the updated weights.
        for name in ["loss", "accuracy", "update.adam.m.layer1.w", "update.adam.m.layer2.b"] {
            let d = RT.maxRelativeDifference(try #require(a[name]), try #require(j[name]))
            #expect(d < 5e-3, "jit \(learner) \(name): \(d)")
        }
    }

    @Test("multi-source steps refuse Conv-4 (batch statistics would see the padding)")
    func refusesConv4() {
        var c = Self.config(.protonet)
        c.backbone = .conv4
        #expect(throws: StepConfigError.self) { try MultiSourceStep.trainStep(c, learner: .protonet, bucket: Self.exact) }
    }

    @Test("ProtoNet through two shape buckets learns held-out glyphs above chance",
          .enabled(if: GlyphDataset.isInstalled(), "fonts-noto-core is not installed"))
    func bucketedTrainingBeatsChance() throws {
        let buckets = [ShapeBucket(ways: 50, support: 100, query: 100), ShapeBucket(ways: 50, support: 500, query: 500)]
        let c = Self.config(.protonet, hidden: [64, 32])
        let train = try MetaDatasetSampler(sources: [EpisodeSourceData(name: "glyphs", dataset: GlyphDataset(
            characterIndices: GlyphDataset.characterIndices(test: false)))], seed: 1)
        let test = try MetaDatasetSampler(sources: [EpisodeSourceData(name: "glyphs", dataset: GlyphDataset(
            characterIndices: GlyphDataset.characterIndices(test: true)))], seed: 2)
        func feeds(_ s: MetaDatasetSampler, _ i: Int) throws -> [String: FeedValue] {
            let e = try s.episode(at: i)
            let k = buckets.first { e.support.count <= $0.support && e.query.count <= $0.query } ?? buckets[1]
            let p = try PaddedEpisode(e, dataset: s.sources[0].dataset, maxWays: k.ways, maxSupport: k.support, maxQuery: k.query)
            return ["support_x": .f32(p.supportX, [1, k.support, 1, 28, 28]), "support_y": .i32(p.supportY, [1, k.support]),
                    "query_x": .f32(p.queryX, [1, k.query, 1, 28, 28]), "query_y": .i32(p.queryY, [1, k.query]),
                    MultiSourceStep.supportMask: .f32(p.supportMask, [1, k.support]),
                    MultiSourceStep.queryMask: .f32(p.queryMask, [1, k.query]), MultiSourceStep.classMask: .f32(p.classMask, [1, k.ways])]
        }
        let trainGraphs = try buckets.map { try MultiSourceStep.trainStep(c, learner: .protonet, bucket: $0) }
        let evalGraphs = try buckets.map { try MultiSourceStep.evalStep(c, learner: .protonet, bucket: $0) }
        let step = try BucketedProgram(trainGraphs.map { try RT.compile($0.graph) })
        let eval = try BucketedProgram(evalGraphs.map { try RT.compile($0.graph) })
        let chance = try (0..<100).map { 1 / Double(try test.episode(at: $0).ways) }.reduce(0, +) / 100
        let before = try Evaluator.evaluate(step: eval, signature: evalGraphs[0].signature,
                                            store: ParameterStore(specs: evalGraphs[0].parameters, seed: 3), episodes: 100) { try feeds(test, $0) }
        let dir = try RT.tempDir("multisource")
        defer { RT.remove(dir) }
        let trainer = try Trainer(step: step, signature: trainGraphs[0].signature, store: ParameterStore(specs: trainGraphs[0].parameters, seed: 3),
                                  options: RT.options(iterations: 150, dir: dir, checkpointEvery: 150, lr: 1e-3, tasks: 1),
                                  metadata: [:], resume: false)
        try trainer.run(batch: { try feeds(train, $0) }, evaluate: nil)
        var learned = ParameterStore(specs: evalGraphs[0].parameters, seed: 0)
        for s in evalGraphs[0].parameters { try learned.set(s.name, try #require(trainer.store.values[s.name])) }
        let after = try Evaluator.evaluate(step: eval, signature: evalGraphs[0].signature, store: learned, episodes: 100) { try feeds(test, $0) }
        RT.note(String(format: "multisource protonet on glyphs: chance %.3f, held-out %.3f → %.3f", chance, before.accuracy, after.accuracy))
        #expect(after.accuracy > chance + 0.2, "held-out \(after), chance \(chance)")
        #expect(after.accuracy > before.accuracy, "\(before.accuracy) → \(after.accuracy)")
    }
}
