/// How a parameter's initial value is drawn.
public enum ParameterInit: Hashable, Sendable, Codable {
    /// All zeros.
    case zeros
    /// All ones.
    case ones
    /// A constant.
    case constant(Double)
    /// Glorot/Xavier uniform: `U(-a, a)`, `a = sqrt(6 / (fanIn + fanOut))`.
    case glorotUniform(fanIn: Int, fanOut: Int)
    /// Normal with the given standard deviation.
    case normal(std: Double)
    /// Uniform in `low...high`.
    case uniform(low: Double, high: Double)
}

/// A named parameter: its type and how to initialise it. Kept beside a graph, not in it.
public struct ParameterSpec: Hashable, Sendable, Codable {
    /// Parameter name, as in the graph's `param` node.
    public var name: String
    /// Element type and shape.
    public var type: TensorType
    /// Initial value rule.
    public var initializer: ParameterInit

    /// Creates a spec.
    public init(name: String, type: TensorType, initializer: ParameterInit) {
        self.name = name
        self.type = type
        self.initializer = initializer
    }
}
