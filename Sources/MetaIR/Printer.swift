/// Prints graphs in the text IR: one op per line with a typed binder.
///
/// ```
/// graph "mlp" {
///   %0: f32[25,1] = input "x"
///   %2: f32[25,40] = matmul %0, %1
///   %4: f32[25,1] = reduce_sum %3 axes=[1] keep_dims=true
///   output "loss" = %4
/// }
/// ```
/// `Parser.parse(Printer.print(g)) == g` for every well-formed graph.
public enum Printer {
    /// The whole graph as text, ending in a newline.
    public static func print(_ g: Graph) -> String {
        var out = "graph \(quote(g.name)) {\n"
        for i in g.nodes.indices {
            out += "  " + line(for: g.nodes[i], id: i) + "\n"
        }
        for o in g.outputs {
            out += "  output \(quote(o.name)) = %\(o.node)\n"
        }
        out += "}\n"
        return out
    }

    /// One node as `%i: type = op operands attributes`.
    public static func line(for n: Node, id: Int) -> String {
        var s = "%\(id): \(n.type) = \(n.op.mnemonic)"
        let operands = n.inputs.map { "%\($0)" }.joined(separator: ", ")
        if !operands.isEmpty { s += " " + operands }
        let attrs = attributes(of: n.op)
        if !attrs.isEmpty { s += " " + attrs }
        return s
    }

    static func attributes(of op: Op) -> String {
        func list(_ xs: [Int]) -> String { "[" + xs.map(String.init).joined(separator: ",") + "]" }
        switch op {
        case .input(let name), .parameter(let name): return quote(name)
        case .constant(let v): return formatNumber(v)
        case .iota(let axis), .argmax(let axis), .concat(let axis): return "axis=\(axis)"
        case .reduce(_, let axes, let keep): return "axes=\(list(axes)) keep_dims=\(keep)"
        case .conv2d(let s, let p), .conv2dInputGrad(let s, let p), .conv2dFilterGrad(let s, let p):
            return "stride=\(s) padding=\(p)"
        case .permute(let perm): return "perm=\(list(perm))"
        case .slice(let start, let end): return "start=\(list(start)) end=\(list(end))"
        case .pad(let low, let high): return "low=\(list(low)) high=\(list(high))"
        case .oneHot(let depth): return "depth=\(depth)"
        case .unary, .binary, .compare, .select, .matmul, .reshape, .broadcast, .cast, .stopGradient, .randomUniform,
             .gather, .scatterAdd:
            return ""
        }
    }

    /// Shortest text that parses back to the same `Double` (`inf`, `-inf`, `nan` included).
    public static func formatNumber(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v < 0 ? "-inf" : "inf" }
        return "\(v)"
    }

    /// A double-quoted string literal with `\"`, `\\` and `\n` escaped.
    public static func quote(_ s: String) -> String {
        var out = "\""
        for c in s {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out + "\""
    }
}
