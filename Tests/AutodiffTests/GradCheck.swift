import Autodiff
import GraphDSL
import Interpreter
import MetaIR
import Testing

/// Where a random input is drawn from.
enum Domain: Sendable {
    case normal
    case positive      // uniform 0.5...2
    case awayFromZero  // |x| in 0.3...2
    case labels(Int)   // i32 in 0..<n
}

/// An operand of a checked op.
struct Operand: Sendable {
    var shape: Shape
    var domain: Domain = .normal
    var dtype: DType { if case .labels = domain { return .i32 }; return .f32 }
}

/// Random values for a spec.
func draw(_ o: Operand, _ rng: inout SeededRandom) -> HostTensor {
    let n = o.shape.count
    var d = [Double](repeating: 0, count: n)
    for i in 0..<n {
        switch o.domain {
        case .normal: d[i] = rng.normal()
        case .positive: d[i] = rng.uniform(in: 0.5...2)
        case .awayFromZero: d[i] = rng.uniform(in: 0.3...2) * (rng.uniform() < 0.5 ? -1 : 1)
        case .labels(let k): d[i] = Double(rng.int(below: k))
        }
    }
    return HostTensor(TensorType(o.dtype, o.shape), d)
}

/// Checks first- and second-order reverse-mode derivatives of `f` against central finite
/// differences in Float64, along random directions.
///
/// L(x) = Σ r ⊙ f(x) ⊙ f(x) (the square makes second order exercise the VJPs of the VJP ops),
/// first order: ⟨∇L, d⟩ vs (L(x+εd) − L(x−εd)) / 2ε;
/// second order: S(x) = ⟨∇L(x), u⟩, ⟨∇S, d⟩ vs (S(x+εd) − S(x−εd)) / 2ε.
func gradCheck(_ operands: [Operand], tolerance: Double = 1e-6, seed: UInt64 = 1,
               sourceLocation: Testing.SourceLocation = #_sourceLocation,
               _ f: ([Tensor]) throws -> Tensor) throws {
    let b = GraphBuilder(name: "check")
    let xs = try operands.enumerated().map { try b.input("x\($0.offset)", $0.element.shape, dtype: $0.element.dtype) }
    let y = try f(xs).cast(to: .f32)
    let r = try b.input("r", y.shape)
    let loss = try (r * y * y).sum()
    let diff = xs.filter { $0.dtype.isFloat }
    let grads = try Autodiff.grad(of: loss, wrt: diff)
    let us = try diff.enumerated().map { try b.input("u\($0.offset)", $0.element.shape) }
    var s = b.constant(0, .scalar)
    for (g, u) in zip(grads, us) { s = try s + (g * u).sum() }
    let hu = try Autodiff.grad(of: s, wrt: diff)
    b.output("loss", loss)
    b.output("s", s)
    for (k, g) in grads.enumerated() { b.output("g\(k)", g) }
    for (k, h) in hu.enumerated() { b.output("h\(k)", h) }
    let graph = try b.finish()

    var rng = SeededRandom(seed: seed)
    var feeds: [String: HostTensor] = [:]
    for (k, o) in operands.enumerated() { feeds["x\(k)"] = draw(o, &rng) }
    feeds["r"] = rng.tensor(TensorType(.f64, y.shape))
    for (k, x) in diff.enumerated() { feeds["u\(k)"] = rng.tensor(TensorType(.f64, x.shape)) }
    let floatIndices = operands.indices.filter { operands[$0].dtype.isFloat }
    let directions = floatIndices.map { rng.tensor(TensorType(.f64, operands[$0].shape)) }

    let interp = Interpreter(precision: .float64)
    let base = try interp.run(graph, feeds: feeds)
    func shifted(_ eps: Double) throws -> [String: HostTensor] {
        var f = feeds
        for (k, i) in floatIndices.enumerated() {
            let x = feeds["x\(i)"]!
            f["x\(i)"] = HostTensor(x.type, zip(x.data, directions[k].data).map { $0 + eps * $1 })
        }
        return try interp.run(graph, feeds: f)
    }
    let eps = 1e-5
    let plus = try shifted(eps), minus = try shifted(-eps)
    func dot(_ a: HostTensor?, _ b: HostTensor) -> Double { zip(a?.data ?? [], b.data).reduce(0) { $0 + $1.0 * $1.1 } }
    let analytic1 = directions.indices.reduce(0.0) { $0 + dot(base["g\($1)"], directions[$1]) }
    let numeric1 = ((plus["loss"]?.scalar ?? .nan) - (minus["loss"]?.scalar ?? .nan)) / (2 * eps)
    let analytic2 = directions.indices.reduce(0.0) { $0 + dot(base["h\($1)"], directions[$1]) }
    let numeric2 = ((plus["s"]?.scalar ?? .nan) - (minus["s"]?.scalar ?? .nan)) / (2 * eps)
    let scale1 = max(1, abs(numeric1)), scale2 = max(1, abs(numeric2))
    #expect(abs(analytic1 - numeric1) <= tolerance * scale1,
            "first order: analytic \(analytic1) vs numeric \(numeric1)", sourceLocation: sourceLocation)
    #expect(abs(analytic2 - numeric2) <= tolerance * scale2,
            "second order: analytic \(analytic2) vs numeric \(numeric2)", sourceLocation: sourceLocation)
}
