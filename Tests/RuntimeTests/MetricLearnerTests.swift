import Autodiff
import EpisodeData
import Foundation
import GraphDSL
import Graphs
import Interpreter
import MetaIR
import MetaLearning
import Runtime
import Testing

/// Relation Networks' shapes, K-shot summation and in-step clipping, pinned on tiny graphs.
@Suite struct RelationNetworkShapeTests {
    /// 28×28 → 64×5×5 maps (padding 0 in blocks 1–2, 1 in 3–4), relation module 2·64 → … → 1.
    @Test func mapsAndRelationModuleHaveThePapersShapes() throws {
        let net = RelationNetwork(imageSize: 28, width: 64)
        #expect(net.mapSize == 5 && net.relationSize == 1 && net.embeddingSize == 64 * 25)
        let specs = Dictionary(uniqueKeysWithValues: net.parameterSpecs.map { ($0.name, $0.type.shape.dims) })
        #expect(specs["enc1.w"] == [64, 1, 3, 3] && specs["rel1.w"] == [64, 128, 3, 3])
        #expect(specs["fc1.w"] == [64, 8] && specs["fc2.w"] == [8, 1])

        let small = RelationNetwork(imageSize: 28, width: 4)
        let b = GraphBuilder(name: "shapes")
        let p = try Parameters(declaring: small.parameterSpecs, in: b)
        let sx = try b.input("sx", [3 * 2, 1, 28, 28]), qx = try b.input("qx", [7, 1, 28, 28])
        let maps = try small.featureMaps(sx, p)
        #expect(maps.shape.dims == [6, 4, 5, 5])
        let scores = try small.episodeScores(supportX: sx, queryX: qx, ways: 3, shots: 2, p)
        #expect(scores.shape.dims == [7, 3])
        let pairs = try b.input("pairs", [5, 8, 5, 5])
        #expect(try small.relation(pairs, p).shape.dims == [5, 1])
    }

    /// The class map of a K-shot class is the sum of its K support maps (support class-major),
    /// and the scores are what the relation module gives that sum.
    @Test func kShotSupportMapsAreSummedPerClass() throws {
        let net = RelationNetwork(imageSize: 28, width: 2)
        let (ways, shots) = (2, 3)
        let b = GraphBuilder(name: "k-shot")
        let p = try Parameters(declaring: net.parameterSpecs, in: b)
        let maps = try b.input("maps", [ways * shots, 2, 5, 5]), queries = try b.input("q", [4, 2, 5, 5])
        b.output("class_maps", try net.classMaps(maps, ways: ways, shots: shots))
        b.output("scores", try net.scores(classMaps: net.classMaps(maps, ways: ways, shots: shots), queryMaps: queries, p))
        let g = try b.finish()
        var feeds = RandomFeeds.make(for: g, seed: 9)
        for (n, v) in ParameterStore(specs: net.parameterSpecs, seed: 9).values { feeds[n] = v }
        let out = try Interpreter(precision: .float64).run(g, feeds: feeds)
        let m = try #require(feeds["maps"]).data, per = 2 * 5 * 5
        var expected = [Double](repeating: 0, count: ways * per)
        for c in 0..<ways { for k in 0..<shots { for i in 0..<per { expected[c * per + i] += m[(c * shots + k) * per + i] } } }
        let got = try #require(out["class_maps"])
        #expect(got.shape.dims == [ways, 2, 5, 5])
        #expect(zip(got.data, expected).allSatisfy { abs($0 - $1) < 1e-12 })
        let scores = try #require(out["scores"])
        #expect(scores.shape.dims == [4, ways])
        #expect(scores.data.allSatisfy { $0 > 0 && $0 < 1 })
    }

