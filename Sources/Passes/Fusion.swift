import MetaIR

/// Groups a graph's nodes into kernels: elementwise chains, broadcasts and movement ops fuse
/// into single loop kernels (movement becomes views of the leaves), elementwise prologues fuse
/// into reductions, and elementwise epilogues (bias, ReLU, scale/shift) into the matmul or
/// convolution that feeds them.
///
/// A node's value stays an inlined expression until a consumer needs a buffer: a dense op's
/// operand, a graph output, a value reused by several consumers whose recompute would cost
/// more than one operation, or an expression about to be broadcast (which would multiply its
/// cost). With `fuse` off (`-O0`) every op is its own kernel.
public struct Fusion {
    /// Whether to fuse at all.
    public var fuse: Bool
    /// Largest expression inlined into one kernel before it is materialised.
    public var maxExpressionSize = 64

    /// Creates the pass.
    public init(fuse: Bool = true) { self.fuse = fuse }

    /// Fuses `g` (which must verify) into a kernel program.
    public func run(_ g: Graph) -> KernelProgram {
        var s = FusionState(graph: g, options: self)
        s.build()
        var program = KernelProgram(name: g.name, buffers: s.buffers, kernels: s.kernels, outputs: s.outputs)
        if fuse { EpilogueFusion.run(&program) }
        return program
    }
}

struct FusionState {
    let graph: Graph
    let options: Fusion
    let uses: [Int]
    var buffers: [BufferInfo] = []
    var kernels: [Kernel] = []
    var outputs: [(name: String, buffer: Int, type: TensorType)] = []
    /// Each node's value as an expression over its own shape (leaves name global buffer ids).
    var exprs: [Expr] = []
    /// Nodes whose value is in a buffer of their own (or an alias of one).
    var bufferOf: [Int: Int] = [:]

    init(graph: Graph, options: Fusion) {
        self.graph = graph
        self.options = options
        uses = graph.useCounts()
    }

    mutating func newBuffer(_ t: TensorType, _ role: BufferRole) -> Int {
        buffers.append(BufferInfo(dtype: t.dtype, count: t.shape.count, role: role))
        return buffers.count - 1
    }

    mutating func build() {
        for (i, n) in graph.nodes.enumerated() {
            exprs.append(expression(for: i, n))
            if shouldMaterialize(i, n) { _ = materialize(i) }
        }
        for o in graph.outputs {
            let b = materialize(o.node)
            outputs.append((o.name, b, graph.nodes[o.node].type))
        }
    }

    func shouldMaterialize(_ i: Int, _ n: Node) -> Bool {
        switch n.op {
        case .input, .parameter, .constant, .iota: return false
        case .unary, .binary, .compare, .select, .reduce, .argmax, .matmul, .conv2d, .conv2dInputGrad,
             .conv2dFilterGrad, .reshape, .permute, .broadcast, .slice, .pad, .concat, .oneHot, .cast,
             .stopGradient, .randomUniform, .gather, .scatterAdd:
            break
        }
        if !options.fuse { return true }
        let e = exprs[i]
        if e.size > options.maxExpressionSize { return true }
        return uses[i] >= 2 && e.cost > 1
    }

    /// The node's value in a whole buffer, computing it with an elementwise kernel if needed.
    mutating func materialize(_ i: Int) -> Int {
        if let b = bufferOf[i] { return b }
        let t = graph.nodes[i].type
        if case .load(let b, let v, _) = exprs[i], v.isContiguous, v.offset == 0, buffers[b].count == v.count {
            bufferOf[i] = b
            return b
        }
        let b = emitElementwise(exprs[i], type: t, nodes: [i])
        bufferOf[i] = b
        exprs[i] = .load(operand: b, view: .contiguous(t.shape.dims), dtype: t.dtype)
        return b
    }

    mutating func emitElementwise(_ e: Expr, type t: TensorType, nodes: [Int]) -> Int {
        let out = newBuffer(t, .intermediate)
        let (local, operands) = Self.localize(e)
        kernels.append(Kernel(body: .elementwise(local, shape: t.shape.dims), operands: operands, output: out, nodes: nodes))
        return out
    }

