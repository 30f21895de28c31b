/// Shape and type rules: the single place that says what each primitive accepts and returns.
extension Op {
    /// Infers the result type of the op applied to operands of the given types.
    ///
    /// - Parameter declared: the type written on the node's binder. Ops that cannot derive
    ///   their result (inputs, constants, `reshape`, `broadcast`, `cast`, the convolution
    ///   gradients) require it; for the others it must match the inferred type.
    /// - Throws: `ShapeError` naming the op, the problem and the operand types.
    public func resultType(operands t: [TensorType], declared: TensorType?) throws -> TensorType {
        func fail(_ message: String) -> ShapeError {
            ShapeError(op: mnemonic, message: message, operands: t)
        }
        if let arity, t.count != arity {
            throw fail("expects \(arity) operand(s), got \(t.count)")
        }
        func needDeclared() throws -> TensorType {
            guard let declared else { throw fail("needs a declared result type") }
            return declared
        }
        func needFloat(_ x: TensorType) throws {
            guard x.dtype.isFloat else { throw fail("expects a floating-point operand, got \(x)") }
        }
        func needSameType() throws {
            guard t.allSatisfy({ $0 == t[0] }) else { throw fail("operand types differ") }
        }
        let inferred: TensorType
        switch self {
        case .input, .parameter:
            inferred = try needDeclared()
        case .constant:
            inferred = try needDeclared()
        case .iota(let axis):
            let d = try needDeclared()
            guard axis >= 0, axis < d.shape.rank else { throw fail("axis \(axis) out of range for \(d)") }
            guard d.dtype != .bool else { throw fail("iota cannot produce bool") }
            inferred = d
        case .unary:
            try needFloat(t[0])
            inferred = t[0]
        case .binary:
            try needSameType()
            guard t[0].dtype != .bool else { throw fail("arithmetic on bool") }
            inferred = t[0]
        case .compare:
            try needSameType()
            inferred = TensorType(.bool, t[0].shape)
        case .select:
            guard t[0].dtype == .bool else { throw fail("condition must be bool, got \(t[0])") }
            guard t[1] == t[2] else { throw fail("branch types differ") }
            guard t[0].shape == t[1].shape else { throw fail("condition shape differs from branches") }
            inferred = t[1]
        case .reduce(let kind, let axes, let keepDims):
            try checkAxes(axes, rank: t[0].shape.rank, fail: fail)
            if kind == .max { try needFloat(t[0]) }
            guard t[0].dtype != .bool else { throw fail("reduction of bool") }
            var dims: [Int] = []
            for (i, d) in t[0].shape.dims.enumerated() {
                if axes.contains(i) { if keepDims { dims.append(1) } } else { dims.append(d) }
            }
            inferred = TensorType(t[0].dtype, Shape(dims))
        case .argmax(let axis):
            try needFloat(t[0])
            guard axis >= 0, axis < t[0].shape.rank else { throw fail("axis \(axis) out of range") }
            var dims = t[0].shape.dims
            dims.remove(at: axis)
            inferred = TensorType(.i32, Shape(dims))
        case .matmul:
            inferred = try matmulType(t, fail: fail)
        case .conv2d(let s, let p):
            inferred = try conv2dType(x: t[0], w: t[1], stride: s, padding: p, fail: fail)
        case .conv2dInputGrad(let s, let p):
            let dx = try needDeclared()
            let y = try conv2dType(x: dx, w: t[1], stride: s, padding: p, fail: fail)
            guard y == t[0] else { throw fail("gradient \(t[0]) does not match conv2d output \(y) of input \(dx)") }
            inferred = dx
        case .conv2dFilterGrad(let s, let p):
            let dw = try needDeclared()
            let y = try conv2dType(x: t[0], w: dw, stride: s, padding: p, fail: fail)
            guard y == t[1] else { throw fail("gradient \(t[1]) does not match conv2d output \(y) of filter \(dw)") }
            inferred = dw
        case .reshape:
            let d = try needDeclared()
            guard d.dtype == t[0].dtype, d.shape.count == t[0].shape.count else {
                throw fail("cannot reshape \(t[0]) to \(d)")
            }
            inferred = d
        case .permute(let perm):
            guard perm.count == t[0].shape.rank, Set(perm) == Set(0..<perm.count) else {
                throw fail("\(perm) is not a permutation of \(t[0].shape.rank) axes")
            }
            inferred = TensorType(t[0].dtype, Shape(perm.map { t[0].shape[$0] }))
        case .broadcast:
            let d = try needDeclared()
            guard d.dtype == t[0].dtype, d.shape.rank == t[0].shape.rank,
                  zip(t[0].shape.dims, d.shape.dims).allSatisfy({ $0 == $1 || $0 == 1 }) else {
                throw fail("cannot broadcast \(t[0]) to \(d)")
            }
            inferred = d
        case .slice(let start, let end):
            let dims = t[0].shape.dims
            guard start.count == dims.count, end.count == dims.count,
                  (0..<dims.count).allSatisfy({ 0 <= start[$0] && start[$0] <= end[$0] && end[$0] <= dims[$0] }) else {
                throw fail("slice \(start)..<\(end) out of bounds")
            }
            inferred = TensorType(t[0].dtype, Shape(zip(start, end).map { $1 - $0 }))
        case .pad(let low, let high):
            let dims = t[0].shape.dims
            guard low.count == dims.count, high.count == dims.count,
                  low.allSatisfy({ $0 >= 0 }), high.allSatisfy({ $0 >= 0 }) else {
                throw fail("bad padding low=\(low) high=\(high)")
            }
            let padded = (0..<dims.count).compactMap { checkedSum(dims[$0], low[$0], high[$0]) }
            guard padded.count == dims.count else { throw fail("padding low=\(low) high=\(high) overflows") }
            inferred = TensorType(t[0].dtype, Shape(padded))
        case .concat(let axis):
            guard let first = t.first else { throw fail("needs at least one operand") }
            guard axis >= 0, axis < first.shape.rank else { throw fail("axis \(axis) out of range") }
            var total = 0
            for x in t {
                guard x.dtype == first.dtype, x.shape.rank == first.shape.rank,
                      (0..<first.shape.rank).allSatisfy({ $0 == axis || x.shape[$0] == first.shape[$0] }) else {
                    throw fail("operands disagree off axis \(axis)")
                }
                guard let sum = checkedSum(total, x.shape[axis]) else { throw fail("concatenated extent overflows") }
                total = sum
            }
            var dims = first.shape.dims
            dims[axis] = total
            inferred = TensorType(first.dtype, Shape(dims))
        case .oneHot(let depth):
            guard t[0].dtype == .i32 else { throw fail("expects i32 indices, got \(t[0])") }
            guard depth > 0 else { throw fail("depth must be positive") }
            let dtype = declared?.dtype ?? .f32
            guard dtype.isFloat else { throw fail("result must be floating point") }
            inferred = TensorType(dtype, Shape(t[0].shape.dims + [depth]))
        case .cast:
            let d = try needDeclared()
            guard d.shape == t[0].shape else { throw fail("cast cannot change the shape") }
            inferred = d
        case .stopGradient:
            inferred = t[0]
        case .randomUniform:
            guard t[0].dtype == .i32, t[1].dtype == .i32 else { throw fail("seed and counter must be i32") }
            guard t[0].shape == t[1].shape else { throw fail("seed and counter shapes differ") }
            let dtype = declared?.dtype ?? .f32
            guard dtype.isFloat else { throw fail("result must be floating point, got \(dtype)") }
            inferred = TensorType(dtype, t[0].shape)
        case .gather:
            let table = t[0], idx = t[1]
            try needFloat(table)
            guard table.shape.rank == 2 else { throw fail("table must be [rows, width], got \(table)") }
            guard idx.dtype == .i32 else { throw fail("indices must be i32, got \(idx)") }
            inferred = TensorType(table.dtype, Shape(idx.shape.dims + [table.shape[1]]))
        case .scatterAdd:
            let upd = t[0], idx = t[1]
            try needFloat(upd)
            guard idx.dtype == .i32 else { throw fail("indices must be i32, got \(idx)") }
            guard upd.shape.dims.dropLast() == idx.shape.dims[...], upd.shape.rank == idx.shape.rank + 1 else {
                throw fail("updates \(upd) must be the indices' shape \(idx.shape) plus one width axis")
            }
            let d = try needDeclared()
            guard d.dtype == upd.dtype, d.shape.rank == 2, d.shape[1] == upd.shape[upd.shape.rank - 1] else {
                throw fail("result \(d) must be [rows, \(upd.shape[upd.shape.rank - 1])] of \(upd.dtype)")
            }
            inferred = d
        }
        if let declared, declared != inferred {
            throw fail("declared type \(declared) but the operands give \(inferred)")
        }
        return inferred
    }
}

