/// Parses the text IR printed by `Printer` (and hand-written IR in the same form).
///
/// Value numbers in the text may be any unique non-negative integers; they are renumbered to
/// node ids in order of definition. Every error carries the line and column.
public enum Parser {
    /// Parses one graph.
    public static func parse(_ text: String) throws -> Graph {
        var lexer = Lexer(text)
        var p = try ParserState(tokens: lexer.tokenize())
        return try p.parseGraph()
    }
}

/// An attribute value: `3`, `[1,2]`, `true`.
private enum AttrValue {
    case int(Int)
    case list([Int])
    case bool(Bool)
}

private struct ParserState {
    var toks: [Located]
    var k = 0

    init(tokens: [Located]) { toks = tokens }

    var cur: Located { toks[k] }

    func error(_ msg: String, at t: Located? = nil) -> ParseError {
        let t = t ?? cur
        return ParseError(line: t.line, column: t.column, message: msg)
    }

    mutating func next() -> Located {
        let t = toks[k]
        if k < toks.count - 1 { k += 1 }
        return t
    }

    mutating func expectPunct(_ c: Character, _ context: String) throws {
        guard cur.token == .punct(c) else { throw error("expected '\(c)' \(context), found \(cur.token.text)") }
        _ = next()
    }

    mutating func skipNewlines() {
        while cur.token == .newline { _ = next() }
    }

    mutating func expectEndOfLine() throws {
        guard cur.token == .newline || cur.token == .end else {
            throw error("expected end of line, found \(cur.token.text)")
        }
    }

    mutating func parseInt(_ context: String) throws -> Int {
        guard case .number(let s) = cur.token, let v = Int(s) else {
            throw error("expected an integer \(context), found \(cur.token.text)")
        }
        _ = next()
        return v
    }

    mutating func parseGraph() throws -> Graph {
        skipNewlines()
        guard cur.token == .ident("graph") else { throw error("expected 'graph', found \(cur.token.text)") }
        _ = next()
        guard case .string(let name) = cur.token else {
            throw error("expected the graph name as a string, found \(cur.token.text)")
        }
        _ = next()
        try expectPunct("{", "after the graph name")
        var g = Graph(name: name)
        var ids: [Int: Int] = [:]
        while true {
            skipNewlines()
            let t = cur
            switch t.token {
            case .punct("}"):
                _ = next()
                skipNewlines()
                guard cur.token == .end else { throw error("unexpected \(cur.token.text) after the closing '}'") }
                return g
            case .value(let v):
                _ = next()
                guard ids[v] == nil else { throw error("value %\(v) is defined twice", at: t) }
                let node = try parseNode(ids: ids, graph: g)
                ids[v] = g.append(node)
            case .ident("output"):
                _ = next()
                guard case .string(let oname) = cur.token else {
                    throw error("expected the output name as a string, found \(cur.token.text)")
                }
                _ = next()
                try expectPunct("=", "after the output name")
                let ref = cur
                guard case .value(let v) = ref.token else { throw error("expected a value like %3, found \(ref.token.text)") }
                _ = next()
                guard let id = ids[v] else { throw error("output refers to undefined value %\(v)", at: ref) }
                guard !g.outputs.contains(where: { $0.name == oname }) else {
                    throw error("duplicate output name \"\(oname)\"", at: t)
                }
                g.outputs.append(GraphOutput(name: oname, node: id))
                try expectEndOfLine()
            case .end:
                throw error("expected '}' to close the graph, found end of input")
            default:
                throw error("expected a node ('%N: type = op ...'), 'output' or '}', found \(t.token.text)")
            }
        }
    }