    /// Renumbers an expression's buffer ids to kernel-local operand indices.
    static func localize(_ e: Expr, first: [Int] = []) -> (Expr, [Int]) {
        var operands = first
        let local = e.mapLeaves { leaf in
            guard case .load(let b, let v, let d) = leaf else { return leaf }
            if let k = operands.firstIndex(of: b) { return .load(operand: k, view: v, dtype: d) }
            operands.append(b)
            return .load(operand: operands.count - 1, view: v, dtype: d)
        }
        return (local ?? e, operands)
    }

    /// The operand as an expression that may be re-indexed; when `transform` fails on the
    /// inlined form, the operand is materialised and the transform applied to its buffer.
    mutating func moved(_ input: Int, amplifies: Bool, _ transform: (View) -> View?) -> Expr {
        if amplifies, exprs[input].cost > 1 { _ = materialize(input) }
        if let e = exprs[input].mapLeaves({ leaf in
            switch leaf {
            case .load(let b, let v, let d): return transform(v).map { .load(operand: b, view: $0, dtype: d) }
            case .constant: return leaf
            case .iota, .accumulator: return nil  // they do not move
            case .unary, .binary, .compare, .select, .cast, .randomUniform: return nil  // not leaves: never passed here
            }
        }) { return e }
        let b = materialize(input)
        let t = graph.nodes[input].type
        let v = transform(.contiguous(t.shape.dims))
        return .load(operand: b, view: v ?? .contiguous(t.shape.dims), dtype: t.dtype)
    }

    mutating func expression(for i: Int, _ n: Node) -> Expr {
        let t = n.type, d = t.dtype
        let x = n.inputs.map { exprs[$0] }
        switch n.op {
        case .input(let name):
            let b = newBuffer(t, .input(name))
            bufferOf[i] = b
            return .load(operand: b, view: .contiguous(t.shape.dims), dtype: d)
        case .parameter(let name):
            let b = newBuffer(t, .parameter(name))
            bufferOf[i] = b
            return .load(operand: b, view: .contiguous(t.shape.dims), dtype: d)
        case .constant(let c): return .constant(c, d)
        case .iota(let axis): return .iota(axis: axis, d)
        case .unary(let u): return .unary(u, x[0], d)
        case .binary(let o): return .binary(o, x[0], x[1], d)
        case .compare(let c): return .compare(c, x[0], x[1], operandType: graph.nodes[n.inputs[0]].type.dtype)
        case .select: return .select(x[0], x[1], x[2], d)
        case .cast: return .cast(x[0], from: graph.nodes[n.inputs[0]].type.dtype, to: d)
        case .stopGradient: return x[0]
        case .randomUniform: return .randomUniform(x[0], x[1], d)
        case .reshape:
            return moved(n.inputs[0], amplifies: false) { $0.reshaped(t.shape.dims) }
        case .permute(let perm):
            return moved(n.inputs[0], amplifies: false) { $0.permuted(perm) }
        case .broadcast:
            let grows = t.shape.count > graph.nodes[n.inputs[0]].type.shape.count
            return moved(n.inputs[0], amplifies: grows) { $0.broadcast(to: t.shape.dims) }
        case .slice(let start, let end):
            return moved(n.inputs[0], amplifies: false) { $0.sliced(start: start, end: end) }
        case .pad(let low, let high):
            // Padding must zero the whole value, so only loads (whose masks do that) move.
            if case .load = x[0] {} else { _ = materialize(n.inputs[0]) }
            return moved(n.inputs[0], amplifies: false) { $0.padded(low: low, high: high) }
        case .concat(let axis):
            // concat(a, b, …) = pad(a) + pad(b) + …: each part masked to its own range.
            var total: Expr? = nil
            var before = 0
            for p in n.inputs {
                let extent = graph.nodes[p].type.shape[axis]
                var low = [Int](repeating: 0, count: t.shape.rank), high = low
                low[axis] = before
                high[axis] = t.shape[axis] - before - extent
                if case .load = exprs[p] {} else { _ = materialize(p) }
                let part = moved(p, amplifies: false) { $0.padded(low: low, high: high) }
                total = total.map { .binary(.add, $0, part, d) } ?? part
                before += extent
            }
            return total ?? .constant(0, d)
        case .oneHot(let depth):
            let rank = t.shape.rank
            let idx = moved(n.inputs[0], amplifies: false) { $0.expandedTrailing(depth) }
            return .cast(.compare(.eq, idx, .iota(axis: rank - 1, .i32), operandType: .i32), from: .bool, to: d)
        case .reduce(let kind, let axes, _):
            let inShape = graph.nodes[n.inputs[0]].type.shape.dims
            return reduction(.reduce(kind, x[0], inputShape: inShape, axes: axes), t, i)
        case .argmax(let axis):
            let inShape = graph.nodes[n.inputs[0]].type.shape.dims
            return reduction(.argmax(x[0], inputShape: inShape, axis: axis), t, i)
        case .matmul:
            return matmul(i, n)
        case .conv2d(let s, let p): return convolution(i, n, .forward, stride: s, padding: p)
        case .conv2dInputGrad(let s, let p): return convolution(i, n, .inputGradient, stride: s, padding: p)
        case .conv2dFilterGrad(let s, let p): return convolution(i, n, .filterGradient, stride: s, padding: p)
        case .gather: return rowIndexed(i, n, .gather)
        case .scatterAdd: return rowIndexed(i, n, .scatterAdd)
        }
    }