    /// The compiled Relation Network step (SGD, lr 1) writes `θ − s·g` with g the raw gradient
    /// of the loss and s = min(1, 0.5 / (‖g_group‖ + 1e-6)) per group (embedding, relation
    /// module): the clip is inside the step.
    @Test func clippingInsideTheStepMatchesAHandComputation() throws {
        let c = StepConfig(algorithm: .relationnet, ways: 2, shots: 1, queries: 2, metaBatch: 1, innerSteps: 0,
                           innerLR: 0, optimizer: .sgd, imageSize: 28, width: 3)
        let train = try StepBuilder.trainStep(c)
        let eval = try StepBuilder.evalStep(c)
        let gradients = try Autodiff.gradientGraph(eval.graph, of: "loss")
        var feeds = RandomFeeds.make(for: eval.graph, seed: 4)
        let store = ParameterStore(specs: train.parameters, seed: 4)
        for (n, v) in store.values { feeds[n] = v }
        // A large input scale makes the raw gradients large enough that the clip bites.
        feeds["support_x"] = feeds["support_x"].map { HostTensor($0.type, $0.data.map { $0 * 30 }) }
        feeds["query_x"] = feeds["query_x"].map { HostTensor($0.type, $0.data.map { $0 * 30 }) }
        feeds["lr"] = HostTensor(TensorType(.f32, .scalar), [1])
        let raw = try Interpreter(precision: .float64).run(gradients, feeds: feeds)
        let stepped = try Interpreter(precision: .float64).run(train.graph, feeds: feeds)
        let net = MetricSteps.relationNetwork(c)
        let names = net.parameterSpecs.map(\.name)
        var clippedGroups = 0
        for group in [names.filter { net.encoderParameterNames.contains($0) }, names.filter { !net.encoderParameterNames.contains($0) }] {
            let norm = (group.reduce(0.0) { total, n in total + (raw["grad.\(n)"]?.data ?? []).reduce(0) { $0 + $1 * $1 } } + 1e-12).squareRoot()
            let scale = min(1, 0.5 / (norm + 1e-6))
            if scale < 1 { clippedGroups += 1 }
            for n in group {
                let theta = try #require(feeds[n]).data, g = try #require(raw["grad.\(n)"]).data
                let got = try #require(stepped["update.\(n)"]).data
                let worst = zip(got, zip(theta, g).map { $0 - scale * $1 }).map { abs($0 - $1) }.max() ?? 0
                #expect(worst < 1e-9, "\(n): |update − (θ − \(scale)·g)| = \(worst) (group norm \(norm))")
            }
        }
        #expect(clippedGroups >= 1, "the test inputs should make the clip active")
    }

    /// The recipes exist with the papers' training queries, and their steps build.
    @Test func metricRecipesBuild() throws {
        let expected: [(String, Algorithm, Int, Int)] = [
            ("relationnet-omniglot-5w1s", .relationnet, 5, 19), ("relationnet-omniglot-20w1s", .relationnet, 20, 10),
            ("matchingnet-omniglot-5w1s", .matchingnet, 5, 15), ("baseline-omniglot-5w1s", .baseline, 8, 1),
            ("baselinepp-omniglot-5w1s", .baselinepp, 8, 1)]
        for (name, algorithm, trainWays, trainQueries) in expected {
            let r = try #require(Recipes.named(name), "no recipe \(name)")
            #expect(r.step.algorithm == algorithm && r.trainWays == trainWays && r.trainQueries == trainQueries, "\(name)")
            var small = r.trainStep
            small.width = 4
            let train = algorithm.isEpisodic ? try StepBuilder.trainStep(small)
                : try BaselineStep.trainStep(small, classes: 50, batch: 16)
            #expect(train.signature.learningRate == "lr" && !train.signature.updates.isEmpty, "\(name)")
            var eval = r.step
            eval.width = 4
            eval.innerSteps = min(eval.innerSteps, 2)
            #expect(try StepBuilder.evalStep(eval).signature.taskAccuracy == "task_accuracy", "\(name)")
        }
        #expect(Recipes.named("relationnet-omniglot-5w1s")?.halveEvery == 100_000)
        var mlp = try #require(Recipes.named("relationnet-omniglot-5w1s")).step
        mlp.backbone = .mlp(hidden: [8])
        #expect(throws: StepConfigError.self) { _ = try StepBuilder.trainStep(mlp) }
    }
}
