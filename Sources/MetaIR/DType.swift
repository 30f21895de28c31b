/// Element type of a tensor.
///
/// `f32` is the training type, `i32` holds labels and indices, `bool` is what comparisons
/// produce. `f64` exists so the reference interpreter can run gradient checks in double
/// precision.
public enum DType: String, Sendable, Hashable, CaseIterable, Codable {
    /// 32-bit IEEE float.
    case f32
    /// 64-bit IEEE float.
    case f64
    /// 32-bit signed integer.
    case i32
    /// Boolean (printed `bool`).
    case bool

    /// Whether the type is a floating-point type.
    public var isFloat: Bool { self == .f32 || self == .f64 }

    /// Size of one element in bytes as laid out in memory by the back end.
    public var byteSize: Int {
        switch self {
        case .f32, .i32: return 4
        case .f64: return 8
        case .bool: return 1
        }
    }
}

/// A static tensor shape: a list of non-negative extents, row-major.
public struct Shape: Hashable, Sendable, Codable, CustomStringConvertible, ExpressibleByArrayLiteral {
    /// The extents, outermost first.
    public var dims: [Int]

    /// Creates a shape from its extents.
    public init(_ dims: [Int]) { self.dims = dims }

    /// Creates a shape from an array literal.
    public init(arrayLiteral elements: Int...) { self.dims = elements }

    /// The scalar shape `[]`.
    public static let scalar = Shape([])

    /// Number of dimensions.
    public var rank: Int { dims.count }

    /// Number of elements (1 for a scalar), or `Int.max` when the product overflows.
    ///
    /// The parser, the DSL and the verifier refuse shapes whose count overflows, so inside a
    /// verified graph this is exact; saturating keeps code that has not checked from trapping.
    public var count: Int { checkedCount ?? Int.max }

    /// Number of elements, or `nil` when a dimension is negative or the product overflows `Int`.
    public var checkedCount: Int? {
        var n = 1
        for d in dims {
            guard d >= 0 else { return nil }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            n = p
        }
        return n
    }

    /// Extent of dimension `i`.
    public subscript(i: Int) -> Int { dims[i] }

    /// Row-major strides in elements.
    public var strides: [Int] {
        var s = [Int](repeating: 1, count: dims.count)
        var acc = 1
        for i in stride(from: dims.count - 1, through: 0, by: -1) {
            s[i] = acc
            // Saturates rather than traps: only a shape with an overflowing count gets here.
            let (p, overflow) = acc.multipliedReportingOverflow(by: dims[i])
            acc = overflow ? Int.max : p
        }
        return s
    }

    /// `[2,3]` style text.
    public var description: String { "[" + dims.map(String.init).joined(separator: ",") + "]" }
}

/// The static type of a value: element type and shape.
public struct TensorType: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Element type.
    public var dtype: DType
    /// Shape.
    public var shape: Shape

    /// Creates a tensor type.
    public init(_ dtype: DType, _ shape: Shape) {
        self.dtype = dtype
        self.shape = shape
    }

    /// `f32[2,3]` style text, as in the text IR.
    public var description: String { "\(dtype.rawValue)\(shape)" }
}
