import MetaIR

/// Where in the user's graph code an op was written.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    /// `Module/File.swift`.
    public var file: String
    /// 1-based line.
    public var line: Int

    /// Creates a location.
    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    /// `File.swift:12`.
    public var description: String { "\(file):\(line)" }
}

/// A shape or type error raised while tracing a graph in the DSL.
public struct DSLError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The op (e.g. `matmul`, `add`).
    public var op: String
    /// Operand types.
    public var operands: [TensorType]
    /// What is wrong.
    public var message: String
    /// Where the op was written (call site of the DSL function, or of the innermost scope for operators).
    public var location: SourceLocation?
    /// Scope path (`block2/conv`), when the user opened scopes.
    public var scope: String

    /// `Graphs/Conv4.swift:42: matmul: inner dimensions differ (5 vs 4); operands f32[5,3], f32[4,2] [in head]`.
    public var description: String {
        var s = location.map { "\($0): " } ?? ""
        s += "\(op): \(message)"
        if !operands.isEmpty { s += "; operands " + operands.map(\.description).joined(separator: ", ") }
        if !scope.isEmpty { s += " [in \(scope)]" }
        return s
    }
}

/// Records ops into a `Graph` as DSL code runs (tracing).
///
/// Models are plain Swift functions of `Tensor`s; every op checks its shapes immediately and
/// throws a `DSLError` that names the op, the shapes and the call site.
public final class GraphBuilder {
    /// The graph traced so far.
    public private(set) var graph: Graph
    private var scopes: [(name: String, location: SourceLocation)] = []
    private var constants: [ConstantKey: Int] = [:]

    private struct ConstantKey: Hashable {
        var bits: UInt64
        var type: TensorType
    }

    /// Starts an empty graph.
    public init(name: String) { graph = Graph(name: name) }

    /// Declares a per-call input (data, labels).
    public func input(_ name: String, _ shape: Shape, dtype: DType = .f32,
                      file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        try leaf(.input(name: name), TensorType(dtype, shape), file: file, line: line)
    }

    /// Declares a named parameter.
    public func parameter(_ name: String, _ shape: Shape, dtype: DType = .f32,
                          file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        try leaf(.parameter(name: name), TensorType(dtype, shape), file: file, line: line)
    }

    private func leaf(_ op: Op, _ type: TensorType, file: StaticString, line: UInt) throws -> Tensor {
        let (name, dup): (String, Bool) = {
            switch op {
            case .input(let n): return (n, graph.inputs.contains { $0.name == n })
            case .parameter(let n): return (n, graph.parameters.contains { $0.name == n })
            case .constant, .iota, .unary, .binary, .compare, .select, .reduce, .argmax, .matmul, .conv2d,
                 .conv2dInputGrad, .conv2dFilterGrad, .reshape, .permute, .broadcast, .slice, .pad, .concat,
                 .oneHot, .cast, .stopGradient, .randomUniform, .gather, .scatterAdd:
                return ("", false)  // unnamed: cannot be declared twice
            }
        }()
        if dup {
            throw DSLError(op: op.mnemonic, operands: [], message: "\"\(name)\" is declared twice",
                           location: SourceLocation(file: "\(file)", line: Int(line)), scope: scopePath)
        }
        return try apply(op, [], declared: type, file: file, line: line)
    }

    /// A constant splat; identical constants are shared.
    public func constant(_ value: Double, _ shape: Shape = .scalar, dtype: DType = .f32) -> Tensor {
        let type = TensorType(dtype, shape)
        let key = ConstantKey(bits: value.bitPattern, type: type)
        if let id = constants[key] { return Tensor(id: id, builder: self) }
        let id = graph.append(Node(op: .constant(value), inputs: [], type: type))
        constants[key] = id
        return Tensor(id: id, builder: self)
    }

    /// Marks `t` as a graph output called `name`.
    public func output(_ name: String, _ t: Tensor) {
        graph.outputs.removeAll { $0.name == name }
        graph.outputs.append(GraphOutput(name: name, node: t.id))
    }

    /// Runs `body` inside a named scope; errors inside report the scope path.
    public func scope<T>(_ name: String, file: StaticString = #fileID, line: UInt = #line,
                         _ body: () throws -> T) rethrows -> T {
        scopes.append((name, SourceLocation(file: "\(file)", line: Int(line))))
        defer { scopes.removeLast() }
        return try body()
    }

    var scopePath: String { scopes.map(\.name).joined(separator: "/") }

    /// The finished, verified graph.
    public func finish() throws -> Graph {
        try Verifier.verify(graph)
        return graph
    }

    /// Appends `op` applied to `operands`, checking its type rule; the single entry for all ops.
    public func apply(_ op: Op, _ operands: [Tensor], declared: TensorType? = nil,
                      file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        let location = SourceLocation(file: "\(file)", line: Int(line))
        for t in operands where t.builder !== self {
            throw DSLError(op: op.mnemonic, operands: [], message: "operand belongs to another graph",
                           location: location, scope: scopePath)
        }
        let types = operands.map { graph.nodes[$0.id].type }
        let type: TensorType
        do {
            type = try op.resultType(operands: types, declared: declared)
        } catch let e as ShapeError {
            throw DSLError(op: e.op, operands: types, message: e.message, location: location, scope: scopePath)
        }
        // Checked here, once, so no later stage multiplies its way into an overflow trap.
        guard type.shape.checkedCount != nil else {
            throw DSLError(op: op.mnemonic, operands: types,
                           message: "\(operands.isEmpty ? "" : "result ")shape \(type.shape) has more elements than fit in a 64-bit count",
                           location: location, scope: scopePath)
        }
        let id = graph.append(Node(op: op, inputs: operands.map(\.id), type: type))
        return Tensor(id: id, builder: self)
    }

    /// The type of node `id`.
    public func type(of id: Int) -> TensorType { graph.nodes[id].type }

    /// A handle to an existing node (used by graph transformations such as `grad`).
    public func tensor(_ id: Int) -> Tensor { Tensor(id: id, builder: self) }

    /// Continues tracing on top of an existing graph (its nodes keep their ids).
    public init(extending g: Graph) {
        graph = g
        for (i, n) in g.nodes.enumerated() {
            if case .constant(let v) = n.op { constants[ConstantKey(bits: v.bitPattern, type: n.type)] = i }
        }
    }
}

/// A symbolic tensor: a handle to a node of the graph being traced.
public struct Tensor {
    /// Node id in the builder's graph.
    public let id: Int
    /// The builder that owns the node.
    public let builder: GraphBuilder

    /// Creates a handle.
    public init(id: Int, builder: GraphBuilder) {
        self.id = id
        self.builder = builder
    }

    /// Element type and shape.
    public var type: TensorType { builder.type(of: id) }
    /// Shape.
    public var shape: Shape { type.shape }
    /// Element type.
    public var dtype: DType { type.dtype }
    /// Rank.
    public var rank: Int { shape.rank }
}
