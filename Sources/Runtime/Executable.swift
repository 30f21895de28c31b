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

/// A graph made ready to run, whatever the engine.
///
/// Two ways to call it: `run(_:)` feeds everything and returns every output (tests, the
/// CLI's `run`); the stateful form keeps inputs and parameters between calls (`set`, `feed`),
/// runs (`execute`), reads outputs by name (`value`, `scalar`) and applies a step's updates
/// in place (`apply`), which is how the trainer and evaluator drive any back end.
public protocol Executable: AnyObject {
    /// The graph that runs (after the pass pipeline).
    var graph: Graph { get }
    /// Feeds every input and parameter, runs, and returns every output.
    func run(_ feeds: [String: HostTensor]) throws -> [String: HostTensor]
    /// Writes an input or parameter; it keeps its value until written again.
    func set(_ name: String, _ value: HostTensor) throws
    /// Writes an input from values in the element type the step reads.
    func feed(_ name: String, _ value: FeedValue) throws
    /// Runs one call on the values written so far.
    func execute() throws
    /// An output, input or parameter after the last call.
    func value(_ name: String) throws -> HostTensor
    /// The first element of a scalar output.
    func scalar(_ name: String) throws -> Double
    /// The first of `outputs` that holds a NaN or an infinity, if any.
    func firstNonFinite(among outputs: [String]) throws -> String?
    /// Copies each update's output over its parameter (the in-place optimiser step).
    func apply(_ updates: [StepSignature.Update]) throws
}

/// Runs graphs on the reference interpreter.
public final class InterpretedProgram: Executable {
    /// The graph.
    public let graph: Graph
    private let interpreter: Interpreter
    /// Inputs and parameters written so far.
    private var feeds: [String: HostTensor] = [:]
    /// Outputs of the last `execute`.
    private var outputs: [String: HostTensor] = [:]
    private let feedTypes: [String: TensorType]

    /// Prepares `graph` (simplified by the standard pipeline); throws when evaluating it
    /// would hold more than `memoryLimit` (`nil`: the default from `MemoryLimit.resolve()`).
    public init(graph: Graph, precision: Interpreter.Precision = .native, memoryLimit: MemoryLimit? = nil) throws {
        let limit = try memoryLimit ?? MemoryLimit.resolve()
        // Checked on the graph as given too: simplification itself can fold huge constants.
        try Interpreter.checkMemory(graph, limit: limit)
        self.graph = try Pipeline.standard().run(graph)
        interpreter = Interpreter(precision: precision, memoryLimit: limit)
        var types: [String: TensorType] = [:]
        for (n, i) in self.graph.inputs + self.graph.parameters { types[n] = self.graph.nodes[i].type }
        feedTypes = types
    }

    /// Evaluates the outputs.
    public func run(_ feeds: [String: HostTensor]) throws -> [String: HostTensor] {
        try interpreter.run(graph, feeds: feeds)
    }

    /// Writes an input or parameter.
    public func set(_ name: String, _ value: HostTensor) throws {
        guard let t = feedTypes[name] else { throw ProgramError.unknownName(name) }
        guard t.shape.count == value.shape.count else {
            throw ProgramError.wrongType(name: name, expected: t, got: value.type)
        }
        feeds[name] = HostTensor(t, value.data)
    }

    /// Writes an input.
    public func feed(_ name: String, _ value: FeedValue) throws { try set(name, value.hostTensor) }

    /// Evaluates every output on the values written.
    public func execute() throws { outputs = try interpreter.run(graph, feeds: feeds) }

    /// An output of the last call, or an input or parameter.
    public func value(_ name: String) throws -> HostTensor {
        guard let v = outputs[name] ?? feeds[name] else { throw ProgramError.unknownName(name) }
        return v
    }

    /// The first element of an output.
    public func scalar(_ name: String) throws -> Double {
        guard let v = outputs[name], let x = v.data.first else { throw ProgramError.unknownName(name) }
        return x
    }

    /// The first of `outputs` holding a NaN or an infinity.
    public func firstNonFinite(among names: [String]) throws -> String? {
        try names.first { try !value($0).data.allSatisfy(\.isFinite) }
    }

    /// Copies update outputs over their parameters.
    public func apply(_ updates: [StepSignature.Update]) throws {
        for u in updates { try set(u.parameter, try value(u.output)) }
    }
}
