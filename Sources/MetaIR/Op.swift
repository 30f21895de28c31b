/// Elementwise unary primitives.
public enum UnaryOp: String, Sendable, Hashable, CaseIterable {
    /// `-x`
    case neg
    /// `e^x`
    case exp
    /// Natural logarithm.
    case log
    /// Square root.
    case sqrt
    /// Hyperbolic tangent.
    case tanh
    /// `max(x, 0)`.
    case relu
}

/// Elementwise binary primitives. Operands have equal shapes: broadcasting is explicit.
public enum BinaryOp: String, Sendable, Hashable, CaseIterable {
    /// `a + b`
    case add
    /// `a - b`
    case sub
    /// `a * b`
    case mul
    /// `a / b`
    case div
    /// Elementwise maximum.
    case max
    /// Elementwise minimum.
    case min
}

/// Elementwise comparisons; the result has element type `bool`.
public enum CompareOp: String, Sendable, Hashable, CaseIterable {
    /// `a == b`
    case eq
    /// `a != b`
    case ne
    /// `a < b`
    case lt
    /// `a <= b`
    case le
    /// `a > b`
    case gt
    /// `a >= b`
    case ge
}

/// Reduction kinds.
public enum ReduceOp: String, Sendable, Hashable, CaseIterable {
    /// Sum over the reduced axes.
    case sum
    /// Maximum over the reduced axes.
    case max
}

/// The closed set of graph primitives.
///
/// Everything else (softmax, cross-entropy, batch norm, max-pool, attention, LSTM cells) is a
/// composite built from these in `GraphDSL`. Ops whose result shape cannot be derived from
/// their operands (inputs, constants, reshape, broadcast, the convolution gradients) take it
/// from the node's declared type, which the text IR prints on every binder.
public enum Op: Hashable, Sendable {
    /// A value fed to the graph on every call (data, labels).
    case input(name: String)
    /// A named parameter or piece of optimiser state.
    case parameter(name: String)
    /// A constant splat of the node's shape.
    case constant(Double)
    /// Indices `0..<n` along `axis`, broadcast over the other axes of the node's shape.
    case iota(axis: Int)
    /// Elementwise unary op.
    case unary(UnaryOp)
    /// Elementwise binary op on equal shapes.
    case binary(BinaryOp)
    /// Elementwise comparison on equal shapes; result `bool`.
    case compare(CompareOp)
    /// `select(cond, a, b)`: `a` where `cond`, else `b`; all shapes equal.
    case select
    /// Reduction over `axes` (sorted, unique), optionally keeping them as size-1 dims.
    case reduce(ReduceOp, axes: [Int], keepDims: Bool)
    /// Index of the first maximum along `axis` (removed from the shape); result `i32`.
    case argmax(axis: Int)
    /// Matrix product over the last two axes; leading (batch) axes must agree.
    case matmul
    /// 2-D convolution (cross-correlation), NCHW input, OIHW filter, symmetric zero padding.
    case conv2d(stride: Int, padding: Int)
    /// Gradient of `conv2d` with respect to its input: `(dy, w) -> dx` (a transposed convolution).
    case conv2dInputGrad(stride: Int, padding: Int)
    /// Gradient of `conv2d` with respect to its filter: `(x, dy) -> dw`.
    case conv2dFilterGrad(stride: Int, padding: Int)
    /// Same elements, new shape (element counts agree).
    case reshape
    /// Axis permutation: result axis `i` is operand axis `perm[i]`.
    case permute([Int])
    /// Expands size-1 axes to the node's shape (ranks agree).
    case broadcast
    /// Contiguous box `start..<end` per axis.
    case slice(start: [Int], end: [Int])
    /// Zero padding of `low` and `high` elements per axis.
    case pad(low: [Int], high: [Int])
    /// Concatenation along `axis`.
    case concat(axis: Int)
    /// `i32` indices to `f32` one-hot vectors of length `depth` (new last axis).
    case oneHot(depth: Int)
    /// Element type conversion to the node's dtype (`bool` → 0/1; float → `i32` truncates).
    case cast
    /// Identity whose gradient is zero (first-order MAML, stable softmax shifts).
    case stopGradient
    /// Counter-based uniform random numbers: `random_uniform(seed, counter)` takes two `i32`
    /// tensors of one shape and gives, per element, a float in `[0, 1)` that is a pure
    /// function of the pair (``ScalarSemantics/randomUniform(seed:counter:)``). Being pure, a
    /// node shared by a forward pass and its gradient graphs has one value everywhere (the
    /// dropout mask of MAML's inner and outer steps); its gradient is zero.
    case randomUniform
    /// Embedding lookup: `gather(table, indices)` takes a float `table` of shape `[V, D]` and
    /// `i32` `indices` of any shape `S` and gives `S + [D]`, row `indices[s]` of the table at
    /// each position `s`. An index outside `0..<V` (a padding position, say -1) reads a row of
    /// zeros, so its gradient is zero too. The gradient with respect to the table is
    /// `scatterAdd`.
    case gather
    /// Scatter-add, the adjoint of `gather`: `scatter_add(updates, indices)` takes float
    /// `updates` of shape `S + [D]` and `i32` `indices` of shape `S`, and gives the node's
    /// declared `[V, D]` with row `v` the sum of the update rows whose index is `v`. Updates
    /// whose index lies outside `0..<V` are dropped (the adjoint of reading zeros).
    case scatterAdd
}

