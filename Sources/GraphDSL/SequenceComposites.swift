import MetaIR

// Sequence ops for MANN (Santoro et al. 2016) and SNAIL (Mishra et al. 2018), written as
// composites of existing primitives (pad, slice, concat, matmul, iota, compare, select,
// argmax, one_hot, stop_gradient), so each inherits its shape rule, VJP, interpreter case and
// lowering from primitives that have all four and their own tests. The composites themselves
// are checked end to end in Tests/AutodiffTests/SequenceCompositeTests.swift (values by hand,
// first and second order against finite differences, causality) and
// Tests/LoweringTests/SequenceCompositeJITTests.swift (-O0 and -O3 against the interpreter).
//
// Sequences are `[B, T, C]`: batch, time, features.

/// `x` delayed by `steps` along `axis`: `y[t] = x[t − steps]`, zeros for `t < steps`
/// (a left zero-pad followed by a slice back to the original length).
public func shiftedForward(_ x: Tensor, by steps: Int, axis: Int = 1) throws -> Tensor {
    let a = axis < 0 ? axis + x.rank : axis
    guard steps >= 0, a >= 0, a < x.rank else {
        throw DSLError(op: "shiftedForward", operands: [x.type], message: "needs steps >= 0 and an axis of the operand, got \(steps), \(axis)",
                       location: nil, scope: x.builder.scopePath)
    }
    if steps == 0 { return x }
    let n = x.shape[a]
    if steps >= n { return x.builder.constant(0, x.shape, dtype: x.dtype) }
    var low = [Int](repeating: 0, count: x.rank), high = low
    low[a] = steps
    let padded = try x.padded(low: low, high: high)
    var end = padded.shape.dims
    end[a] = n
    return try padded.slice(start: [Int](repeating: 0, count: x.rank), end: end)
}

/// Causal dilated 1-D convolution with kernel 2 over `[B, T, C]`:
/// `y[t] = x[t − dilation]·W₀ + x[t]·W₁ + b` (zeros before the start), with `w` `[2C, F]`
/// stacking W₀ over W₁ and `b` `[F]`. Output `[B, T, F]`; `y[t]` reads no step after `t`.
public func causalConv1d(_ x: Tensor, weight w: Tensor, bias b: Tensor, dilation: Int) throws -> Tensor {
    guard x.rank == 3, w.rank == 2, w.shape[0] == 2 * x.shape[2], dilation >= 1 else {
        throw DSLError(op: "causalConv1d", operands: [x.type, w.type],
                       message: "needs x [B, T, C], weight [2C, F] and dilation >= 1, got dilation \(dilation)",
                       location: nil, scope: x.builder.scopePath)
    }
    let taps = try concat([shiftedForward(x, by: dilation), x], axis: 2)     // [B, T, 2C]
    return try linear(taps, w, b)
}

/// SNAIL's dense block: `concat(x, tanh(conv_f(x)) ⊙ σ(conv_g(x)))` along features, both
/// convolutions causal with kernel 2 and the given dilation. `[B, T, C] → [B, T, C + F]`.
public func denseBlock(_ x: Tensor, filter wf: Tensor, filterBias bf: Tensor, gate wg: Tensor, gateBias bg: Tensor,
                       dilation: Int) throws -> Tensor {
    let f = try tanh(causalConv1d(x, weight: wf, bias: bf, dilation: dilation))
    let g = try sigmoid(causalConv1d(x, weight: wg, bias: bg, dilation: dilation))
    return try concat([x, f * g], axis: 2)
}

/// The weights of one ``denseBlock(_:filter:filterBias:gate:gateBias:dilation:)``: filter and
/// gate convolutions, each `[2C, F]` with bias `[F]`.
public struct DenseBlockWeights {
    /// Filter convolution `[2C, F]` (its output goes through `tanh`).
    public var filter: Tensor
    /// Filter bias `[F]`.
    public var filterBias: Tensor
    /// Gate convolution `[2C, F]` (its output goes through a sigmoid).
    public var gate: Tensor
    /// Gate bias `[F]`.
    public var gateBias: Tensor

    /// Creates the weights of one dense block.
    public init(filter: Tensor, filterBias: Tensor, gate: Tensor, gateBias: Tensor) {
        self.filter = filter
        self.filterBias = filterBias
        self.gate = gate
        self.gateBias = gateBias
    }
}

