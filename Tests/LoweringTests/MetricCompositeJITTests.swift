import Autodiff
import GraphDSL
import Interpreter
import MetaIR
import Runtime
import Testing

/// The metric learners' composites compiled at -O0 and -O3 agree with the interpreter: the
/// value, its gradient and a Hessian-vector product (second order).
@Suite struct MetricCompositeJITTests {
    static let cases: [PrimitiveCase] = [
        PrimitiveCase("sigmoid", [[3, 4]]) { _, x in try sigmoid(x[0]) },
        PrimitiveCase("l2Normalize", [[3, 4]]) { _, x in try l2Normalize(x[0], axis: 1) },
        PrimitiveCase("cosineSimilarity", [[3, 4], [5, 4]]) { _, x in try cosineSimilarity(x[0], x[1]) },
        PrimitiveCase("clipByGlobalNorm", [[2, 3], [4]]) { _, x in
            let (c, norm) = try clipByGlobalNorm([x[0], x[1]], maxNorm: 0.5)
            return try concat([c[0].reshaped([6]), c[1], norm.reshaped([1])], axis: 0)
        },
        PrimitiveCase("lstmCell [h, r]", [[2, 3], [2, 4], [2, 2], [3, 8], [4, 8], [8]]) { _, x in
            let (h, c) = try lstmCell(x: x[0], h: x[1], c: x[2], wx: x[3], wh: x[4], b: x[5])
            return try concat([h, c], axis: 1)
        },
    ]

    /// y = f(x); outputs y, ∇ Σ y², and the gradient of ⟨∇ Σ y², u⟩ (a Hessian-vector product).
    static func secondOrderGraph(_ c: PrimitiveCase) throws -> Graph {
        let b = GraphBuilder(name: "second-order-\(c.name)")
        let xs = try c.inputs.map { try b.input($0.0, $0.1.shape, dtype: $0.1.dtype) }
        let y = try c.f(b, xs)
        let grads = try Autodiff.grad(of: (y * y).sum(), wrt: xs)
        var s = b.constant(0, .scalar)
        for (k, g) in grads.enumerated() { s = try s + (g * b.input("u\(k)", g.shape)).sum() }
        let hv = try Autodiff.grad(of: s, wrt: xs)
        b.output("y", y)
        for (k, g) in grads.enumerated() { b.output("g\(k)", g) }
        for (k, h) in hv.enumerated() { b.output("h\(k)", h) }
        return try b.finish()
    }

    @Test(arguments: cases)
    func compositeAgreesWithInterpreter(_ c: PrimitiveCase) throws {
        try expectAgreement(try c.graph(), tolerance: 2e-5)
        try expectAgreement(try Self.secondOrderGraph(c), tolerance: 1e-4)
    }
}