extension Op {
    /// The mnemonic used by the text IR.
    public var mnemonic: String {
        switch self {
        case .input: return "input"
        case .parameter: return "param"
        case .constant: return "constant"
        case .iota: return "iota"
        case .unary(let u): return u.rawValue
        case .binary(let b): return b.rawValue
        case .compare(let c): return c.rawValue
        case .select: return "select"
        case .reduce(let r, _, _): return "reduce_\(r.rawValue)"
        case .argmax: return "argmax"
        case .matmul: return "matmul"
        case .conv2d: return "conv2d"
        case .conv2dInputGrad: return "conv2d_input_grad"
        case .conv2dFilterGrad: return "conv2d_filter_grad"
        case .reshape: return "reshape"
        case .permute: return "permute"
        case .broadcast: return "broadcast"
        case .slice: return "slice"
        case .pad: return "pad"
        case .concat: return "concat"
        case .oneHot: return "one_hot"
        case .cast: return "cast"
        case .stopGradient: return "stop_gradient"
        case .randomUniform: return "random_uniform"
        case .gather: return "gather"
        case .scatterAdd: return "scatter_add"
        }
    }

    /// Number of operands the op takes, or `nil` for variadic (`concat`).
    public var arity: Int? {
        switch self {
        case .input, .parameter, .constant, .iota: return 0
        case .unary, .reduce, .argmax, .reshape, .permute, .broadcast, .slice, .pad, .oneHot, .cast, .stopGradient:
            return 1
        case .binary, .compare, .matmul, .conv2d, .conv2dInputGrad, .conv2dFilterGrad, .randomUniform, .gather,
             .scatterAdd:
            return 2
        case .select: return 3
        case .concat: return nil
        }
    }

    /// Whether the op is elementwise (same shape in and out, each output element depends only
    /// on the same element of each operand). Fusion groups chains of these.
    public var isElementwise: Bool {
        switch self {
        case .unary, .binary, .compare, .select, .cast, .stopGradient, .randomUniform: return true
        case .input, .parameter, .constant, .iota, .reduce, .argmax, .matmul, .conv2d, .conv2dInputGrad,
             .conv2dFilterGrad, .reshape, .permute, .broadcast, .slice, .pad, .concat, .oneHot, .gather, .scatterAdd:
            return false
        }
    }
}
