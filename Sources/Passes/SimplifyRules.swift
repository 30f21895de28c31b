import MetaIR

/// What to do with one node.
enum Rewrite {
    /// Keep as is (after CSE).
    case keep
    /// Use an existing node instead.
    case replace(Int)
    /// A splat constant of the node's type.
    case constant(Double)
    /// A different node of the same type.
    case node(Node)
}

/// The local rewrite rules. Each preserves the node's type and its value (the interpreter's
/// semantics) except that `x·0 → 0` assumes finite `x`, as XLA and most compilers do.
enum Rules {
    static func simplify(_ n: Node, in g: Graph) -> Rewrite {
        func splat(_ id: Int) -> Double? {
            if case .constant(let v) = g.nodes[id].op { return v }
            return nil
        }
        let t = n.type
        let ins = n.inputs
        // Constant folding of elementwise ops on splats, and shape ops on splats.
        if !ins.isEmpty, ins.allSatisfy({ splat($0) != nil }), let v = fold(n, ins.compactMap(splat), g) {
            return .constant(v)  // not rounded: f64 evaluation of the graph must not change
        }
        switch n.op {
        case .binary(let op):
            let (a, b) = (ins[0], ins[1])
            switch op {
            case .add:
                if splat(b) == 0 { return .replace(a) }
                if splat(a) == 0 { return .replace(b) }
            case .sub:
                if splat(b) == 0 { return .replace(a) }
                if splat(a) == 0, t.dtype.isFloat { return .node(Node(op: .unary(.neg), inputs: [b], type: t)) }
                if a == b, t.dtype.isFloat { return .constant(0) }
            case .mul:
                if splat(b) == 1 { return .replace(a) }
                if splat(a) == 1 { return .replace(b) }
                if splat(a) == 0 || splat(b) == 0 { return .constant(0) }
                if splat(b) == -1, t.dtype.isFloat { return .node(Node(op: .unary(.neg), inputs: [a], type: t)) }
                if splat(a) == -1, t.dtype.isFloat { return .node(Node(op: .unary(.neg), inputs: [b], type: t)) }
            case .div:
                if splat(b) == 1 { return .replace(a) }
                if splat(a) == 0, t.dtype.isFloat, let d = splat(b), d != 0 { return .constant(0) }
            case .max, .min:
                if a == b { return .replace(a) }
            }
        case .unary(.neg):
            if case .unary(.neg) = g.nodes[ins[0]].op { return .replace(g.nodes[ins[0]].inputs[0]) }
        case .select:
            if ins[1] == ins[2] { return .replace(ins[1]) }
            if let c = splat(ins[0]) { return .replace(c != 0 ? ins[1] : ins[2]) }
        case .reshape:
            if g.nodes[ins[0]].type == t { return .replace(ins[0]) }
            if case .reshape = g.nodes[ins[0]].op {
                return .node(Node(op: .reshape, inputs: g.nodes[ins[0]].inputs, type: t))
            }
        case .broadcast, .cast, .stopGradient:
            if g.nodes[ins[0]].type == t, n.op != .stopGradient { return .replace(ins[0]) }
            if n.op == .stopGradient, case .stopGradient = g.nodes[ins[0]].op { return .replace(ins[0]) }
        case .permute(let perm):
            if perm == Array(0..<perm.count) { return .replace(ins[0]) }
            if case .permute(let inner) = g.nodes[ins[0]].op {
                let composed = perm.map { inner[$0] }
                let src = g.nodes[ins[0]].inputs[0]
                if composed == Array(0..<composed.count) { return .replace(src) }
                return .node(Node(op: .permute(composed), inputs: [src], type: t))
            }
        case .slice(let start, let end):
            if start.allSatisfy({ $0 == 0 }), end == g.nodes[ins[0]].type.shape.dims { return .replace(ins[0]) }
        case .pad(let low, let high):
            if low.allSatisfy({ $0 == 0 }), high.allSatisfy({ $0 == 0 }) { return .replace(ins[0]) }
        case .gather:
            // Every row of a zero table, and the zero rows read out of range, are zero.
            if splat(ins[0]) == 0 { return .constant(0) }
        case .scatterAdd:
            if splat(ins[0]) == 0 { return .constant(0) }
        case .matmul, .conv2d, .conv2dInputGrad, .conv2dFilterGrad:
            // A zero operand makes these bilinear ops zero.
            if splat(ins[0]) == 0 || splat(ins[1]) == 0 { return .constant(0) }
        case .input, .parameter, .constant, .iota, .unary, .compare, .reduce, .argmax, .concat, .oneHot,
             .randomUniform:
            break  // no local rule beyond folding
        }
        return .keep
    }

    /// Value of a node all of whose operands are splat constants, when it is itself a splat.
    static func fold(_ n: Node, _ v: [Double], _ g: Graph) -> Double? {
        let isInt = n.type.dtype == .i32
        switch n.op {
        case .unary(let u): return ScalarSemantics.unary(u, v[0])
        case .binary(let b): return ScalarSemantics.binary(b, v[0], v[1], isInt: isInt)
        case .compare(let c): return ScalarSemantics.compare(c, v[0], v[1]) ? 1 : 0
        case .select: return v[0] != 0 ? v[1] : v[2]
        case .cast: return ScalarSemantics.cast(v[0], to: n.type.dtype)
        case .randomUniform: return ScalarSemantics.randomUniform(seed: v[0], counter: v[1])
        case .reshape, .broadcast, .permute, .slice, .stopGradient: return v[0]
        case .reduce(.max, _, _): return v[0]
        case .reduce(.sum, let axes, _):
            let count = axes.reduce(1) { $0 * g.nodes[n.inputs[0]].type.shape[$1] }
            return v[0] * Double(count)
        case .concat: return v.allSatisfy({ $0 == v[0] || ($0.isNaN && v[0].isNaN) }) ? v[0] : nil
        case .pad: return v[0] == 0 ? 0 : nil
        case .matmul:
            let a = g.nodes[n.inputs[0]].type.shape
            return v[0] * v[1] * Double(a[a.rank - 1])
        case .input, .parameter, .constant, .iota, .argmax, .conv2d, .conv2dInputGrad, .conv2dFilterGrad, .oneHot,
             .gather, .scatterAdd:
            return nil  // leaves, or results that are not splats
        }
    }
}
