import MetaIR

/// Checks the invariants of a kernel program and of its memory plan, the way `Verifier`
/// checks a graph: the compiler runs it between fusion, memory planning and lowering (in
/// debug builds and tests always, and whenever `CompileOptions.verify` is set), so a
/// back-end bug is reported as a `PassError` naming the stage instead of corrupting memory.
public enum KernelVerifier {
    /// Verifies `p` as fusion leaves it.
    ///
    /// Every buffer id is in range; every kernel writes one intermediate buffer that no other
    /// kernel writes, of the size its body computes; it reads only inputs, parameters and
    /// buffers written by earlier kernels; every load names an operand of its kernel with the
    /// buffer's element type, through a view that stays inside that buffer; accumulators
    /// appear only in dense kernels' epilogues; outputs name written or fed buffers of their
    /// declared size.
    public static func verify(_ p: KernelProgram) throws {
        var written = [Bool](repeating: false, count: p.buffers.count)
        for (i, b) in p.buffers.enumerated() {
            switch b.role {
            case .input, .parameter: written[i] = true
            case .intermediate: break
            }
        }
        for (ki, k) in p.kernels.enumerated() {
            func fail(_ message: String) -> PassError { PassError(pass: "fusion", message: "kernel k\(ki): \(message)") }
            guard p.buffers.indices.contains(k.output) else { throw fail("output b\(k.output) does not exist") }
            guard p.buffers[k.output].role == .intermediate else { throw fail("writes b\(k.output), which is fed by the caller") }
            guard !written[k.output] else { throw fail("writes b\(k.output), which an earlier kernel wrote") }
            for b in k.operands {
                guard p.buffers.indices.contains(b) else { throw fail("operand b\(b) does not exist") }
                guard written[b] else { throw fail("reads b\(b) before any kernel writes it") }
            }
            let produced = try elementCount(of: k.body, fail)
            guard produced == p.buffers[k.output].count else {
                throw fail("computes \(produced) elements into b\(k.output) of \(p.buffers[k.output].count)")
            }
            try checkOperands(k, p, fail)
            written[k.output] = true
        }
        for o in p.outputs {
            guard p.buffers.indices.contains(o.buffer), written[o.buffer] else {
                throw PassError(pass: "fusion", message: "output \"\(o.name)\" names b\(o.buffer), which nothing writes")
            }
            guard p.buffers[o.buffer].count == o.type.shape.count else {
                throw PassError(pass: "fusion", message: "output \"\(o.name)\" is \(o.type) but b\(o.buffer) holds \(p.buffers[o.buffer].count) elements")
            }
        }
    }

    /// Verifies that `plan` places every intermediate buffer of `p` inside the arena, aligned,
    /// and that no two buffers that are live at the same time overlap.
    public static func verify(_ plan: MemoryPlan, for p: KernelProgram) throws {
        func fail(_ message: String) -> PassError { PassError(pass: "memory-plan", message: message) }
        guard plan.offsets.count == p.buffers.count else {
            throw fail("\(plan.offsets.count) offsets for \(p.buffers.count) buffers")
        }
        let live = MemoryPlan.liveRanges(p)
        var placed: [(buffer: Int, bytes: Range<Int>, live: ClosedRange<Int>)] = []
        for (b, info) in p.buffers.enumerated() {
            guard info.role == .intermediate, let range = live[b] else { continue }
            guard let offset = plan.offsets[b] else { throw fail("b\(b) is used but has no place in the arena") }
            let bytes = offset..<(offset + info.count * info.dtype.byteSize)
            guard offset >= 0, offset % MemoryPlan.alignment == 0, bytes.upperBound <= plan.arenaBytes else {
                throw fail("b\(b) at \(offset)..<\(bytes.upperBound) is outside the \(plan.arenaBytes)-byte arena or misaligned")
            }
            placed.append((b, bytes, range))
        }
        // Sweep by start of life; only buffers whose lives intersect can conflict.
        placed.sort { $0.live.lowerBound < $1.live.lowerBound }
        for (i, a) in placed.enumerated() {
            for c in placed[(i + 1)...] {
                if c.live.lowerBound > a.live.upperBound { break }
                if a.bytes.overlaps(c.bytes), !a.bytes.isEmpty, !c.bytes.isEmpty {
                    throw fail("b\(a.buffer) and b\(c.buffer) are live together (kernels \(a.live) and \(c.live)) but overlap in the arena")
                }
            }
        }
    }