    mutating func reduction(_ body: KernelBody, _ t: TensorType, _ i: Int) -> Expr {
        let out = newBuffer(t, .intermediate)
        var local = body
        var operands: [Int] = []
        switch body {
        case .reduce(let k, let e, let s, let a):
            let (l, ops) = Self.localize(e)
            local = .reduce(k, l, inputShape: s, axes: a)
            operands = ops
        case .argmax(let e, let s, let a):
            let (l, ops) = Self.localize(e)
            local = .argmax(l, inputShape: s, axis: a)
            operands = ops
        case .elementwise, .matmul, .convolution, .rowIndexed:
            break  // callers pass only reductions
        }
        kernels.append(Kernel(body: local, operands: operands, output: out, nodes: [i]))
        bufferOf[i] = out
        return .load(operand: out, view: .contiguous(t.shape.dims), dtype: t.dtype)
    }

    /// A contiguous buffer holding operand `i` (copying when its view is not one).
    mutating func contiguousOperand(_ i: Int) -> (buffer: Int, offset: Int) {
        if case .load(let b, let v, _) = exprs[i], v.isContiguous { return (b, v.offset) }
        return (materialize(i), 0)
    }

    mutating func matmul(_ i: Int, _ n: Node) -> Expr {
        let t = n.type
        let r = t.shape.rank
        let at = graph.nodes[n.inputs[0]].type.shape.dims, bt = graph.nodes[n.inputs[1]].type.shape.dims
        let m = at[r - 2], k = at[r - 1], nn = bt[r - 1]
        let batch = t.shape.dims[..<(r - 2)].reduce(1, *)
        var ops: [(buffer: Int, offset: Int, batchStride: Int, transposed: Bool)] = []
        for input in n.inputs {
            if let layout = Self.matmulLayout(exprs[input], rank: r) {
                ops.append(layout)
            } else {
                let b = materialize(input)
                let s = graph.nodes[input].type.shape.dims
                ops.append((b, 0, s[r - 2] * s[r - 1], false))
            }
        }
        let out = newBuffer(t, .intermediate)
        kernels.append(Kernel(
            body: .matmul(MatmulSpec(batch: batch, m: m, k: k, n: nn, aBatchStride: batch > 1 ? ops[0].batchStride : 0,
                                     bBatchStride: batch > 1 ? ops[1].batchStride : 0, transposeA: ops[0].transposed,
                                     transposeB: ops[1].transposed), epilogue: nil),
            operands: [ops[0].buffer, ops[1].buffer], output: out, nodes: [i]))
        kernels[kernels.count - 1].operandOffsets = [ops[0].offset, ops[1].offset]
        bufferOf[i] = out
        return .load(operand: out, view: .contiguous(t.shape.dims), dtype: t.dtype)
    }