    mutating func parseType() throws -> TensorType {
        let t = cur
        guard case .ident(let dt) = t.token else { throw error("expected a type like f32[2,3], found \(t.token.text)") }
        guard let dtype = DType(rawValue: dt) else {
            throw error("unknown element type '\(dt)' (expected f32, f64, i32 or bool)", at: t)
        }
        _ = next()
        let dims = try parseIntList("in the shape")
        guard dims.allSatisfy({ $0 >= 0 }) else { throw error("negative dimension in shape", at: t) }
        let shape = Shape(dims)
        guard shape.checkedCount != nil else {
            throw error("shape \(shape) has more elements than fit in a 64-bit count", at: t)
        }
        return TensorType(dtype, shape)
    }

    mutating func parseIntList(_ context: String) throws -> [Int] {
        try expectPunct("[", context)
        var xs: [Int] = []
        if cur.token == .punct("]") { _ = next(); return xs }
        while true {
            xs.append(try parseInt(context))
            if cur.token == .punct("]") { _ = next(); return xs }
            try expectPunct(",", "or ']' \(context)")
        }
    }

    mutating func parseNode(ids: [Int: Int], graph: Graph) throws -> Node {
        try expectPunct(":", "after the value number")
        let declared = try parseType()
        try expectPunct("=", "after the type")
        let opTok = cur
        guard case .ident(let mnemonic) = opTok.token else { throw error("expected an op name, found \(opTok.token.text)") }
        _ = next()
        // Operands.
        var inputs: [Int] = []
        if case .value = cur.token {
            while true {
                let r = cur
                guard case .value(let v) = r.token else { throw error("expected a value like %3, found \(r.token.text)") }
                _ = next()
                guard let id = ids[v] else { throw error("use of undefined value %\(v)", at: r) }
                inputs.append(id)
                guard cur.token == .punct(",") else { break }
                _ = next()
            }
        }
        // Leading literal (name or constant value), then key=value attributes.
        var literalString: String?
        var literalNumber: Double?
        var attrs: [String: (AttrValue, Located)] = [:]
        if case .string(let s) = cur.token { literalString = s; _ = next() }
        else if case .number(let s) = cur.token {
            guard let v = parseDouble(s) else { throw error("malformed number '\(s)'") }
            literalNumber = v
            _ = next()
        } else if case .ident(let s) = cur.token, s == "inf" || s == "nan" {
            literalNumber = s == "inf" ? .infinity : .nan
            _ = next()
        }
        while case .ident(let key) = cur.token {
            let kt = next()
            guard attrs[key] == nil else { throw error("attribute '\(key)' given twice", at: kt) }
            try expectPunct("=", "after attribute '\(key)'")
            let vt = cur
            switch vt.token {
            case .punct("["): attrs[key] = (.list(try parseIntList("in attribute '\(key)'")), kt)
            case .ident("true"): _ = next(); attrs[key] = (.bool(true), kt)
            case .ident("false"): _ = next(); attrs[key] = (.bool(false), kt)
            case .number: attrs[key] = (.int(try parseInt("for attribute '\(key)'")), kt)
            default: throw error("expected a value for attribute '\(key)', found \(vt.token.text)")
            }
        }
        try expectEndOfLine()
        var reader = AttributeReader(attrs: attrs, opTok: opTok, mnemonic: mnemonic)
        let op = try reader.makeOp(string: literalString, number: literalNumber)
        try reader.rejectUnused()
        if let arity = op.arity, arity != inputs.count {
            throw error("'\(mnemonic)' takes \(arity) operand(s), found \(inputs.count)", at: opTok)
        }
        do {
            _ = try op.resultType(operands: inputs.map { graph.nodes[$0].type }, declared: declared)
        } catch let e as ShapeError {
            throw error(e.description, at: opTok)
        }
        return Node(op: op, inputs: inputs, type: declared)
    }
}

private func parseDouble(_ s: String) -> Double? {
    if s == "-inf" { return -.infinity }
    if s == "+inf" { return .infinity }
    return Double(s)
}

/// Turns a mnemonic and its attributes into an `Op`, complaining about missing or extra ones.
private struct AttributeReader {
    var attrs: [String: (AttrValue, Located)]
    let opTok: Located
    let mnemonic: String
    var used: Set<String> = []