/// Dense blocks in a TC block over a sequence of `length` steps: `⌈log₂ T⌉` (at least 1), so
/// the last step's receptive field, `2^depth` steps, covers the whole sequence.
public func tcBlockDepth(length: Int) -> Int {
    var depth = 0
    while (1 << depth) < length { depth += 1 }
    return max(depth, 1)
}

/// SNAIL's TC block: dense blocks with dilations 1, 2, 4, … (block `i` has dilation `2^i`),
/// each concatenating its `F` filters to its input, so `[B, T, C] → [B, T, C + n·F]`.
/// - Throws: ``DSLError`` for no blocks, or weights that do not fit the growing input.
public func tcBlock(_ x: Tensor, blocks: [DenseBlockWeights]) throws -> Tensor {
    guard !blocks.isEmpty else {
        throw DSLError(op: "tcBlock", operands: [x.type], message: "needs at least one dense block", location: nil, scope: x.builder.scopePath)
    }
    var h = x
    for (i, w) in blocks.enumerated() {
        h = try denseBlock(h, filter: w.filter, filterBias: w.filterBias, gate: w.gate, gateBias: w.gateBias, dilation: 1 << i)
    }
    return h
}

/// The masking value of ``causalMask(_:)``: far below any score, yet finite, so the
/// softmax's max-shift and `exp` give exact zeros, never `inf − inf`.
public let causalMaskValue = -1e9

/// `scores` `[B, T, T′]` with entry `(t, s)` replaced by ``causalMaskValue`` where `s > t`
/// (iota + compare + select): after a softmax over the last axis, step `t` attends only to
/// steps `≤ t`, and the masked entries get exactly zero gradient.
public func causalMask(_ scores: Tensor) throws -> Tensor {
    guard scores.rank == 3 else {
        throw DSLError(op: "causalMask", operands: [scores.type], message: "needs scores [B, T, T′]", location: nil, scope: scores.builder.scopePath)
    }
    let type = TensorType(.i32, scores.shape)
    let rows = try scores.builder.apply(.iota(axis: 1), [], declared: type)
    let cols = try scores.builder.apply(.iota(axis: 2), [], declared: type)
    return try select(rows.compare(.ge, cols), scores, scores.scalar(causalMaskValue))
}

/// Causally masked softmax attention: `softmax(mask(QKᵀ/√dₖ)) V` over `[B, T, ·]`.
public func causalAttention(query q: Tensor, key k: Tensor, value v: Tensor) throws -> Tensor {
    let scale = 1.0 / Double(k.shape[k.rank - 1]).squareRoot()
    return try softmax(causalMask(q.matmul(k.transposed()) * scale), axis: -1).matmul(v)
}

/// SNAIL's attention block: keys, queries (`wk`, `wq` `[C, K]`) and values (`wv` `[C, V]`)
/// from `x` `[B, T, C]`, causal attention scaled by `√K`, output concatenated to the input:
/// `[B, T, C + V]`.
public func attentionBlock(_ x: Tensor, query wq: Tensor, key wk: Tensor, value wv: Tensor) throws -> Tensor {
    let read = try causalAttention(query: linear(x, wq, nil), key: linear(x, wk, nil), value: linear(x, wv, nil))
    return try concat([x, read], axis: 2)
}

/// `log(1 + eˣ)`, as `relu(x) + log(1 + e^{−|x|})` so it never overflows.
public func softplus(_ x: Tensor) throws -> Tensor {
    let absX = try maximum(x, -x)
    return try relu(x) + log(exp(-absX) + 1)
}

/// Cosine similarities `[B, H, N]` of keys `[B, H, D]` with memory rows `[B, N, D]`.
public func batchedCosineSimilarity(_ keys: Tensor, _ memory: Tensor, epsilon: Double = 1e-8) throws -> Tensor {
    try l2Normalize(keys, axis: 2, epsilon: epsilon).matmul(l2Normalize(memory, axis: 2, epsilon: epsilon).transposed())
}

/// One-hot `[B, N]` of the least-used memory slot, `argmin` of `usage` `[B, N]` (the first
/// on ties), as `one_hot(argmax(−usage))` under `stop_gradient`.
///
/// NOTE: subgradient. The selection is piecewise constant in the usage (and undefined at
/// ties), so its derivative is zero almost everywhere; we take zero everywhere, as Santoro et
/// al. do (the least-used weights are not differentiated). Gradients still reach the usage
/// through the read and write weights it accumulates.
public func leastUsedWeights(_ usage: Tensor) throws -> Tensor {
    let slots = usage.shape[usage.rank - 1]
    return try (-usage).argmax(axis: -1).oneHot(depth: slots).cast(to: usage.dtype).stopGradient()
}