private func checkAxes(_ axes: [Int], rank: Int, fail: (String) -> ShapeError) throws {
    guard !axes.isEmpty else { throw fail("no axes to reduce") }
    for (k, a) in axes.enumerated() {
        guard a >= 0, a < rank else { throw fail("axis \(a) out of range for rank \(rank)") }
        if k > 0, axes[k - 1] >= a { throw fail("axes must be sorted and unique, got \(axes)") }
    }
}

private func matmulType(_ t: [TensorType], fail: (String) -> ShapeError) throws -> TensorType {
    let a = t[0], b = t[1]
    guard a.dtype == b.dtype, a.dtype.isFloat else { throw fail("operand element types must be equal floats") }
    guard a.shape.rank >= 2, a.shape.rank == b.shape.rank else { throw fail("operands must have equal rank >= 2") }
    let r = a.shape.rank
    guard a.shape.dims[..<(r - 2)] == b.shape.dims[..<(r - 2)] else { throw fail("batch dimensions differ") }
    guard a.shape[r - 1] == b.shape[r - 2] else {
        throw fail("inner dimensions differ (\(a.shape[r - 1]) vs \(b.shape[r - 2]))")
    }
    return TensorType(a.dtype, Shape(Array(a.shape.dims[..<(r - 1)]) + [b.shape[r - 1]]))
}

