import MetaIR

/// Constant folding, algebraic identities, common-subexpression elimination and dead-code
/// elimination in one forward sweep plus a liveness sweep.
///
/// Gradient graphs are full of `x·1`, `x+0`, `select(m, 0, 0)`, reshapes of reshapes and
/// duplicated subexpressions (the same VJP rule applied twice in second order); this pass
/// keeps them small before they are shown or compiled. Inputs and parameters are always kept,
/// so the graph's interface does not change.
public struct Simplify: GraphPass {
    /// Creates the pass.
    public init() {}

    /// Pass name for `--dump-after`.
    public var name: String { "simplify" }

    /// Runs the pass to a fixed point.
    public func run(_ g: Graph) -> Graph {
        var current = g
        for _ in 0..<8 {
            let next = eliminateDeadCode(rewrite(current))
            if next == current { break }
            current = next
        }
        return current
    }

    /// One forward sweep of folding, identities and CSE.
    func rewrite(_ g: Graph) -> Graph {
        var out = Graph(name: g.name)
        var map = [Int](repeating: -1, count: g.nodes.count)
        var seen: [Node: Int] = [:]
        func add(_ n: Node) -> Int {
            if let id = seen[n] { return id }
            let id = out.append(n)
            seen[n] = id
            return id
        }
        for (i, old) in g.nodes.enumerated() {
            let node = Node(op: old.op, inputs: old.inputs.map { map[$0] }, type: old.type)
            switch Rules.simplify(node, in: out) {
            case .keep: map[i] = add(node)
            case .replace(let id): map[i] = id
            case .constant(let v): map[i] = add(Node(op: .constant(v), inputs: [], type: node.type))
            case .node(let n): map[i] = add(n)
            }
        }
        out.outputs = g.outputs.map { GraphOutput(name: $0.name, node: map[$0.node]) }
        return out
    }
}

/// Removes nodes no output depends on (inputs and parameters stay) and renumbers.
public func eliminateDeadCode(_ g: Graph) -> Graph {
    var live = [Bool](repeating: false, count: g.nodes.count)
    for o in g.outputs { live[o.node] = true }
    for i in stride(from: g.nodes.count - 1, through: 0, by: -1) {
        switch g.nodes[i].op {
        case .input, .parameter: live[i] = true
        case .constant, .iota, .unary, .binary, .compare, .select, .reduce, .argmax, .matmul, .conv2d,
             .conv2dInputGrad, .conv2dFilterGrad, .reshape, .permute, .broadcast, .slice, .pad, .concat,
             .oneHot, .cast, .stopGradient, .randomUniform, .gather, .scatterAdd:
            break  // live only when something live uses it
        }
        if live[i] { for j in g.nodes[i].inputs { live[j] = true } }
    }
    var out = Graph(name: g.name)
    var map = [Int](repeating: -1, count: g.nodes.count)
    for (i, n) in g.nodes.enumerated() where live[i] {
        map[i] = out.append(Node(op: n.op, inputs: n.inputs.map { map[$0] }, type: n.type))
    }
    out.outputs = g.outputs.map { GraphOutput(name: $0.name, node: map[$0.node]) }
    return out
}
