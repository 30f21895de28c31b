import MetaIR

// Composite ops built only from primitives, so their gradients come from the primitives' VJPs.

/// `x * x`.
public func square(_ x: Tensor) throws -> Tensor { try x * x }

/// Logistic sigmoid, written as `0.5·tanh(x/2) + 0.5` so it never overflows.
public func sigmoid(_ x: Tensor) throws -> Tensor { try tanh(x * 0.5) * 0.5 + 0.5 }

/// Log-softmax along `axis`, shifted by the (gradient-stopped) maximum for stability.
public func logSoftmax(_ x: Tensor, axis: Int = -1) throws -> Tensor {
    let m = try x.max(axes: [axis], keepDims: true).stopGradient()
    let z = try x - m
    return try z - log(exp(z).sum(axes: [axis], keepDims: true))
}

/// Softmax along `axis`.
public func softmax(_ x: Tensor, axis: Int = -1) throws -> Tensor {
    let m = try x.max(axes: [axis], keepDims: true).stopGradient()
    let e = try exp(x - m)
    return try e / e.sum(axes: [axis], keepDims: true)
}

/// Mean softmax cross-entropy of `logits` `[B, C]` against `i32` class `labels` `[B]`.
public func crossEntropy(logits: Tensor, labels: Tensor) throws -> Tensor {
    let classes = logits.shape[logits.rank - 1]
    let target = try labels.oneHot(depth: classes).cast(to: logits.dtype)
    let perExample = try (target * logSoftmax(logits)).sum(axes: [-1])
    return try -perExample.mean()
}

/// Mean squared error.
public func meanSquaredError(_ prediction: Tensor, _ target: Tensor) throws -> Tensor {
    try square(prediction - target).mean()
}

/// Fraction of rows of `logits` whose argmax equals the `i32` label.
public func accuracy(logits: Tensor, labels: Tensor) throws -> Tensor {
    try logits.argmax(axis: -1).compare(.eq, labels).cast(to: .f32).mean()
}

/// Batch normalisation in training mode over axes `[0, 2, 3]` of an NCHW tensor, using the
/// batch statistics of the task at hand (as in the MAML paper); `gamma`, `beta` are `[C]`.
public func batchNorm(_ x: Tensor, gamma: Tensor, beta: Tensor, epsilon: Double = 1e-5) throws -> Tensor {
    let c = x.shape[1]
    let mu = try x.mean(axes: [0, 2, 3], keepDims: true)
    let centered = try x - mu
    let variance = try square(centered).mean(axes: [0, 2, 3], keepDims: true)
    let xhat = try centered / sqrt(variance + epsilon)
    return try xhat * gamma.reshaped([1, c, 1, 1]) + beta.reshaped([1, c, 1, 1])
}

/// 2×2 max-pooling with stride 2 (floor: a trailing odd row/column is dropped), as
/// slice + reshape + `reduce_max`.
public func maxPool2x2(_ x: Tensor) throws -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (ho, wo) = (h / 2, w / 2)
    let cropped = try x.slice(start: [0, 0, 0, 0], end: [n, c, ho * 2, wo * 2])
    return try cropped.reshaped([n, c, ho, 2, wo, 2]).max(axes: [3, 5])
}

/// `x·w + b` for `x` `[..., in]`, `w` `[in, out]`, `b` `[out]`.
public func linear(_ x: Tensor, _ w: Tensor, _ b: Tensor?) throws -> Tensor {
    var y: Tensor
    if x.rank == 2 {
        y = try x.matmul(w)
    } else {
        let lead = Array(x.shape.dims.dropLast())
        let flat = try x.reshaped([lead.reduce(1, *), x.shape[x.rank - 1]])
        y = try flat.matmul(w).reshaped(Shape(lead + [w.shape[1]]))
    }
    if let b { y = try y + b }
    return y
}

/// One LSTM step. `wx` `[in, 4H]`, `wh` `[R, 4H]`, `b` `[4H]`, `c` `[B, H]`; gate order i, f,
/// g, o. The recurrent input `h` `[B, R]` is usually the previous hidden state (`R = H`);
/// Matching Networks' attention LSTM feeds `[h, r]` (`R = 2H`).
public func lstmCell(x: Tensor, h: Tensor, c: Tensor, wx: Tensor, wh: Tensor, b: Tensor) throws -> (h: Tensor, c: Tensor) {
    let batch = x.shape[0], hidden = wh.shape[1] / 4
    let gates = try x.matmul(wx) + h.matmul(wh) + b
    func gate(_ k: Int) throws -> Tensor {
        try gates.slice(start: [0, k * hidden], end: [batch, (k + 1) * hidden])
    }
    let i = try sigmoid(gate(0)), f = try sigmoid(gate(1)), g = try tanh(gate(2)), o = try sigmoid(gate(3))
    let cNext = try f * c + i * g
    return (try o * tanh(cNext), cNext)
}

/// Scaled dot-product attention over `[B, T, D]` queries, keys and values; with `causal`,
/// position `t` attends only to positions `<= t`.
public func attention(query q: Tensor, key k: Tensor, value v: Tensor, causal: Bool) throws -> Tensor {
    let (b, t, d) = (q.shape[0], q.shape[1], q.shape[2])
    let tk = k.shape[1]
    var scores = try q.matmul(k.transposed()) * (1.0 / Double(d).squareRoot())
    if causal {
        let builder = q.builder
        let rows = try builder.apply(.iota(axis: 1), [], declared: TensorType(.i32, [b, t, tk]))
        let cols = try builder.apply(.iota(axis: 2), [], declared: TensorType(.i32, [b, t, tk]))
        let allowed = try rows.compare(.ge, cols)
        scores = try select(allowed, scores, scores.scalar(-1e9))
    }
    return try softmax(scores, axis: -1).matmul(v)
}
