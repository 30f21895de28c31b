/// A structural or type error found by `Verifier`, with the offending node.
public struct VerifierError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Node id (`-1` for graph-level problems).
    public var node: Int
    /// What is wrong.
    public var message: String

    /// Creates a verifier error.
    public init(node: Int, message: String) {
        self.node = node
        self.message = message
    }

    /// `%7: conv2d: ...`.
    public var description: String { node >= 0 ? "%\(node): \(message)" : message }
}

/// Checks that a graph is well formed: SSA order, operand counts, type rules, outputs.
///
/// Run between passes in debug builds and tests; cheap enough to run always.
public enum Verifier {
    /// Throws the first problem found.
    public static func verify(_ g: Graph) throws {
        var inputNames = Set<String>(), paramNames = Set<String>()
        for (i, n) in g.nodes.enumerated() {
            for operand in n.inputs where operand < 0 || operand >= i {
                throw VerifierError(node: i, message: "operand %\(operand) is not defined before use")
            }
            switch n.op {
            case .input(let name):
                guard inputNames.insert(name).inserted else {
                    throw VerifierError(node: i, message: "duplicate input name \"\(name)\"")
                }
            case .parameter(let name):
                guard paramNames.insert(name).inserted else {
                    throw VerifierError(node: i, message: "duplicate parameter name \"\(name)\"")
                }
            case .constant, .iota, .unary, .binary, .compare, .select, .reduce, .argmax, .matmul, .conv2d,
                 .conv2dInputGrad, .conv2dFilterGrad, .reshape, .permute, .broadcast, .slice, .pad, .concat,
                 .oneHot, .cast, .stopGradient, .randomUniform, .gather, .scatterAdd:
                break  // unnamed nodes: nothing can collide
            }
            guard n.type.shape.checkedCount != nil else {
                throw VerifierError(node: i, message: "shape \(n.type.shape) has more elements than fit in a 64-bit count")
            }
            do {
                _ = try n.op.resultType(operands: n.inputs.map { g.nodes[$0].type }, declared: n.type)
            } catch let e as ShapeError {
                throw VerifierError(node: i, message: e.description)
            }
        }
        var outNames = Set<String>()
        for o in g.outputs {
            guard o.node >= 0, o.node < g.nodes.count else {
                throw VerifierError(node: -1, message: "output \"\(o.name)\" refers to undefined %\(o.node)")
            }
            guard outNames.insert(o.name).inserted else {
                throw VerifierError(node: -1, message: "duplicate output name \"\(o.name)\"")
            }
        }
    }
}