/// Santoro et al.'s write weights `σ(α)·w^r(t−1) + (1 − σ(α))·w^lu(t−1)` per head:
/// `alpha` `[B, H]` (logits), `previousRead` `[B, H, N]`, `leastUsed` `[B, N]`.
public func lruWriteWeights(alpha: Tensor, previousRead: Tensor, leastUsed: Tensor) throws -> Tensor {
    let (b, h, n) = (previousRead.shape[0], previousRead.shape[1], previousRead.shape[2])
    let gate = try sigmoid(alpha).reshaped([b, h, 1])
    let lu = try leastUsed.reshaped([b, 1, n]).broadcast(to: [b, h, n])
    return try gate * previousRead + (1.0 - gate) * lu
}

/// Usage `γ·w^u + Σ_heads w^r + Σ_heads w^w` (`usage` `[B, N]`, weights `[B, H, N]`).
public func lruUsage(_ usage: Tensor, read: Tensor, write: Tensor, decay gamma: Double) throws -> Tensor {
    try usage * gamma + read.sum(axes: [1]) + write.sum(axes: [1])
}

/// The memory after the write: the least-used row zeroed, then `M(i) += Σ_h w^w_h(i)·a_h`.
/// `memory` `[B, N, D]`, `leastUsed` `[B, N]`, `write` `[B, H, N]`, `values` `[B, H, D]`.
public func lruWrite(memory: Tensor, leastUsed: Tensor, write: Tensor, values: Tensor) throws -> Tensor {
    let (b, n) = (memory.shape[0], memory.shape[1])
    let keep = try 1.0 - leastUsed.reshaped([b, n, 1])
    return try memory * keep + write.transposed().matmul(values)
}

/// The state of a least-recently-used-access memory between steps.
public struct LRUMemoryState {
    /// Memory `[B, N, D]`.
    public var memory: Tensor
    /// Usage weights `[B, N]`.
    public var usage: Tensor
    /// Read weights of the last step `[B, H, N]`.
    public var read: Tensor

    /// Creates a state.
    public init(memory: Tensor, usage: Tensor, read: Tensor) {
        self.memory = memory
        self.usage = usage
        self.read = read
    }
}

/// One step of Santoro et al.'s LRU memory with `H` heads that each write and read the
/// key `k_h` (`keys` `[B, H, D]`; `alpha`, `strength` `[B, H]`):
///
/// 1. `w^lu(t−1)` = the least-used slot of `w^u(t−1)` (``leastUsedWeights(_:)``);
/// 2. `w^w = σ(α)·w^r(t−1) + (1 − σ(α))·w^lu(t−1)`;
/// 3. the least-used row is zeroed and `M(i) += Σ_h w^w_h(i)·k_h`;
/// 4. `w^r = softmax_i(β·cos(k, M(i)))`, reads `r_h = Σ_i w^r_h(i) M(i)` `[B, H, D]`;
/// 5. `w^u(t) = γ·w^u(t−1) + Σ_h w^r_h + Σ_h w^w_h`.
///
/// The key strength β is our addition (the paper's softmax of raw cosines, which lie in
/// [−1, 1], is nearly uniform over 128 slots); β = 1 recovers the paper.
public func lruMemoryStep(_ state: LRUMemoryState, keys: Tensor, alpha: Tensor, strength: Tensor,
                          decay gamma: Double) throws -> (state: LRUMemoryState, reads: Tensor, write: Tensor) {
    let lu = try leastUsedWeights(state.usage)
    let write = try lruWriteWeights(alpha: alpha, previousRead: state.read, leastUsed: lu)
    let memory = try lruWrite(memory: state.memory, leastUsed: lu, write: write, values: keys)
    let (b, h) = (keys.shape[0], keys.shape[1])
    let read = try softmax(batchedCosineSimilarity(keys, memory) * strength.reshaped([b, h, 1]), axis: -1)
    let usage = try lruUsage(state.usage, read: read, write: write, decay: gamma)
    return (LRUMemoryState(memory: memory, usage: usage, read: read), try read.matmul(memory), write)
}
