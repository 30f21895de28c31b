import MetaIR

extension Tensor {
    /// `random_uniform(seed, counter)`: per element a float in `[0, 1)` that is a pure function
    /// of the two `i32` values (see `ScalarSemantics.randomUniform`); both must have one shape.
    public func randomUniform(counter: Tensor, dtype: DType = .f32,
                              file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        try builder.apply(.randomUniform, [self, counter], declared: TensorType(dtype, shape), file: file, line: line)
    }
}

/// The row-major position of every element of `shape` as an `i32` tensor (`iota`s times
/// strides, summed): the counter of a counter-based random stream.
/// - Throws: a `DSLError` when the shape has more elements than `i32` counts.
public func linearIndex(_ shape: Shape, in builder: GraphBuilder,
                        file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
    guard shape.count <= Int(Int32.max) else {
        throw DSLError(op: "random_uniform", operands: [], message: "\(shape) has more elements than an i32 counter covers",
                       location: SourceLocation(file: "\(file)", line: Int(line)), scope: builder.scopePath)
    }
    let strides = shape.strides
    var index: Tensor? = nil
    for axis in 0..<shape.rank where shape[axis] > 1 {
        var term = try builder.apply(.iota(axis: axis), [], declared: TensorType(.i32, shape), file: file, line: line)
        if strides[axis] != 1 { term = try term * builder.constant(Double(strides[axis]), shape, dtype: .i32) }
        index = try index.map { try $0 + term } ?? term
    }
    return index ?? builder.constant(0, shape, dtype: .i32)
}

/// Inverted dropout with a counter-based mask: each element of `x` is kept with probability
/// `keep` and scaled by `1 / keep`, or zeroed.
///
/// The mask is `random_uniform(seed + salt(stream), linear index) < keep`, a pure function of
/// the scalar `i32` `seed` (fed per meta-iteration), the trace-time `stream` number (distinct
/// per dropout call site, inner step and task) and the element's position. Because it is a
/// node of the graph and not a draw, the forward pass and every order of gradient built from
/// it multiply by the same mask; its gradient with respect to `x` is the mask itself.
/// - Throws: a `DSLError` for `keep` outside `(0, 1]` or a `seed` that is not a scalar `i32`.
public func dropout(_ x: Tensor, keep: Double, seed: Tensor, stream: Int,
                    file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
    let b = x.builder
    func fail(_ m: String) -> DSLError {
        DSLError(op: "dropout", operands: [x.type, seed.type], message: m,
                 location: SourceLocation(file: "\(file)", line: Int(line)), scope: b.scopePath)
    }
    guard keep > 0, keep <= 1 else { throw fail("keep probability \(keep) is not in (0, 1]") }
    guard seed.dtype == .i32, seed.shape.count == 1 else { throw fail("seed must be a scalar i32, got \(seed.type)") }
    if keep == 1 { return x }
    // An odd multiplier spreads stream numbers over the 32-bit seed space (mod 2^32).
    let salt = Int32(truncatingIfNeeded: UInt32(truncatingIfNeeded: stream) &* 0x9E37_79B1)
    let streamSeed = try (seed.reshaped(.scalar) + b.constant(Double(salt), .scalar, dtype: .i32)).broadcast(to: x.shape)
    let u = try streamSeed.randomUniform(counter: linearIndex(x.shape, in: b), dtype: x.dtype)
    let kept = try b.apply(.compare(.lt), [u, b.constant(keep, x.shape, dtype: x.dtype)], file: file, line: line)
    let mask = try kept.cast(to: x.dtype) * (1 / keep)
    return try x * mask
}
