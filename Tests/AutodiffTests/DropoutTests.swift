import Autodiff
import GraphDSL
import Interpreter
import MetaIR
import MetaLearning
import Testing

/// Dropout on the counter-based `random_uniform` op: one mask per call site, shared by the
/// forward pass and every order of gradient; the expected keep fraction; off at evaluation.
@Suite struct DropoutTests {
    static func count(_ kind: Op.Kind, in g: Graph) -> Int { g.nodes.filter { $0.op.kind == kind }.count }

    /// y = drop(x), L = ½·Σ y²: ∇L = m²·x and ∇²L·v = m²·v for the mask m (0 or 1/keep). The
    /// forward output gives m = y / x; the gradient and the Hessian-vector product must use
    /// that same m, and differentiation must add no second `random_uniform`.
    @Test func maskIsTheSameInForwardFirstAndSecondOrder() throws {
        let shape: Shape = [6, 7], keep = 0.6
        let b = GraphBuilder(name: "dropout-orders")
        let x = try b.input("x", shape)
        let v = try b.input("v", shape)
        let seed = try b.input("seed", .scalar, dtype: .i32)
        let y = try dropout(x, keep: keep, seed: seed, stream: 1)
        let loss = try (y * y).sum() * 0.5
        let g = try #require(try Autodiff.grad(of: loss, wrt: [x]).first)
        let hv = try Autodiff.hessianVectorProduct(of: loss, wrt: x, vector: v)
        b.output("y", y)
        b.output("g", g)
        b.output("hv", hv)
        let graph = try b.finish()
        #expect(Self.count(.randomUniform, in: graph) == 1)
        let n = shape.count
        let xs = (0..<n).map { 0.5 + Double($0) / Double(n) }, vs = (0..<n).map { Double($0 % 5) - 2 }
        let out = try Interpreter(precision: .float64).run(graph, feeds: [
            "x": HostTensor(shape: shape, xs), "v": HostTensor(shape: shape, vs),
            "seed": HostTensor(TensorType(.i32, .scalar), [12345])])
        let ys = try #require(out["y"]).data, gs = try #require(out["g"]).data, hvs = try #require(out["hv"]).data
        var zeros = 0
        for i in 0..<n {
            let m = ys[i] / xs[i]
            #expect(abs(m) < 1e-12 || abs(m - 1 / keep) < 1e-12, "mask \(m)")
            if m == 0 { zeros += 1 }
            #expect(abs(gs[i] - m * m * xs[i]) < 1e-9)
            #expect(abs(hvs[i] - m * m * vs[i]) < 1e-9)
        }
        #expect(zeros > 0 && zeros < n)
    }

    /// The share of kept elements is close to `keep`; seeds and streams give different masks;
    /// the same seed and stream give the same mask.
    @Test func keepFractionAndDistinctStreams() throws {
        func mask(seed: Int32, stream: Int, keep: Double) throws -> [Double] {
            let b = GraphBuilder(name: "mask")
            let x = try b.input("x", [200, 100])
            let s = try b.input("seed", .scalar, dtype: .i32)
            b.output("y", try dropout(x, keep: keep, seed: s, stream: stream))
            let out = try Interpreter().run(try b.finish(), feeds: [
                "x": HostTensor(TensorType(.f32, [200, 100]), repeating: 1), "seed": HostTensor(TensorType(.i32, .scalar), [Double(seed)])])
            return try #require(out["y"]).data
        }
        for keep in [0.5, 0.75] {
            let m = try mask(seed: 3, stream: 1, keep: keep)
            let kept = Double(m.filter { $0 != 0 }.count) / Double(m.count)
            #expect(abs(kept - keep) < 0.015, "keep \(keep): kept \(kept)")
            #expect(m.allSatisfy { $0 == 0 || abs($0 - 1 / keep) < 1e-6 })
        }
        let a = try mask(seed: 3, stream: 1, keep: 0.5)
        #expect(try mask(seed: 3, stream: 1, keep: 0.5) == a)
        #expect(try mask(seed: 4, stream: 1, keep: 0.5) != a)
        #expect(try mask(seed: 3, stream: 2, keep: 0.5) != a)
        #expect(try mask(seed: -7, stream: 1, keep: 1) == [Double](repeating: 1, count: 20_000))  // keep 1: identity
    }

    @Test func badArgumentsAreErrors() throws {
        let b = GraphBuilder(name: "bad")
        let x = try b.input("x", [3])
        let s = try b.input("s", .scalar, dtype: .i32)
        #expect(throws: DSLError.self) { try dropout(x, keep: 0, seed: s, stream: 0) }
        #expect(throws: DSLError.self) { try dropout(x, keep: 1.5, seed: s, stream: 0) }
        #expect(throws: DSLError.self) { try dropout(x, keep: 0.5, seed: x, stream: 0) }
    }

    /// The MNIST-seed network: a training step takes a `dropout_seed` input and draws one
    /// mask per dropout call (two per network call: the inner steps, then the query pass, per
    /// task), never re-drawn by the second-order gradient; the evaluation step has none, so
    /// dropout is the identity there.
    @Test func mnistSeedTrainingDropsAndEvaluationDoesNot() throws {
        let c = StepConfig(algorithm: .maml, ways: 2, shots: 1, queries: 1, metaBatch: 2, innerSteps: 2, innerLR: 0.01,
                           optimizer: .sgd, imageSize: 8, backbone: .mnistSeed(hidden: 4))
        let train = try StepBuilder.trainStep(c)
        #expect(train.signature.inputs.contains(MNISTSeedNet.seedInputName))
        let calls = c.metaBatch * (c.innerSteps + 1)
        #expect(Self.count(.randomUniform, in: train.graph) == 2 * calls)
        let eval = try StepBuilder.evalStep(c)
        #expect(!eval.signature.inputs.contains(MNISTSeedNet.seedInputName))
        #expect(Self.count(.randomUniform, in: eval.graph) == 0)
        #expect(MNISTSeedNet(imageSize: 28, ways: 5).flatSize == 9216)
        #expect(Backbone(spec: "mnist-seed") == .mnistSeed(hidden: 128))
        #expect(Backbone(spec: "mnist-seed:16")?.description == "mnist-seed:16")
        #expect(Backbone(spec: "mnist-seed:0") == nil)
    }
}
