/// Writes a graph as Graphviz DOT: one box per node (`%i op` and type), edges operand → user,
/// inputs and parameters as ellipses, outputs as double octagons.
public enum DotPrinter {
    /// The DOT text.
    public static func print(_ g: Graph) -> String {
        var out = "digraph \(Printer.quote(g.name)) {\n  rankdir=TB;\n  node [fontname=\"monospace\", fontsize=10];\n"
        for (i, n) in g.nodes.enumerated() {
            let attrs = Printer.attributes(of: n.op)
            let label = "%\(i) \(n.op.mnemonic)" + (attrs.isEmpty ? "" : " \(attrs)") + "\\n\(n.type)"
            let shape: String
            switch n.op {
            case .input, .parameter: shape = "ellipse"
            case .constant: shape = "plaintext"
            case .iota, .unary, .binary, .compare, .select, .reduce, .argmax, .matmul, .conv2d,
                 .conv2dInputGrad, .conv2dFilterGrad, .reshape, .permute, .broadcast, .slice, .pad, .concat,
                 .oneHot, .cast, .stopGradient, .randomUniform, .gather, .scatterAdd:
                shape = "box"
            }
            out += "  n\(i) [shape=\(shape), label=\(Printer.quote(label).replacingBackslashN())];\n"
        }
        for (i, n) in g.nodes.enumerated() {
            for operand in n.inputs { out += "  n\(operand) -> n\(i);\n" }
        }
        for (k, o) in g.outputs.enumerated() {
            out += "  out\(k) [shape=doubleoctagon, label=\(Printer.quote(o.name))];\n  n\(o.node) -> out\(k);\n"
        }
        return out + "}\n"
    }
}

extension String {
    /// `Printer.quote` escapes the backslash of `\n`; DOT wants it literal as a line break.
    fileprivate func replacingBackslashN() -> String {
        var s = ""
        var it = makeIterator()
        while let c = it.next() {
            if c == "\\" {
                if let d = it.next() {
                    if d == "\\" { s += "\\" } else { s.append(c); s.append(d) }
                }
            } else {
                s.append(c)
            }
        }
        return s
    }
}
