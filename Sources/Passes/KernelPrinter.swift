import MetaIR

extension Expr: CustomStringConvertible {
    /// Compact text: `relu(add(%0[10,40 strides 40,1], %1[10,40 strides 0,1]))`.
    public var description: String {
        switch self {
        case .load(let o, let v, _):
            let contiguous = v.isContiguous && v.offset == 0
            return contiguous ? "%\(o)" : "%\(o)<\(v)>"
        case .constant(let c, let d): return "\(c):\(d.rawValue)"
        case .iota(let a, let d): return "iota\(a):\(d.rawValue)"
        case .accumulator: return "acc"
        case .unary(let u, let a, _): return "\(u.rawValue)(\(a))"
        case .binary(let o, let a, let b, _): return "\(o.rawValue)(\(a), \(b))"
        case .compare(let c, let a, let b, _): return "\(c.rawValue)(\(a), \(b))"
        case .select(let c, let a, let b, _): return "select(\(c), \(a), \(b))"
        case .cast(let a, _, let t): return "cast<\(t.rawValue)>(\(a))"
        case .randomUniform(let a, let b, _): return "random_uniform(\(a), \(b))"
        }
    }
}

/// Text form of a fused kernel program (`metajit dump --stage fused`).
public enum KernelPrinter {
    /// One line per buffer role summary, then one block per kernel.
    public static func print(_ p: KernelProgram, plan: MemoryPlan? = nil) -> String {
        var out = "// \(p.name): \(p.kernels.count) kernels, \(p.buffers.count) buffers"
        if let plan { out += ", arena \(plan.arenaBytes) bytes (\(plan.unplannedBytes) without reuse)" }
        out += "\n"
        for (i, b) in p.buffers.enumerated() {
            switch b.role {
            case .input(let n): out += "b\(i): \(b.dtype.rawValue)[\(b.count)] input \"\(n)\"\n"
            case .parameter(let n): out += "b\(i): \(b.dtype.rawValue)[\(b.count)] param \"\(n)\"\n"
            case .intermediate: break
            }
        }
        for (i, k) in p.kernels.enumerated() {
            let operands = k.operands.map { "b\($0)" }.joined(separator: ", ")
            var line = "k\(i): b\(k.output): \(p.buffers[k.output].dtype.rawValue)[\(p.buffers[k.output].count)]"
            if let plan, let off = plan.offsets[k.output] { line += " @\(off)" }
            line += " = "
            switch k.body {
            case .elementwise(let e, let shape): line += "elementwise \(shape) \(e)"
            case .reduce(let r, let e, let s, let axes): line += "reduce_\(r.rawValue) \(s) axes=\(axes) \(e)"
            case .argmax(let e, let s, let a): line += "argmax \(s) axis=\(a) \(e)"
            case .matmul(let s, let e):
                line += "matmul \(s.batch)x[\(s.m)x\(s.k)]·[\(s.k)x\(s.n)] batch_strides=\(s.aBatchStride),\(s.bBatchStride)"
                if s.transposeA { line += " transpose_a" }
                if s.transposeB { line += " transpose_b" }
                if !k.operandOffsets.allSatisfy({ $0 == 0 }) { line += " offsets=\(k.operandOffsets)" }
                if let e { line += " epilogue \(e)" }
            case .convolution(let kind, let s, let e):
                line += kind.opName
                line += " x=[\(s.n),\(s.c),\(s.h),\(s.w)] w=[\(s.o),\(s.c),\(s.kh),\(s.kw)] stride=\(s.stride) padding=\(s.padding)"
                if !k.operandOffsets.allSatisfy({ $0 == 0 }) { line += " offsets=\(k.operandOffsets)" }
                if let e { line += " epilogue \(e)" }
            case .rowIndexed(let kind, let s):
                line += "\(kind == .gather ? "gather" : "scatter_add") positions=\(s.positions) rows=\(s.rows) width=\(s.width)"
                if !k.operandOffsets.allSatisfy({ $0 == 0 }) { line += " offsets=\(k.operandOffsets)" }
            }
            out += line + " ; operands (\(operands)) nodes \(k.nodes.map { "%\($0)" }.joined(separator: ","))\n"
        }
        for o in p.outputs { out += "output \"\(o.name)\" = b\(o.buffer): \(o.type)\n" }
        return out
    }
}
