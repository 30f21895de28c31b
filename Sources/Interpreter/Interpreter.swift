import Foundation
import MetaIR

/// Why the interpreter could not run a graph.
public enum InterpreterError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A graph input or parameter had no value.
    case missingValue(String)
    /// A fed value has the wrong type.
    case wrongType(name: String, expected: TensorType, got: TensorType)
    /// The graph itself is malformed.
    case invalidGraph(String)

    /// Human-readable message.
    public var description: String {
        switch self {
        case .missingValue(let n): return "no value fed for \"\(n)\""
        case .wrongType(let n, let e, let g): return "value for \"\(n)\" has type \(g), the graph expects \(e)"
        case .invalidGraph(let m): return "invalid graph: \(m)"
        }
    }
}

/// The reference evaluator: the living definition of every primitive.
///
/// Straightforward loops over `Double` storage. `precision: .native` rounds every `f32`
/// result to `Float`, matching what compiled code computes up to summation order;
/// `.float64` keeps full double precision, for finite-difference gradient checks.
public struct Interpreter: Sendable {
    /// Arithmetic precision of `f32` values.
    public enum Precision: Sendable {
        /// `f32` results rounded to `Float`.
        case native
        /// Everything in `Double`.
        case float64
    }

    /// The precision used.
    public var precision: Precision
    /// Checked against `bytesNeeded(for:)` before evaluating; `nil`: no check.
    public var memoryLimit: MemoryLimit?

    /// Creates an interpreter.
    public init(precision: Precision = .native, memoryLimit: MemoryLimit? = nil) {
        self.precision = precision
        self.memoryLimit = memoryLimit
    }

    /// What evaluating `g` holds at its peak: every node's value stays alive until the end
    /// (outputs may be any of them), as `Double`s. Saturates at `Int.max`.
    public static func bytesNeeded(for g: Graph) -> Int {
        let elementSize = MemoryLayout<Double>.stride
        return MemoryLimit.sum(g.nodes.map { MemoryLimit.bytes(of: $0.type, elementSize: elementSize) })
    }

    /// Throws when evaluating `g` would hold more than `limit`.
    public static func checkMemory(_ g: Graph, limit: MemoryLimit) throws {
        try limit.check("interpreting graph \"\(g.name)\"", parts: [("node values", bytesNeeded(for: g))])
    }

    /// Evaluates the graph's outputs from values fed by name (inputs and parameters alike).
    public func run(_ g: Graph, feeds: [String: HostTensor]) throws -> [String: HostTensor] {
        let values = try evaluateAll(g, feeds: feeds)
        var out: [String: HostTensor] = [:]
        for o in g.outputs { out[o.name] = values[o.node] }
        return out
    }

    /// Evaluates every node; index `i` holds node `i`'s value.
    public func evaluateAll(_ g: Graph, feeds: [String: HostTensor]) throws -> [HostTensor] {
        do { try Verifier.verify(g) } catch { throw InterpreterError.invalidGraph("\(error)") }
        if let memoryLimit { try Self.checkMemory(g, limit: memoryLimit) }
        var values: [HostTensor] = []
        values.reserveCapacity(g.nodes.count)
        for n in g.nodes {
            let operands = n.inputs.map { values[$0] }
            var v: HostTensor
            switch n.op {
            case .input(let name), .parameter(let name):
                guard let fed = feeds[name] else { throw InterpreterError.missingValue(name) }
                guard fed.type.shape == n.type.shape,
                      fed.type.dtype == n.type.dtype || (fed.type.dtype.isFloat && n.type.dtype.isFloat) else {
                    throw InterpreterError.wrongType(name: name, expected: n.type, got: fed.type)
                }
                v = HostTensor(n.type, fed.data)
            case .constant, .iota, .unary, .binary, .compare, .select, .reduce, .argmax, .matmul, .conv2d,
                 .conv2dInputGrad, .conv2dFilterGrad, .reshape, .permute, .broadcast, .slice, .pad, .concat,
                 .oneHot, .cast, .stopGradient, .randomUniform, .gather, .scatterAdd:
                v = Kernels.evaluate(n, operands)
            }
            if n.type.dtype == .f32, precision == .native {
                for i in v.data.indices { v.data[i] = Double(Float(v.data[i])) }
            }
            values.append(v)
        }
        return values
    }
}