    static func elementCount(of body: KernelBody, _ fail: (String) -> PassError) throws -> Int {
        switch body {
        case .elementwise(let e, let shape):
            try checkExpression(e, inDenseEpilogue: false, fail)
            return shape.reduce(1, *)
        case .reduce(_, let e, let inShape, let axes):
            try checkExpression(e, inDenseEpilogue: false, fail)
            guard axes.allSatisfy(inShape.indices.contains) else { throw fail("reduces axes \(axes) of shape \(inShape)") }
            return inShape.indices.filter { !axes.contains($0) }.map { inShape[$0] }.reduce(1, *)
        case .argmax(let e, let inShape, let axis):
            try checkExpression(e, inDenseEpilogue: false, fail)
            guard inShape.indices.contains(axis) else { throw fail("argmax over axis \(axis) of shape \(inShape)") }
            return inShape.indices.filter { $0 != axis }.map { inShape[$0] }.reduce(1, *)
        case .matmul(let s, let e):
            if let e { try checkExpression(e, inDenseEpilogue: true, fail) }
            return s.outputShape.reduce(1, *)
        case .convolution(let kind, let s, let e):
            if let e { try checkExpression(e, inDenseEpilogue: true, fail) }
            guard s.stride > 0, s.padding >= 0, s.outH > 0, s.outW > 0 else { throw fail("degenerate convolution \(s)") }
            return s.outputShape(kind).reduce(1, *)
        case .rowIndexed(let kind, let s):
            guard s.positions >= 0, s.rows >= 0, s.width >= 0 else { throw fail("negative extent in \(kind.rawValue) \(s)") }
            return s.outputCount(kind)
        }
    }

    static func checkExpression(_ e: Expr, inDenseEpilogue: Bool, _ fail: (String) -> PassError) throws {
        var problem: String?
        _ = e.mapLeaves { leaf in
            switch leaf {
            case .accumulator where !inDenseEpilogue: problem = "an accumulator outside a dense epilogue"
            case .load, .constant, .iota, .accumulator, .unary, .binary, .compare, .select, .cast, .randomUniform: break
            }
            return leaf
        }
        if let problem { throw fail(problem) }
    }

    static func checkOperands(_ k: Kernel, _ p: KernelProgram, _ fail: (String) -> PassError) throws {
        let expressions: [Expr]
        switch k.body {
        case .elementwise(let e, _), .reduce(_, let e, _, _), .argmax(let e, _, _): expressions = [e]
        case .matmul(_, let e), .convolution(_, _, let e):
            guard k.operands.count >= 2 else { throw fail("a dense kernel with \(k.operands.count) operands") }
            guard k.operandOffsets.isEmpty || k.operandOffsets.count == 2 else {
                throw fail("\(k.operandOffsets.count) operand offsets for a dense kernel")
            }
            expressions = e.map { [$0] } ?? []
        case .rowIndexed(let kind, let s):
            guard k.operands.count == 2, k.operandOffsets.isEmpty || k.operandOffsets.count == 2 else {
                throw fail("a \(kind.rawValue) kernel needs two operands")
            }
            let dataCount = kind == .gather ? s.rows * s.width : s.positions * s.width
            let offs = k.operandOffsets.count == 2 ? k.operandOffsets : [0, 0]
            guard p.buffers[k.operands[0]].count >= offs[0] + dataCount,
                  p.buffers[k.operands[1]].count >= offs[1] + s.positions, p.buffers[k.operands[1]].dtype == .i32 else {
                throw fail("\(kind.rawValue) operands b\(k.operands[0]), b\(k.operands[1]) are too small for \(s)")
            }
            expressions = []
        }
        var problem: String?
        for e in expressions {
            _ = e.mapLeaves { leaf in
                guard problem == nil, case .load(let o, let v, let d) = leaf else { return leaf }
                guard k.operands.indices.contains(o) else {
                    problem = "loads operand \(o) of \(k.operands.count)"
                    return leaf
                }
                let buffer = p.buffers[k.operands[o]]
                if buffer.dtype != d {
                    problem = "loads b\(k.operands[o]) (\(buffer.dtype)) as \(d)"
                } else if let reach = v.reach, reach.lowerBound < 0 || reach.upperBound >= buffer.count {
                    problem = "view \(v) of b\(k.operands[o]) reaches elements \(reach) of \(buffer.count)"
                }
                return leaf
            }
        }
        if let problem { throw fail(problem) }
    }
}

extension View {
    /// The lowest and highest buffer element the view reads (`nil` when it reads none).
    var reach: ClosedRange<Int>? {
        var lo = offset, hi = offset
        for d in shape.indices {
            let valid = mask?[d].clamped(to: 0..<shape[d]) ?? 0..<shape[d]
            if valid.isEmpty { return nil }
            let a = valid.lowerBound * strides[d], b = (valid.upperBound - 1) * strides[d]
            lo += min(a, b)
            hi += max(a, b)
        }
        return lo...hi
    }
}
