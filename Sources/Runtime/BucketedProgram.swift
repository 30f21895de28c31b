import Interpreter
import MetaIR

/// Several compiled versions of one step that differ only in their input shapes (shape
/// buckets of padded episodes), behind one ``Executable``: the trainer and evaluator drive it
/// like a single program.
///
/// Inputs are held until `execute`, which runs the bucket whose inputs have the fed shapes.
/// Parameters live in the bucket that ran last; when the next call needs another bucket,
/// every parameter is copied across first, so all buckets see one set of weights.
public final class BucketedProgram: Executable {
    /// The buckets' programs, smallest first.
    public let programs: [Executable]
    private let parameterNames: [String]
    private var pending: [String: BucketInput] = [:]
    private var current = 0

    /// Wraps `programs`, which must have the same parameters and input names.
    /// - Throws: ``ProgramError`` `.unknownName` when their parameters or inputs differ.
    public init(_ programs: [Executable]) throws {
        guard let first = programs.first else { throw ProgramError.unknownName("(no bucket programs)") }
        let names = first.graph.parameters.map(\.name), inputs = Set(first.graph.inputs.map(\.name))
        for p in programs.dropFirst() {
            guard p.graph.parameters.map(\.name) == names, Set(p.graph.inputs.map(\.name)) == inputs else {
                throw ProgramError.unknownName("bucket \(p.graph.name) has other parameters or inputs than \(first.graph.name)")
            }
        }
        self.programs = programs
        self.parameterNames = names
    }

    /// The graph of the program that ran last (the first before any call).
    public var graph: Graph { programs[current].graph }

    /// Index of the bucket whose inputs have exactly the shapes fed, if any.
    func bucket(for shapes: [String: [Int]]) -> Int? {
        programs.firstIndex { p in
            p.graph.inputs.allSatisfy { input in
                guard let dims = shapes[input.name] else { return true }
                return p.graph.nodes[input.node].type.shape.dims == dims
            }
        }
    }

    /// Feeds everything to the matching bucket and runs it.
    public func run(_ feeds: [String: HostTensor]) throws -> [String: HostTensor] {
        guard let i = bucket(for: feeds.mapValues(\.shape.dims)) else {
            throw ProgramError.unknownName("no bucket takes inputs of these shapes")
        }
        return try programs[i].run(feeds)
    }

    /// Writes a parameter (to the current bucket) or holds an input until `execute`.
    public func set(_ name: String, _ value: HostTensor) throws {
        if parameterNames.contains(name) { return try programs[current].set(name, value) }
        pending[name] = .host(value)
    }

    /// Holds an input until `execute`.
    public func feed(_ name: String, _ value: FeedValue) throws { pending[name] = .feed(value) }

    /// Runs the bucket the held inputs fit, moving the parameters there first if needed.
    public func execute() throws {
        guard let i = bucket(for: pending.mapValues(\.dims)) else {
            let shapes = pending.map { "\($0.key) \($0.value.dims)" }.sorted().joined(separator: ", ")
            throw ProgramError.unknownName("no shape bucket takes inputs \(shapes)")
        }
        if i != current {
            for n in parameterNames { try programs[i].set(n, try programs[current].value(n)) }
            current = i
        }
        for (n, v) in pending {
            switch v {
            case .feed(let f): try programs[i].feed(n, f)
            case .host(let h): try programs[i].set(n, h)
            }
        }
        try programs[i].execute()
    }

    /// A value of the bucket that ran last.
    public func value(_ name: String) throws -> HostTensor { try programs[current].value(name) }

    /// A scalar output of the bucket that ran last.
    public func scalar(_ name: String) throws -> Double { try programs[current].scalar(name) }

    /// The first non-finite output of the bucket that ran last.
    public func firstNonFinite(among outputs: [String]) throws -> String? {
        try programs[current].firstNonFinite(among: outputs)
    }

    /// Applies the updates in the bucket that ran last.
    public func apply(_ updates: [StepSignature.Update]) throws { try programs[current].apply(updates) }
}

/// An input held by ``BucketedProgram`` until it runs.
enum BucketInput {
    case feed(FeedValue)
    case host(HostTensor)

    var dims: [Int] {
        switch self {
        case .feed(.f32(_, let s)), .feed(.i32(_, let s)): return s
        case .host(let h): return h.shape.dims
        }
    }
}
