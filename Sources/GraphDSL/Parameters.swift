import MetaIR

/// A named set of parameter tensors: what a model is a pure function of.
///
/// Adapted weights in an inner loop (θ' = θ − α∇θL) are just another `Parameters` value with
/// the same names, so MAML-style procedures are ordinary code.
public struct Parameters {
    /// Names in declaration order.
    public private(set) var names: [String] = []
    private var tensors: [String: Tensor] = [:]

    /// An empty set.
    public init() {}

    /// Declares every spec as a `param` node of `builder`, optionally with a name prefix.
    public init(declaring specs: [ParameterSpec], in builder: GraphBuilder, prefix: String = "") throws {
        for s in specs {
            self[s.name] = try builder.parameter(prefix + s.name, s.type.shape, dtype: s.type.dtype)
        }
    }

    /// The tensor called `name`; reading a missing name throws.
    public func tensor(_ name: String, file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        guard let t = tensors[name] else {
            throw DSLError(op: "parameter", operands: [], message: "no parameter named \"\(name)\" (have: \(names.joined(separator: ", ")))",
                           location: SourceLocation(file: "\(file)", line: Int(line)), scope: "")
        }
        return t
    }

    /// Get or set by name; setting a new name appends it.
    public subscript(name: String) -> Tensor? {
        get { tensors[name] }
        set {
            if tensors[name] == nil, newValue != nil { names.append(name) }
            if newValue == nil { names.removeAll { $0 == name } }
            tensors[name] = newValue
        }
    }

    /// The tensors in declaration order.
    public var all: [Tensor] { names.compactMap { tensors[$0] } }

    /// A new set with `transform` applied to every tensor (e.g. an SGD step).
    public func map(_ transform: (String, Tensor) throws -> Tensor) rethrows -> Parameters {
        var out = Parameters()
        for n in names { if let t = tensors[n] { out[n] = try transform(n, t) } }
        return out
    }
}
