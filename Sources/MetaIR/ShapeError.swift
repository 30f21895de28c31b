/// A type or shape rule violated by an op's operands.
public struct ShapeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The op mnemonic (e.g. `matmul`).
    public var op: String
    /// What is wrong.
    public var message: String
    /// Types of the operands as given.
    public var operands: [TensorType]

    /// Creates a shape error.
    public init(op: String, message: String, operands: [TensorType]) {
        self.op = op
        self.message = message
        self.operands = operands
    }

    /// `matmul: inner dimensions differ (f32[5,3] vs f32[4,2])`.
    public var description: String {
        let types = operands.map(\.description).joined(separator: ", ")
        return "\(op): \(message)" + (operands.isEmpty ? "" : " (operands: \(types))")
    }
}
