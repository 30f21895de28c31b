import Interpreter
import MetaIR
import Passes

/// Which engine runs a graph.
public enum BackendKind: String, Sendable, CaseIterable, Codable {
    /// The reference interpreter.
    case interp
    /// LLVM JIT-compiled native code.
    case jit
}

/// A graph made ready to run: call it with inputs and parameters by name.
public protocol Executable: AnyObject {
    /// The graph that runs (after the pass pipeline).
    var graph: Graph { get }
    /// Runs one call.
    func run(_ feeds: [String: HostTensor]) throws -> [String: HostTensor]
}

/// Runs graphs on the reference interpreter.
public final class InterpretedProgram: Executable {
    /// The graph.
    public let graph: Graph
    private let interpreter: Interpreter

    /// Prepares `graph` (simplified by the standard pipeline).
    public init(graph: Graph, precision: Interpreter.Precision = .native) throws {
        self.graph = try Pipeline.standard().run(graph)
        interpreter = Interpreter(precision: precision)
    }

    /// Evaluates the outputs.
    public func run(_ feeds: [String: HostTensor]) throws -> [String: HostTensor] {
        try interpreter.run(graph, feeds: feeds)
    }
}
