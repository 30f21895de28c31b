import Autodiff
import GraphDSL
import Graphs
import Interpreter
import MetaIR
import MetaLearning
import Testing

/// Evaluates a built graph in Float64 with parameters and inputs drawn from a seed.
struct Evaluator {
    var graph: Graph
    var feeds: [String: HostTensor]

    init(_ built: BuiltGraph, seed: UInt64, paramScale: Double = 0.5) {
        graph = built.graph
        feeds = RandomFeeds.make(for: built.graph, seed: seed)
        var rng = SeededRandom(seed: seed &+ 99)
        for p in built.graph.parameters {
            feeds[p.name] = rng.tensor(TensorType(.f64, built.graph.nodes[p.node].type.shape), scale: paramScale)
        }
    }

    func run(_ overrides: [String: HostTensor] = [:]) throws -> [String: HostTensor] {
        try Interpreter(precision: .float64).run(graph, feeds: feeds.merging(overrides) { $1 })
    }

    /// ⟨grad, d⟩ from the graph's `grad.*` outputs vs the central difference of `loss` along d.
    func directionalCheck(seed: UInt64, eps: Double = 1e-5) throws -> (analytic: Double, numeric: Double) {
        var rng = SeededRandom(seed: seed)
        let base = try run()
        var plus: [String: HostTensor] = [:], minus: [String: HostTensor] = [:]
        var analytic = 0.0
        for p in graph.parameters {
            let v = feeds[p.name]!
            let d = rng.tensor(TensorType(.f64, v.shape))
            plus[p.name] = HostTensor(v.type, zip(v.data, d.data).map { $0 + eps * $1 })
            minus[p.name] = HostTensor(v.type, zip(v.data, d.data).map { $0 - eps * $1 })
            let g = try #require(base["grad.\(p.name)"])
            analytic += zip(g.data, d.data).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let numeric = (try #require(try run(plus)["loss"]).scalar - (try #require(try run(minus)["loss"]).scalar)) / (2 * eps)
        return (analytic, numeric)
    }
}

@Suite struct MAMLGradientTests {
    @Test(arguments: [1, 3])
    func sinusoidMetaGradientMatchesFiniteDifferences(steps: Int) throws {
        let built = try GraphCatalog.named("maml-sinusoid").build(
            GraphConfig(["tasks": 2, "shots": 5, "queries": 5, "hidden": 8, "steps": Double(steps), "inner_lr": 0.1]))
        let (a, n) = try Evaluator(built, seed: 11).directionalCheck(seed: 5)
        #expect(abs(a - n) <= 1e-6 * max(1, abs(n)), "analytic \(a) numeric \(n)")
    }

    @Test func firstOrderDropsTheHessianTerm() throws {
        let config: [String: Double] = ["tasks": 1, "shots": 5, "queries": 5, "hidden": 8, "steps": 1, "inner_lr": 0.1]
        let exact = Evaluator(try GraphCatalog.named("maml-sinusoid").build(GraphConfig(config)), seed: 3)
        var foConfig = config
        foConfig["first_order"] = 1
        let first = Evaluator(try GraphCatalog.named("maml-sinusoid").build(GraphConfig(foConfig)), seed: 3)
        let e = try exact.run(), f = try first.run()
        #expect(e["loss"] == f["loss"])  // same forward computation

        // The FOMAML gradient is the query-loss gradient at the adapted parameters θ'.
        let model = SinusoidMLP(hidden: 8)
        let b = GraphBuilder(name: "adapted")
        let p = try Parameters(declaring: model.parameterSpecs, in: b)
        let sx = try b.input("sx", [5, 1]), sy = try b.input("sy", [5, 1])
        let adapted = try MAML.adapt(model: model, params: p, supportX: sx, supportY: sy, loss: meanSquaredError,
                                     inner: InnerLoop(steps: 1, learningRate: 0.1))
        for n in adapted.names { b.output("theta.\(n)", try adapted.tensor(n)) }
        let adaptGraph = try b.finish()
        var feeds = exact.feeds
        feeds["sx"] = HostTensor(TensorType(.f64, [5, 1]), exact.feeds["support_x"]!.data)
        feeds["sy"] = HostTensor(TensorType(.f64, [5, 1]), exact.feeds["support_y"]!.data)
        let thetaPrime = try Interpreter(precision: .float64).run(adaptGraph, feeds: feeds)

        let qb = GraphBuilder(name: "query")
        let qp = try Parameters(declaring: model.parameterSpecs, in: qb)
        let qx = try qb.input("qx", [5, 1]), qy = try qb.input("qy", [5, 1])
        let ql = try meanSquaredError(model(qx, qp), qy)
        for (n, g) in zip(qp.names, try Autodiff.grad(of: ql, wrt: qp.all)) { qb.output("grad.\(n)", g) }
        var qfeeds: [String: HostTensor] = [
            "qx": HostTensor(TensorType(.f64, [5, 1]), exact.feeds["query_x"]!.data),
            "qy": HostTensor(TensorType(.f64, [5, 1]), exact.feeds["query_y"]!.data)]
        for n in qp.names { qfeeds[n] = thetaPrime["theta.\(n)"] }
        let atAdapted = try Interpreter(precision: .float64).run(try qb.finish(), feeds: qfeeds)

        var differs = false
        for n in model.parameterSpecs.map(\.name) {
            let fo = try #require(f["grad.\(n)"]).data, ex = try #require(e["grad.\(n)"]).data
            let ref = try #require(atAdapted["grad.\(n)"]).data
            #expect(zip(fo, ref).allSatisfy { abs($0 - $1) < 1e-12 * max(1, abs($1)) }, "\(n)")
            if zip(fo, ex).contains(where: { abs($0 - $1) > 1e-4 * max(1, abs($1)) }) { differs = true }
        }
        #expect(differs, "first-order and exact meta-gradients should differ")
    }

    @Test(arguments: [false, true])
    func conv4MetaGradientMatchesFiniteDifferences(strided: Bool) throws {
        let built = try GraphCatalog.named("maml-conv4").build(GraphConfig([
            "ways": 2, "shots": 1, "queries": 2, "tasks": 1, "steps": 1, "inner_lr": 0.1, "width": 3,
            "image": strided ? 8 : 16, "strided": strided ? 1 : 0]))
        let (a, n) = try Evaluator(built, seed: 21).directionalCheck(seed: 8)
        #expect(abs(a - n) <= 1e-5 * max(1, abs(n)), "analytic \(a) numeric \(n)")
    }

    @Test func hessianVectorProductMatchesFiniteDifferenceOfGradients() throws {
        let b = GraphBuilder(name: "hvp")
        let w = try b.parameter("w", [3, 4])
        let x = try b.input("x", [5, 3]), v = try b.input("v", [3, 4])
        let loss = try tanh(x.matmul(w)).sum() + square(w).sum() * 0.1
        b.output("g", try Autodiff.grad(of: loss, wrt: [w])[0])
        b.output("hv", try Autodiff.hessianVectorProduct(of: loss, wrt: w, vector: v))
        let g = try b.finish()
        var rng = SeededRandom(seed: 4)
        let feeds = ["w": rng.tensor(TensorType(.f64, [3, 4])), "x": rng.tensor(TensorType(.f64, [5, 3])),
                     "v": rng.tensor(TensorType(.f64, [3, 4]))]
        let interp = Interpreter(precision: .float64)
        let eps = 1e-5
        func grad(at shift: Double) throws -> [Double] {
            var f = feeds
            f["w"] = HostTensor(feeds["w"]!.type, zip(feeds["w"]!.data, feeds["v"]!.data).map { $0 + shift * $1 })
            return try #require(try interp.run(g, feeds: f)["g"]).data
        }
        let fd = zip(try grad(at: eps), try grad(at: -eps)).map { ($0 - $1) / (2 * eps) }
        let hv = try #require(try interp.run(g, feeds: feeds)["hv"]).data
        #expect(zip(hv, fd).allSatisfy { abs($0 - $1) < 1e-7 * max(1, abs($1)) })
    }
}
