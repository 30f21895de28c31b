import MetaIR

// Composites for metric learners (Relation and Matching Networks) and gradient clipping.
// Like those in Composites.swift they are built only from primitives (mul, add, div, sqrt,
// reduce_sum, matmul, min, ...), so each inherits its gradient, interpreter definition and
// lowering from primitives that have all three and their own tests; the composites are
// checked end to end (value, first and second order, JIT vs interpreter) in
// Tests/AutodiffTests/MetricCompositeTests.swift and Tests/LoweringTests/MetricCompositeJITTests.swift.

/// Euclidean norm along `axis`: `sqrt(Σ x² + epsilon)` (the epsilon keeps the derivative
/// finite at `x = 0`).
public func l2Norm(_ x: Tensor, axis: Int = -1, keepDims: Bool = true, epsilon: Double = 1e-8) throws -> Tensor {
    try sqrt((x * x).sum(axes: [axis], keepDims: keepDims) + epsilon)
}

/// `x / ‖x‖` along `axis`.
public func l2Normalize(_ x: Tensor, axis: Int = -1, epsilon: Double = 1e-8) throws -> Tensor {
    try x / l2Norm(x, axis: axis, keepDims: true, epsilon: epsilon)
}

/// Cosine similarities `[A, B]` between the rows of `a` `[A, D]` and of `b` `[B, D]`.
public func cosineSimilarity(_ a: Tensor, _ b: Tensor, epsilon: Double = 1e-8) throws -> Tensor {
    try l2Normalize(a, axis: 1, epsilon: epsilon).matmul(l2Normalize(b, axis: 1, epsilon: epsilon).transposed())
}

/// Prototypical Networks' logits `−‖q − c_k‖²` `[Q, N]` for query embeddings `queries`
/// `[Q, D]` and class prototypes `prototypes` `[N, D]`, as `−(‖q‖² − 2 q·c + ‖c‖²)` (one
/// matmul instead of a `[Q, N, D]` difference).
public func negativeSquaredDistances(_ queries: Tensor, _ prototypes: Tensor) throws -> Tensor {
    let n = prototypes.shape[0]
    let qq = try (queries * queries).sum(axes: [1], keepDims: true)                 // [Q, 1]
    let pp = try (prototypes * prototypes).sum(axes: [1]).reshaped([1, n])          // [1, N]
    return try -(qq - queries.matmul(prototypes.transposed()) * 2 + pp)
}

/// The global norm `sqrt(Σ_t Σ g_t² + epsilon)` of a list of tensors.
public func globalNorm(_ tensors: [Tensor], epsilon: Double = 1e-12) throws -> Tensor {
    guard let first = tensors.first else { throw DSLError(op: "globalNorm", operands: [], message: "needs at least one tensor", location: nil, scope: "") }
    var total = try (first * first).sum()
    for t in tensors.dropFirst() { total = try total + (t * t).sum() }
    return try sqrt(total + epsilon)
}

/// Clips a list of gradients by their global norm: each is multiplied by
/// `min(1, maxNorm / (‖g‖ + epsilon))`, as `torch.nn.utils.clip_grad_norm_` does.
/// Returns the clipped tensors and the norm before clipping.
public func clipByGlobalNorm(_ grads: [Tensor], maxNorm: Double, epsilon: Double = 1e-6) throws -> (clipped: [Tensor], norm: Tensor) {
    guard maxNorm > 0, maxNorm.isFinite else { throw DSLError(op: "clipByGlobalNorm", operands: [], message: "needs a finite maxNorm > 0, got \(maxNorm)", location: nil, scope: "") }
    let norm = try globalNorm(grads)
    let scale = try minimum((norm + epsilon).scalar(maxNorm) / (norm + epsilon), norm.scalar(1))
    return (try grads.map { try $0 * scale }, norm)
}
