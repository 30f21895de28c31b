/// One SSA value: an op applied to earlier nodes, with its static type.
public struct Node: Hashable, Sendable {
    /// The primitive.
    public var op: Op
    /// Operand node ids; always smaller than this node's id.
    public var inputs: [Int]
    /// Result type.
    public var type: TensorType

    /// Creates a node.
    public init(op: Op, inputs: [Int], type: TensorType) {
        self.op = op
        self.inputs = inputs
        self.type = type
    }
}

/// A named result of a graph.
public struct GraphOutput: Hashable, Sendable {
    /// Name the caller reads the result by.
    public var name: String
    /// Node that holds it.
    public var node: Int

    /// Creates an output.
    public init(name: String, node: Int) {
        self.name = name
        self.node = node
    }
}

/// A static computation graph in SSA form: nodes in topological order, named outputs.
///
/// Node `i` may only use nodes `< i`. Inputs and parameters are nodes too (`Op.input`,
/// `Op.parameter`), so a graph is self-describing.
public struct Graph: Hashable, Sendable {
    /// Graph name (e.g. `mlp`).
    public var name: String
    /// Nodes in topological order; a node's id is its index.
    public var nodes: [Node]
    /// Named results.
    public var outputs: [GraphOutput]

    /// Creates a graph.
    public init(name: String, nodes: [Node] = [], outputs: [GraphOutput] = []) {
        self.name = name
        self.nodes = nodes
        self.outputs = outputs
    }

    /// Appends a node and returns its id.
    @discardableResult
    public mutating func append(_ node: Node) -> Int {
        nodes.append(node)
        return nodes.count - 1
    }

    /// Ids of `input` nodes with their names, in node order.
    public var inputs: [(name: String, node: Int)] {
        nodes.indices.compactMap { i in
            if case .input(let n) = nodes[i].op { return (n, i) }
            return nil
        }
    }

    /// Ids of `param` nodes with their names, in node order.
    public var parameters: [(name: String, node: Int)] {
        nodes.indices.compactMap { i in
            if case .parameter(let n) = nodes[i].op { return (n, i) }
            return nil
        }
    }

    /// The node id of the output called `name`.
    public func output(named name: String) -> Int? {
        outputs.first { $0.name == name }?.node
    }

    /// Number of users of each node (outputs count as users).
    public func useCounts() -> [Int] {
        var uses = [Int](repeating: 0, count: nodes.count)
        for n in nodes { for i in n.inputs { uses[i] += 1 } }
        for o in outputs { uses[o.node] += 1 }
        return uses
    }
}
