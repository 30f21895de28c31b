import MetaIR

// Arithmetic operators. They throw on shape mismatch like every DSL op; operators cannot take
// a call-site location, so their errors carry the innermost scope instead.

extension Tensor {
    /// Elementwise sum with broadcasting.
    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.add, b) }
    /// Elementwise difference with broadcasting.
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.sub, b) }
    /// Elementwise product with broadcasting.
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.mul, b) }
    /// Elementwise quotient with broadcasting.
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.div, b) }
    /// Tensor plus scalar.
    public static func + (a: Tensor, b: Double) throws -> Tensor { try a.binary(.add, a.scalar(b)) }
    /// Tensor minus scalar.
    public static func - (a: Tensor, b: Double) throws -> Tensor { try a.binary(.sub, a.scalar(b)) }
    /// Tensor times scalar.
    public static func * (a: Tensor, b: Double) throws -> Tensor { try a.binary(.mul, a.scalar(b)) }
    /// Tensor divided by scalar.
    public static func / (a: Tensor, b: Double) throws -> Tensor { try a.binary(.div, a.scalar(b)) }
    /// Scalar plus tensor.
    public static func + (a: Double, b: Tensor) throws -> Tensor { try b.scalar(a).binary(.add, b) }
    /// Scalar minus tensor.
    public static func - (a: Double, b: Tensor) throws -> Tensor { try b.scalar(a).binary(.sub, b) }
    /// Scalar times tensor.
    public static func * (a: Double, b: Tensor) throws -> Tensor { try b.scalar(a).binary(.mul, b) }
    /// Scalar divided by tensor.
    public static func / (a: Double, b: Tensor) throws -> Tensor { try b.scalar(a).binary(.div, b) }
    /// Negation.
    public static prefix func - (a: Tensor) throws -> Tensor { try a.unary(.neg) }
}

/// `e^x`.
public func exp(_ x: Tensor, file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
    try x.unary(.exp, file: file, line: line)
}
/// Natural logarithm.
public func log(_ x: Tensor, file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
    try x.unary(.log, file: file, line: line)
}
/// Square root.
public func sqrt(_ x: Tensor, file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
    try x.unary(.sqrt, file: file, line: line)
}
/// Hyperbolic tangent.
public func tanh(_ x: Tensor, file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
    try x.unary(.tanh, file: file, line: line)
}
/// `max(x, 0)`.
public func relu(_ x: Tensor, file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
    try x.unary(.relu, file: file, line: line)
}
/// Elementwise maximum with broadcasting.
public func maximum(_ a: Tensor, _ b: Tensor, file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
    try a.binary(.max, b, file: file, line: line)
}
/// Elementwise minimum with broadcasting.
public func minimum(_ a: Tensor, _ b: Tensor, file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
    try a.binary(.min, b, file: file, line: line)
}
