import MetaIR

/// A fused elementwise computation over one index space: the body of a loop kernel.
///
/// Leaves read buffers through `View`s, splat constants or index along an axis; inner nodes
/// are the elementwise primitives. Movement ops never appear: fusion folds them into the
/// leaves' views.
public indirect enum Expr: Hashable, Sendable {
    /// Reads kernel operand `operand` (an index into `Kernel.operands`) through `view`.
    case load(operand: Int, view: View, dtype: DType)
    /// A constant.
    case constant(Double, DType)
    /// The index along `axis` of the expression's index space, as `dtype`.
    case iota(axis: Int, DType)
    /// Elementwise unary op.
    case unary(UnaryOp, Expr, DType)
    /// Elementwise binary op.
    case binary(BinaryOp, Expr, Expr, DType)
    /// Comparison (operands of `operandType`), result `bool`.
    case compare(CompareOp, Expr, Expr, operandType: DType)
    /// `cond ? a : b`.
    case select(Expr, Expr, Expr, DType)
    /// Element type conversion.
    case cast(Expr, from: DType, to: DType)
    /// `Op.randomUniform`: a float in `[0, 1)` from an `i32` seed and counter.
    case randomUniform(Expr, Expr, DType)
    /// The dense kernel's accumulated value (only inside an epilogue).
    case accumulator(DType)

    /// Result element type.
    public var dtype: DType {
        switch self {
        case .load(_, _, let d), .constant(_, let d), .iota(_, let d), .unary(_, _, let d), .binary(_, _, _, let d),
             .select(_, _, _, let d), .cast(_, _, let d), .accumulator(let d), .randomUniform(_, _, let d):
            return d
        case .compare: return .bool
        }
    }

    /// Number of arithmetic operations (loads and constants are free): the recompute cost of
    /// inlining this expression into another kernel.
    public var cost: Int {
        switch self {
        case .load, .constant, .iota, .accumulator: return 0
        case .unary(let u, let a, _): return (u == .exp || u == .log || u == .tanh ? 8 : 1) + a.cost
        case .binary(_, let a, let b, _), .compare(_, let a, let b, _): return 1 + a.cost + b.cost
        case .select(let c, let a, let b, _): return 1 + c.cost + a.cost + b.cost
        case .cast(let a, _, _): return 1 + a.cost
        case .randomUniform(let a, let b, _): return 12 + a.cost + b.cost
        }
    }

    /// Total nodes in the tree.
    public var size: Int {
        switch self {
        case .load, .constant, .iota, .accumulator: return 1
        case .unary(_, let a, _), .cast(let a, _, _): return 1 + a.size
        case .binary(_, let a, let b, _), .compare(_, let a, let b, _), .randomUniform(let a, let b, _):
            return 1 + a.size + b.size
        case .select(let c, let a, let b, _): return 1 + c.size + a.size + b.size
        }
    }

    /// The expression with every leaf rewritten by `leaf` (which returns `nil` to give up).
    public func mapLeaves(_ leaf: (Expr) -> Expr?) -> Expr? {
        switch self {
        case .load, .constant, .iota, .accumulator: return leaf(self)
        case .unary(let u, let a, let d): return a.mapLeaves(leaf).map { .unary(u, $0, d) }
        case .cast(let a, let f, let t): return a.mapLeaves(leaf).map { .cast($0, from: f, to: t) }
        case .binary(let o, let a, let b, let d):
            guard let x = a.mapLeaves(leaf), let y = b.mapLeaves(leaf) else { return nil }
            return .binary(o, x, y, d)
        case .compare(let o, let a, let b, let d):
            guard let x = a.mapLeaves(leaf), let y = b.mapLeaves(leaf) else { return nil }
            return .compare(o, x, y, operandType: d)
        case .randomUniform(let a, let b, let d):
            guard let x = a.mapLeaves(leaf), let y = b.mapLeaves(leaf) else { return nil }
            return .randomUniform(x, y, d)
        case .select(let c, let a, let b, let d):
            guard let x = c.mapLeaves(leaf), let y = a.mapLeaves(leaf), let z = b.mapLeaves(leaf) else { return nil }
            return .select(x, y, z, d)
        }
    }

    /// Every load's operand index, in tree order.
    public var operandsRead: [Int] {
        var out: [Int] = []
        _ = mapLeaves { e in
            if case .load(let o, _, _) = e { out.append(o) }
            return e
        }
        return out
    }
}

