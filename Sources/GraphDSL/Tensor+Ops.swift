import MetaIR

// Primitive ops on `Tensor`, with NumPy-style broadcasting made explicit (reshape + broadcast).

extension Tensor {
    /// Elementwise unary primitive.
    public func unary(_ u: UnaryOp, file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        try builder.apply(.unary(u), [self], file: file, line: line)
    }

    /// Reshapes to `shape` (same element count).
    public func reshaped(_ shape: Shape, file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        if shape == self.shape { return self }
        return try builder.apply(.reshape, [self], declared: TensorType(dtype, shape), file: file, line: line)
    }

    /// Broadcasts to `shape` following NumPy rules (leading axes added, size-1 axes expanded).
    public func broadcast(to shape: Shape, file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        if shape == self.shape { return self }
        guard shape.rank >= rank else {
            throw DSLError(op: "broadcast", operands: [type], message: "cannot broadcast to lower rank \(shape)",
                           location: SourceLocation(file: "\(file)", line: Int(line)), scope: builder.scopePath)
        }
        let padded = Shape([Int](repeating: 1, count: shape.rank - rank) + self.shape.dims)
        let r = try reshaped(padded, file: file, line: line)
        if padded == shape { return r }
        return try builder.apply(.broadcast, [r], declared: TensorType(dtype, shape), file: file, line: line)
    }

    /// Elementwise binary op with broadcasting.
    public func binary(_ b: BinaryOp, _ other: Tensor, file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        let (x, y) = try broadcastPair(self, other, op: b.rawValue, file: file, line: line)
        return try builder.apply(.binary(b), [x, y], file: file, line: line)
    }

    /// Elementwise comparison with broadcasting; result `bool`.
    public func compare(_ c: CompareOp, _ other: Tensor, file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        let (x, y) = try broadcastPair(self, other, op: c.rawValue, file: file, line: line)
        return try builder.apply(.compare(c), [x, y], file: file, line: line)
    }

    /// A scalar constant of this tensor's element type.
    public func scalar(_ v: Double) -> Tensor { builder.constant(v, .scalar, dtype: dtype) }

    /// Sum over `axes` (all axes when `nil`).
    public func sum(axes: [Int]? = nil, keepDims: Bool = false,
                    file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        try reduce(.sum, axes: axes, keepDims: keepDims, file: file, line: line)
    }

    /// Maximum over `axes` (all axes when `nil`).
    public func max(axes: [Int]? = nil, keepDims: Bool = false,
                    file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        try reduce(.max, axes: axes, keepDims: keepDims, file: file, line: line)
    }

    /// Mean over `axes` (all axes when `nil`).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false,
                     file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        let ax = normalize(axes)
        let n = ax.reduce(1) { $0 * shape[$1] }
        return try sum(axes: ax, keepDims: keepDims, file: file, line: line) * (1.0 / Double(Swift.max(n, 1)))
    }

    private func normalize(_ axes: [Int]?) -> [Int] {
        guard let axes else { return Array(0..<rank) }
        return Array(Set(axes.map { $0 < 0 ? $0 + rank : $0 })).sorted()
    }

    /// Primitive reduction (negative axes count from the end).
    public func reduce(_ kind: ReduceOp, axes: [Int]?, keepDims: Bool,
                       file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        let ax = normalize(axes)
        if ax.isEmpty { return self }
        return try builder.apply(.reduce(kind, axes: ax, keepDims: keepDims), [self], file: file, line: line)
    }

    /// Index of the maximum along `axis`; result `i32`.
    public func argmax(axis: Int, file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        try builder.apply(.argmax(axis: axis < 0 ? axis + rank : axis), [self], file: file, line: line)
    }

    /// Matrix product over the last two axes.
    public func matmul(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        try builder.apply(.matmul, [self, other], file: file, line: line)
    }

    /// 2-D convolution, NCHW input with OIHW `filter`.
    public func conv2d(_ filter: Tensor, stride: Int = 1, padding: Int = 0,
                       file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        try builder.apply(.conv2d(stride: stride, padding: padding), [self, filter], file: file, line: line)
    }

    /// Axis permutation.
    public func permuted(_ perm: [Int], file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        if perm == Array(0..<rank) { return self }
        return try builder.apply(.permute(perm), [self], file: file, line: line)
    }

    /// Swaps the last two axes.
    public func transposed(file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        var p = Array(0..<rank)
        if rank >= 2 { p.swapAt(rank - 1, rank - 2) }
        return try permuted(p, file: file, line: line)
    }

    /// Box `start..<end` per axis.
    public func slice(start: [Int], end: [Int], file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        if start.allSatisfy({ $0 == 0 }) && end == shape.dims { return self }
        return try builder.apply(.slice(start: start, end: end), [self], file: file, line: line)
    }

    /// Zero padding.
    public func padded(low: [Int], high: [Int], file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        if low.allSatisfy({ $0 == 0 }) && high.allSatisfy({ $0 == 0 }) { return self }
        return try builder.apply(.pad(low: low, high: high), [self], file: file, line: line)
    }

    /// One-hot encoding of `i32` indices.
    public func oneHot(depth: Int, file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        try builder.apply(.oneHot(depth: depth), [self], file: file, line: line)
    }

    /// Element type conversion.
    public func cast(to dtype: DType, file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        if dtype == self.dtype { return self }
        return try builder.apply(.cast, [self], declared: TensorType(dtype, shape), file: file, line: line)
    }

    /// Identity with zero gradient.
    public func stopGradient(file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        try builder.apply(.stopGradient, [self], file: file, line: line)
    }
}

/// Concatenation along `axis`.
public func concat(_ xs: [Tensor], axis: Int, file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
    guard let first = xs.first else {
        throw DSLError(op: "concat", operands: [], message: "nothing to concatenate",
                       location: SourceLocation(file: "\(file)", line: Int(line)), scope: "")
    }
    if xs.count == 1 { return first }
    return try first.builder.apply(.concat(axis: axis < 0 ? axis + first.rank : axis), xs, file: file, line: line)
}

/// `cond ? a : b` elementwise, with broadcasting of the branches.
public func select(_ cond: Tensor, _ a: Tensor, _ b: Tensor,
                   file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
    let (x, y) = try broadcastPair(a, b, op: "select", file: file, line: line)
    let c = try cond.broadcast(to: x.shape, file: file, line: line)
    return try cond.builder.apply(.select, [c, x, y], file: file, line: line)
}

/// Broadcasts two tensors to their common shape (NumPy rules).
func broadcastPair(_ a: Tensor, _ b: Tensor, op: String, file: StaticString, line: UInt) throws -> (Tensor, Tensor) {
    if a.shape == b.shape { return (a, b) }
    let r = max(a.rank, b.rank)
    let da = [Int](repeating: 1, count: r - a.rank) + a.shape.dims
    let db = [Int](repeating: 1, count: r - b.rank) + b.shape.dims
    var out: [Int] = []
    for i in 0..<r {
        if da[i] == db[i] || db[i] == 1 { out.append(da[i]) }
        else if da[i] == 1 { out.append(db[i]) }
        else {
            throw DSLError(op: op, operands: [a.type, b.type],
                           message: "shapes \(a.shape) and \(b.shape) cannot be broadcast together",
                           location: SourceLocation(file: "\(file)", line: Int(line)), scope: a.builder.scopePath)
        }
    }
    let s = Shape(out)
    return (try a.broadcast(to: s, file: file, line: line), try b.broadcast(to: s, file: file, line: line))
}