/// Output type of `conv2d` for an NCHW input and OIHW filter.
func conv2dType(x: TensorType, w: TensorType, stride: Int, padding: Int,
                fail: (String) -> ShapeError) throws -> TensorType {
    guard x.dtype == w.dtype, x.dtype.isFloat else { throw fail("input and filter must be equal floats") }
    guard x.shape.rank == 4, w.shape.rank == 4 else { throw fail("input must be NCHW and filter OIHW") }
    guard stride >= 1, padding >= 0 else { throw fail("stride must be >= 1 and padding >= 0") }
    guard x.shape[1] == w.shape[1] else {
        throw fail("input has \(x.shape[1]) channels but the filter expects \(w.shape[1])")
    }
    guard let ph = checkedSum(x.shape[2], padding, padding), let pw = checkedSum(x.shape[3], padding, padding) else {
        throw fail("padding \(padding) overflows the padded input size")
    }
    guard ph >= w.shape[2], pw >= w.shape[3] else { throw fail("filter larger than the padded input") }
    let ho = (ph - w.shape[2]) / stride + 1
    let wo = (pw - w.shape[3]) / stride + 1
    return TensorType(x.dtype, Shape([x.shape[0], w.shape[0], ho, wo]))
}

/// `terms` added up, or nil on overflow: extents and attributes come from parsed text, so
/// sums of them must not trap.
private func checkedSum(_ terms: Int...) -> Int? {
    var total = 0
    for x in terms {
        let (sum, overflow) = total.addingReportingOverflow(x)
        if overflow { return nil }
        total = sum
    }
    return total
}