    /// How a dense matmul kernel can read `e` directly: plain or transposed rows, one batch
    /// stride; `nil` when it must be copied first.
    static func matmulLayout(_ e: Expr, rank r: Int) -> (buffer: Int, offset: Int, batchStride: Int, transposed: Bool)? {
        guard case .load(let b, let v, _) = e, v.mask == nil else { return nil }
        let rows = v.shape[r - 2], cols = v.shape[r - 1]
        let sr = v.strides[r - 2], sc = v.strides[r - 1]
        let transposed: Bool
        if (sc == 1 || cols == 1) && (sr == cols || rows == 1) {
            transposed = false
        } else if (sr == 1 || rows == 1) && (sc == rows || cols == 1) {
            transposed = true
        } else {
            return nil
        }
        // Batch axes must collapse into one stride (or all broadcast).
        let batchAxes = (0..<(r - 2)).filter { v.shape[$0] != 1 }
        var batchStride = 0
        if let last = batchAxes.last {
            batchStride = v.strides[last]
            for (x, y) in zip(batchAxes, batchAxes.dropFirst()) where v.strides[x] != v.strides[y] * v.shape[y] {
                return nil
            }
            if batchStride != 0, batchStride < rows * cols { return nil }
        }
        return (b, v.offset, batchStride, transposed)
    }

    mutating func convolution(_ i: Int, _ n: Node, _ kind: ConvKind, stride: Int, padding: Int) -> Expr {
        let t = n.type
        let a = contiguousOperand(n.inputs[0]), b = contiguousOperand(n.inputs[1])
        let s0 = graph.nodes[n.inputs[0]].type.shape.dims, s1 = graph.nodes[n.inputs[1]].type.shape.dims
        // The input x and filter w shapes, whichever of the three the node computes.
        let x: [Int], w: [Int]
        switch kind {
        case .forward: x = s0; w = s1
        case .inputGradient: x = t.shape.dims; w = s1
        case .filterGradient: x = s0; w = t.shape.dims
        }
        let spec = ConvSpec(n: x[0], c: x[1], h: x[2], w: x[3], o: w[0], kh: w[2], kw: w[3], stride: stride, padding: padding)
        let out = newBuffer(t, .intermediate)
        var k = Kernel(body: .convolution(kind, spec, epilogue: nil), operands: [a.buffer, b.buffer], output: out, nodes: [i])
        k.operandOffsets = [a.offset, b.offset]
        kernels.append(k)
        bufferOf[i] = out
        return .load(operand: out, view: .contiguous(t.shape.dims), dtype: t.dtype)
    }

    /// A gather or scatter-add kernel reading both operands from contiguous buffers.
    mutating func rowIndexed(_ i: Int, _ n: Node, _ kind: RowIndexedKind) -> Expr {
        let t = n.type
        let data = contiguousOperand(n.inputs[0]), idx = contiguousOperand(n.inputs[1])
        let indexType = graph.nodes[n.inputs[1]].type
        let rowsShape = kind == .gather ? graph.nodes[n.inputs[0]].type.shape : t.shape
        let spec = RowIndexSpec(positions: indexType.shape.count, rows: rowsShape[0], width: rowsShape[1])
        let out = newBuffer(t, .intermediate)
        var k = Kernel(body: .rowIndexed(kind, spec), operands: [data.buffer, idx.buffer], output: out, nodes: [i])
        k.operandOffsets = [data.offset, idx.offset]
        kernels.append(k)
        bufferOf[i] = out
        return .load(operand: out, view: .contiguous(t.shape.dims), dtype: t.dtype)
    }
}
