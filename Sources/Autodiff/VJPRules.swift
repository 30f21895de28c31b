import GraphDSL
import MetaIR

/// Vector–Jacobian products: one rule per primitive, in one exhaustive switch.
///
/// A rule maps the cotangent `g` of a node's result to cotangents of its operands (`nil` where
/// an operand is not differentiable or gets nothing). Rules only build graph with DSL ops: no
/// data, no mutation. So the gradient graph is itself differentiable, which is what exact
/// MAML needs. Accumulation over several users and un-broadcasting live in `ReverseMode`
/// (un-broadcasting is the `broadcast` rule; binary ops take equal shapes).
enum VJPRules {
    /// Cotangents of `node`'s operands.
    /// - Parameters:
    ///   - x: operand handles; `y`: the node's own value; `g`: cotangent of `y`.
    static func vjp(_ node: Node, x: [Tensor], y: Tensor, g: Tensor) throws -> [Tensor?] {
        let b = y.builder
        switch node.op {
        case .input, .parameter, .constant, .iota:
            return []
        case .unary(let u):
            switch u {
            case .neg: return [try -g]
            case .exp: return [try g * y]
            case .log: return [try g / x[0]]
            case .sqrt: return [try g / (y * 2)]
            case .tanh: return [try g * (1 - y * y)]
            case .relu:
                // NOTE: subgradient 0 at x == 0 (the derivative from the left), as in PyTorch and JAX.
                // The mask reads the result (y > 0 exactly where x > 0): then x is dead once y
                // is computed, and fusion folds the producer of x (a batch norm) into the ReLU
                // instead of storing both.
                return [try select(y.compare(.gt, y.scalar(0)), g, g.scalar(0))]
            }
        case .binary(let op):
            let (lhs, rhs) = (x[0], x[1])
            switch op {
            case .add: return [g, g]
            case .sub: return [g, try -g]
            case .mul: return [try g * rhs, try g * lhs]
            case .div:
                let ga = try g / rhs
                return [ga, try -(ga * y)]
            case .max, .min:
                // NOTE: at ties the whole cotangent goes to the first operand.
                let first = try lhs.compare(op == .max ? .ge : .le, rhs)
                let zero = g.scalar(0)
                return [try select(first, g, zero), try select(first, zero, g)]
            }
        case .compare, .argmax, .oneHot:
            return node.inputs.map { _ in nil }
        case .select:
            let zero = g.scalar(0)
            return [nil, try select(x[0], g, zero), try select(x[0], zero, g)]
        case .reduce(let kind, let axes, let keepDims):
            let kept = keptShape(x[0].shape, axes)
            let gk = keepDims ? g : try g.reshaped(kept)
            switch kind {
            case .sum:
                return [try gk.broadcast(to: x[0].shape)]
            case .max:
                // NOTE: the cotangent is split equally among all elements equal to the maximum
                // (a convex combination, so a valid subgradient; with ties after ReLU in a
                // max-pool window each tied element gets an equal share).
                let yk = keepDims ? y : try y.reshaped(kept)
                let hit = try x[0].compare(.eq, yk.broadcast(to: x[0].shape)).cast(to: x[0].dtype)
                let count = try hit.sum(axes: axes, keepDims: true)
                return [try hit * (gk / count).broadcast(to: x[0].shape)]
            }
        case .matmul:
            return [try g.matmul(x[1].transposed()), try x[0].transposed().matmul(g)]
        case .conv2d(let s, let p):
            return [try b.apply(.conv2dInputGrad(stride: s, padding: p), [g, x[1]], declared: x[0].type),
                    try b.apply(.conv2dFilterGrad(stride: s, padding: p), [x[0], g], declared: x[1].type)]
        case .conv2dInputGrad(let s, let p):
            // y = Bᵢ(dy, w) is bilinear: ⟨Bᵢ(dy,w), g⟩ = ⟨dy, conv(g,w)⟩ = ⟨w, B_f(g,dy)⟩.
            return [try g.conv2d(x[1], stride: s, padding: p),
                    try b.apply(.conv2dFilterGrad(stride: s, padding: p), [g, x[0]], declared: x[1].type)]
        case .conv2dFilterGrad(let s, let p):
            // y = B_f(x, dy): ⟨B_f(x,dy), g⟩ = ⟨dy, conv(x,g)⟩ = ⟨x, Bᵢ(dy,g)⟩.
            return [try b.apply(.conv2dInputGrad(stride: s, padding: p), [x[1], g], declared: x[0].type),
                    try x[0].conv2d(g, stride: s, padding: p)]
        case .reshape:
            return [try g.reshaped(x[0].shape)]
        case .permute(let perm):
            var inverse = perm
            for (i, p) in perm.enumerated() { inverse[p] = i }
            return [try g.permuted(inverse)]
        case .broadcast:
            let expanded = (0..<x[0].rank).filter { x[0].shape[$0] != y.shape[$0] }
            return [try g.sum(axes: expanded, keepDims: true)]
        case .slice(let start, let end):
            return [try g.padded(low: start, high: zip(x[0].shape.dims, end).map { $0 - $1 })]
        case .pad(let low, _):
            return [try g.slice(start: low, end: zip(low, x[0].shape.dims).map { $0 + $1 })]
        case .concat(let axis):
            var offset = 0
            return try x.map { part in
                var start = [Int](repeating: 0, count: part.rank), end = g.shape.dims
                start[axis] = offset
                end[axis] = offset + part.shape[axis]
                offset += part.shape[axis]
                return try g.slice(start: start, end: end)
            }
        case .cast:
            return [x[0].dtype.isFloat && y.dtype.isFloat ? try g.cast(to: x[0].dtype) : nil]
        case .stopGradient:
            return [nil]
        case .randomUniform:
            // NOTE: a pure function of integer operands: no gradient flows to seed or counter.
            return [nil, nil]
        case .gather:
            // y = G(T, i) is linear in the table: ⟨G(T,i), g⟩ = ⟨T, S(g,i)⟩ with S = scatter-add.
            // Indices are integers: no gradient.
            return [try g.scatterAdd(indices: x[1], rows: x[0].shape[0]), nil]
        case .scatterAdd:
            // y = S(u, i) is linear in the updates: ⟨S(u,i), g⟩ = ⟨u, G(g,i)⟩, so second-order
            // gradients through an embedding close on these two ops.
            return [try g.gather(x[1]), nil]
        }
    }

    private static func keptShape(_ s: Shape, _ axes: [Int]) -> Shape {
        Shape(s.dims.enumerated().map { axes.contains($0.offset) ? 1 : $0.element })
    }
}