    init(attrs: [String: (AttrValue, Located)], opTok: Located, mnemonic: String) {
        self.attrs = attrs
        self.opTok = opTok
        self.mnemonic = mnemonic
    }

    func fail(_ msg: String, at t: Located? = nil) -> ParseError {
        let t = t ?? opTok
        return ParseError(line: t.line, column: t.column, message: msg)
    }

    mutating func int(_ key: String) throws -> Int {
        used.insert(key)
        guard let (v, t) = attrs[key] else { throw fail("'\(mnemonic)' needs attribute '\(key)=<integer>'") }
        guard case .int(let x) = v else { throw fail("attribute '\(key)' must be an integer", at: t) }
        return x
    }

    mutating func list(_ key: String) throws -> [Int] {
        used.insert(key)
        guard let (v, t) = attrs[key] else { throw fail("'\(mnemonic)' needs attribute '\(key)=[...]'") }
        guard case .list(let x) = v else { throw fail("attribute '\(key)' must be a list like [0,1]", at: t) }
        return x
    }

    mutating func bool(_ key: String) throws -> Bool {
        used.insert(key)
        guard let (v, t) = attrs[key] else { throw fail("'\(mnemonic)' needs attribute '\(key)=true|false'") }
        guard case .bool(let x) = v else { throw fail("attribute '\(key)' must be true or false", at: t) }
        return x
    }

    func rejectUnused() throws {
        for (key, (_, t)) in attrs where !used.contains(key) {
            throw fail("'\(mnemonic)' has no attribute '\(key)'", at: t)
        }
    }

    mutating func makeOp(string: String?, number: Double?) throws -> Op {
        let wantsString = mnemonic == "input" || mnemonic == "param"
        if string != nil, !wantsString { throw fail("'\(mnemonic)' takes no string literal") }
        if number != nil, mnemonic != "constant" { throw fail("'\(mnemonic)' takes no number literal") }
        if let u = UnaryOp(rawValue: mnemonic) { return .unary(u) }
        if let b = BinaryOp(rawValue: mnemonic) { return .binary(b) }
        if let c = CompareOp(rawValue: mnemonic) { return .compare(c) }
        switch mnemonic {
        case "input", "param":
            guard let string else { throw fail("'\(mnemonic)' needs a name string, e.g. \(mnemonic) \"x\"") }
            return mnemonic == "input" ? .input(name: string) : .parameter(name: string)
        case "constant":
            guard let number else { throw fail("'constant' needs a number, e.g. constant 0.5") }
            return .constant(number)
        case "iota": return .iota(axis: try int("axis"))
        case "select": return .select
        case "reduce_sum", "reduce_max":
            let kind: ReduceOp = mnemonic == "reduce_sum" ? .sum : .max
            return .reduce(kind, axes: try list("axes"), keepDims: try bool("keep_dims"))
        case "argmax": return .argmax(axis: try int("axis"))
        case "matmul": return .matmul
        case "conv2d": return .conv2d(stride: try int("stride"), padding: try int("padding"))
        case "conv2d_input_grad": return .conv2dInputGrad(stride: try int("stride"), padding: try int("padding"))
        case "conv2d_filter_grad": return .conv2dFilterGrad(stride: try int("stride"), padding: try int("padding"))
        case "reshape": return .reshape
        case "permute": return .permute(try list("perm"))
        case "broadcast": return .broadcast
        case "slice": return .slice(start: try list("start"), end: try list("end"))
        case "pad": return .pad(low: try list("low"), high: try list("high"))
        case "concat": return .concat(axis: try int("axis"))
        case "one_hot": return .oneHot(depth: try int("depth"))
        case "cast": return .cast
        case "stop_gradient": return .stopGradient
        case "random_uniform": return .randomUniform
        case "gather": return .gather
        case "scatter_add": return .scatterAdd
        default: throw fail("unknown op '\(mnemonic)'")
        }
    }
}