/// What a kernel computes.
public enum KernelBody: Hashable, Sendable {
    /// `out[idx] = expr(idx)` over the output's `shape`.
    case elementwise(Expr, shape: [Int])
    /// Reduction of `expr` (over `inputShape`) along `axes`; output is the kept axes, row-major.
    case reduce(ReduceOp, Expr, inputShape: [Int], axes: [Int])
    /// First index of the maximum of `expr` (over `inputShape`) along `axis`, as `i32`.
    case argmax(Expr, inputShape: [Int], axis: Int)
    /// Batched matrix product of operands 0 and 1 with an optional epilogue (run in the
    /// index space `spec.outputShape`).
    case matmul(MatmulSpec, epilogue: Expr?)
    /// One of the three convolution forms of operands 0 and 1 with an optional epilogue (run
    /// in the index space `spec.outputShape(kind)`).
    case convolution(ConvKind, ConvSpec, epilogue: Expr?)
    /// A gather or scatter-add of whole rows, addressed by the `i32` indices in operand 1.
    case rowIndexed(RowIndexedKind, RowIndexSpec)
}

extension KernelBody {
    /// The fused epilogue of a dense kernel; `nil` for loop kernels and dense kernels without one.
    public var epilogue: Expr? {
        switch self {
        case .elementwise, .reduce, .argmax, .rowIndexed: return nil
        case .matmul(_, let e), .convolution(_, _, let e): return e
        }
    }

    /// Whether this is a dense kernel (matmul or convolution).
    public var isDense: Bool {
        switch self {
        case .elementwise, .reduce, .argmax, .rowIndexed: return false
        case .matmul, .convolution: return true
        }
    }

    /// The index space a dense kernel hands its epilogue (`nil` for loop kernels).
    public var denseOutputShape: [Int]? {
        switch self {
        case .elementwise, .reduce, .argmax, .rowIndexed: return nil
        case .matmul(let s, _): return s.outputShape
        case .convolution(let kind, let s, _): return s.outputShape(kind)
        }
    }

    /// The same dense kernel with epilogue `e` (loop kernels are returned unchanged).
    public func withEpilogue(_ e: Expr?) -> KernelBody {
        switch self {
        case .elementwise, .reduce, .argmax, .rowIndexed: return self
        case .matmul(let s, _): return .matmul(s, epilogue: e)
        case .convolution(let kind, let s, _): return .convolution(kind, s, epilogue: e)
        }
    }
}

/// One kernel: reads `operands` (buffer ids), writes buffer `output`.
public struct Kernel: Hashable, Sendable {
    /// What it computes.
    public var body: KernelBody
    /// Buffers read, in the order `Expr.load` operands index them.
    public var operands: [Int]
    /// Buffer written (whole, contiguous).
    public var output: Int
    /// Graph nodes this kernel computes (for dumps and profiles).
    public var nodes: [Int]
    /// Element offsets at which a dense kernel reads operands 0 and 1 (loop kernels keep
    /// offsets in their views).
    public var operandOffsets: [Int] = []

    /// Creates a kernel.
    public init(body: KernelBody, operands: [Int], output: Int, nodes: [Int]) {
        self.body = body
        self.operands = operands
        self.output = output
        self.nodes = nodes
    }
}

/// Where a buffer's contents come from.
public enum BufferRole: Hashable, Sendable {
    /// Fed by the caller each call (`input` node).
    case input(String)
    /// A parameter (resident between calls).
    case parameter(String)
    /// Computed by a kernel.
    case intermediate
}

/// A buffer of the kernel program.
public struct BufferInfo: Hashable, Sendable {
    /// Element type.
    public var dtype: DType
    /// Elements.
    public var count: Int
    /// Role.
    public var role: BufferRole
}

/// The graph after fusion: buffers, kernels in execution order, and where outputs live.
public struct KernelProgram: Sendable {
    /// Graph name.
    public var name: String
    /// All buffers.
    public var buffers: [BufferInfo]
    /// Kernels in order.
    public var kernels: [Kernel]
    /// Each named output: its buffer and the view it is read through (outputs that are
    /// reshapes of a buffer share it) — always contiguous here.
    public var outputs: [(name: String, buffer: Int, type: TensorType)]
}
