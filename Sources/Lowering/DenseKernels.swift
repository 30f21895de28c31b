import Passes

/// LLVM IR text emitters for the dense kernels (matmul and the three convolution forms).
///
/// Every kernel is lowered to one register-tiled GEMM `C[b] (m×n) = A[b] (m×k) · B[b] (k×n)`
/// whose output is contiguous `[batch, m, n]`:
///
/// | kernel      | batch | m | n        | k        | A                  | B                        |
/// |-------------|-------|---|----------|----------|--------------------|--------------------------|
/// | matmul      | batch | m | n        | k        | A (or Aᵀ)          | B (or Bᵀ, packed)        |
/// | conv2d      | n     | o | outH·outW| c·kh·kw  | w                  | im2col(x), packed        |
/// | input grad  | n·c/2 | 2·kh·kw | outH·outW | o   | wᵀ                 | dy, in place; C tiles scatter-added into dx (col2im) |
/// | filter grad | 1     | o | c·kh·kw  | n·outH·outW | dy              | im2colᵀ(x), packed       |
///
/// The micro-kernel keeps an `mr × nv·16` tile of C in `<16 x float>` registers (6×64, 8×48,
/// 12×32 or 8×16 depending on n: 24 accumulators of the 32 zmm registers), broadcasts one A
/// element per row and k, and multiplies it with `nv` vectors of one B row (`fmul`/`fadd
/// contract`, which the backend fuses into `vfmadd…ps`). The last column vector of a
/// ragged panel is loaded and stored as `<r x float>` (r < 16), so nothing outside the
/// buffers is touched. B is read in place (plain matmul with a cache-friendly B) or packed
/// per `kc × nv·16` panel into a 32 KiB stack buffer, zero padded; packing is where the
/// transposes, im2col, padding and strides are resolved. Blocks of k after the first
/// accumulate into the stored tile. The epilogue runs once per element after the last block
/// of k, in a loop over the tile's columns that LLVM's loop vectorizer handles.
///
/// The outer range is `batch × row blocks` (each chunk owns whole `mr`-row slabs of C), or
/// `batch × column panels` for the filter gradient, whose single GEMM has few rows and a
/// long k: there every B panel is packed exactly once. The input gradient's outer range is
/// its batch of (image, channel pair) GEMMs, each of which owns a slab of dx.
public enum DenseKernels {
    /// Batched matrix product (`MatmulSpec`): buffers `out, A, B, extras…`; the epilogue gets
    /// indices `[b, i, j]`.
    public static func matmul(_ s: MatmulSpec, name: String, epilogue: Epilogue? = nil) -> DenseKernel {
        let packed = s.transposeB || s.k * s.n > 256 * 1024
        let g = DenseGemmEmitter(name: name, buffers: 3, epilogue: epilogue, batch: s.batch, m: s.m, n: s.n, k: s.k,
                            packed: packed, rowMode: true)
        let (m, k, n) = (s.m, s.k, s.n)
        g.aPtr = KernelFunctionText.pointer(1)
        g.bPtr = KernelFunctionText.pointer(2)
        g.aRow = { g, bi, i in
            g.add(g.mul(bi, s.aBatchStride), s.transposeA ? i : g.mul(i, k))
        }
        g.aK = { g, _, kk in s.transposeA ? g.mul(kk, m) : kk }
        g.bBatchOffset = { g, bi in g.mul(bi, s.bBatchStride) }
        g.packJOuter = s.transposeB
        g.bElement = { g, bi, kk, j in
            let off = s.transposeB ? g.add(g.mul(j, k), kk) : g.add(g.mul(kk, n), j)
            return g.loadFloat(g.bPtr, g.add(g.mul(bi, s.bBatchStride), off))
        }
        g.index = { _, bi, i, j in [bi, i, j] }
        return g.finish(flops: s.flops)
    }

    /// Forward convolution (`ConvSpec`): buffers `y [n,o,outH,outW], x [n,c,h,w],
    /// w [o,c,kh,kw], extras…`; the epilogue gets indices `[n, o, oh, ow]`.
    public static func conv2d(_ s: ConvSpec, name: String, epilogue: Epilogue? = nil) -> DenseKernel {
        let kk2 = s.kh * s.kw, p = s.outH * s.outW, hw = s.h * s.w
        let g = DenseGemmEmitter(name: name, buffers: 3, epilogue: epilogue, batch: s.n, m: s.o, n: p, k: s.c * kk2,
                            packed: true, rowMode: true)
        g.aPtr = KernelFunctionText.pointer(2)
        g.bPtr = KernelFunctionText.pointer(1)
        g.aRow = { g, _, i in g.mul(i, s.c * kk2) }
        g.aK = { _, _, kk in kk }
        // B[(c,u,v), (oh,ow)] = x[n, c, oh·s+u−p, ow·s+v−p] (im2col), packed line by line:
        // line oh of row kk = (c,u,v) is x[n, c, oh·s+u−p, ow·s+v−p] for ow in 0..<outW.
        g.linePack = LinePack(
            alongK: false, lineLength: s.outW, count: s.outW, colStride: 1, srcStride: s.stride, srcLength: s.w,
            offsets: { g, _, kk in (.i64(0), g.sub(g.urem(kk, s.kw), .i64(s.padding))) },
            line: { g, bi, kk, oh in
                let c = g.udiv(kk, kk2), u = g.udiv(g.urem(kk, kk2), s.kw)
                let ih = g.sub(g.add(g.mul(oh, s.stride), u), .i64(s.padding))
                return (g.ult(ih, s.h), g.add(g.add(g.mul(bi, s.c * hw), g.mul(c, hw)), g.mul(ih, s.w)))
            })
        g.index = { g, bi, i, j in [bi, i, g.udiv(j, s.outW), g.urem(j, s.outW)] }
        return g.finish(flops: s.flops)
    }

    /// Gradient of `conv2d` with respect to its input: buffers `dx [n,c,h,w],
    /// dy [n,o,outH,outW], w [o,c,kh,kw], extras…`; the epilogue gets indices `[n, c, y, x]`.
    public static func conv2dInputGrad(_ s: ConvSpec, name: String, epilogue: Epilogue? = nil) -> DenseKernel {
        conv2dInputGradScatter(s, name: name, epilogue: epilogue)
    }

    /// The input gradient as `dcol = wᵀ·dy` scattered into dx (col2im): one GEMM per image
    /// and group of 2 (or 1) input channels, rows `(c,u,v)`, columns the output pixels, k the
    /// output channels, dy read in place; each (image, group) owns its slab of dx, and those
    /// are the outer range. Unlike the transposed convolution over a dilated dy it multiplies
    /// no zeros for stride 2, and unlike im2col of dy it copies nothing.
    static func conv2dInputGradScatter(_ s: ConvSpec, name: String, epilogue: Epilogue?) -> DenseKernel {
        let kk2 = s.kh * s.kw, p = s.outH * s.outW, hw = s.h * s.w
        let gsize = s.c % 2 == 0 ? 2 : 1
        let groups = s.c / gsize
        let g = DenseGemmEmitter(name: name, buffers: 3, epilogue: epilogue, batch: s.n * groups, m: gsize * kk2,
                                 n: p, k: s.o, packed: false, rowMode: true)
        g.aPtr = KernelFunctionText.pointer(2)
        g.bPtr = KernelFunctionText.pointer(1)
        // A[(c,u,v), o] = w[o, c, u, v] with c in this group.
        g.aRow = { g, bi, r in g.add(g.mul(g.urem(bi, groups), gsize * kk2), r) }
        g.aK = { g, _, o in g.mul(o, s.c * kk2) }
        // B = dy[image] (o × outH·outW), in place.
        g.bBatchOffset = { g, bi in g.mul(g.udiv(bi, groups), s.o * p) }
        let dx = KernelFunctionText.pointer(0)
        let regionStart = { (g: DenseGemmEmitter, bi: Value) in g.mul(bi, gsize * hw) }
        g.scatter = ScatterStore(
            begin: { g, bi in
                let start = regionStart(g, bi)
                g.b.forEach(from: .i64(0), to: .i64(gsize * hw), hint: "zx") { e in
                    g.b.emit("store float 0.0, ptr \(g.gep(dx, g.add(start, e))), align 4")
                }
            },
            add: { g, bi, r, j0, width, values in
                let uv = g.urem(r, kk2), cl = g.udiv(r, kk2)
                let u = g.udiv(uv, s.kw), v = g.urem(uv, s.kw)
                let start = regionStart(g, bi)
                let plane = g.add(start, g.mul(cl, hw))
                let jEnd = g.add(j0, .i64(width))
                // Output rows oh of the tile's pixels; in each, the ow whose x is in the image.
                let ohLo = g.udiv(j0, s.outW), ohHi = g.add(g.udiv(g.sub(jEnd, .i64(1)), s.outW), .i64(1))
                let owMin = g.smax(.i64(0), g.ceilDiv(g.sub(.i64(s.padding), v), s.stride))
                let owMax = g.ceilDiv(g.sub(.i64(s.w + s.padding), v), s.stride)
                g.b.forEach(from: ohLo, to: ohHi, hint: "sy") { oh in
                    let lineStart = g.mul(oh, s.outW)
                    let y = g.sub(g.add(g.mul(oh, s.stride), u), .i64(s.padding))
                    let owLo = g.smax(g.sub(g.smax(j0, lineStart), lineStart), owMin)
                    let owHi0 = g.smin(g.sub(g.smin(jEnd, g.add(lineStart, .i64(s.outW))), lineStart), owMax)
                    let owHi = g.b.value("select i1 \(g.ult(y, s.h)), i64 \(owHi0), i64 \(owLo)")
                    let rowBase = g.add(plane, g.sub(g.mul(y, s.w), .i64(s.padding)))
                    let valueBase = g.sub(lineStart, j0)
                    g.b.forEach(from: owLo, to: owHi, hint: "sx") { ow in
                        let value = g.loadFloat(values, g.add(valueBase, ow))
                        let ptr = g.gep(dx, g.add(rowBase, g.add(g.mul(ow, s.stride), v)))
                        let old = g.b.value("load float, ptr \(ptr), align 4")
                        g.b.emit("store float \(g.b.value("fadd float \(old), \(value)")), ptr \(ptr), align 4")
                    }
                }
            },
            end: { g, bi in
                guard let epilogue = g.epilogue else { return }
                let start = regionStart(g, bi)
                let img = g.udiv(bi, groups), c0 = g.mul(g.urem(bi, groups), gsize)
                g.b.forEach(from: .i64(0), to: .i64(gsize * hw), hint: "ex") { e in
                    let ptr = g.gep(dx, g.add(start, e))
                    let x = g.b.value("load float, ptr \(ptr), align 4")
                    let rem = g.urem(e, hw)
                    let index = [img, g.add(c0, g.udiv(e, hw)), g.udiv(rem, s.w), g.urem(rem, s.w)]
                    let y = epilogue.emit(g.b, x, index, g.extraPointers)
                    g.b.emit("store float \(y), ptr \(ptr), align 4")
                }
            })
        return g.finish(flops: s.flops)
    }

    /// Gradient of `conv2d` with respect to its filter: buffers `dw [o,c,kh,kw], x [n,c,h,w],
    /// dy [n,o,outH,outW], extras…`; the epilogue gets indices `[o, c, u, v]`.
    public static func conv2dFilterGrad(_ s: ConvSpec, name: String, epilogue: Epilogue? = nil) -> DenseKernel {
        let kk2 = s.kh * s.kw, p = s.outH * s.outW, hw = s.h * s.w
        let cols = s.c * kk2
        // Enough columns for two threads: split column panels (each packed exactly once), 32
        // wide (12×32 tiles) so that they divide evenly; otherwise split rows.
        let byColumns = cols >= 128
        let g = DenseGemmEmitter(name: name, buffers: 3, epilogue: epilogue, batch: 1, m: s.o, n: cols, k: s.n * p,
                                 packed: true, rowMode: !byColumns, vectors: byColumns ? 2 : nil)
        g.aPtr = KernelFunctionText.pointer(2)
        g.bPtr = KernelFunctionText.pointer(1)
        // A[o, (n,i,j)] = dy[n, o, i, j].
        g.aRow = { g, _, i in g.mul(i, p) }
        g.aK = { g, _, kk in g.add(g.mul(g.udiv(kk, p), s.o * p), g.urem(kk, p)) }
        g.tabulateAK = p > 1
        // B[(n,i,j), (c,u,v)] = x[n, c, i·s+u−p, j·s+v−p] (transposed im2col), packed line by line:
        // Along k: line (n, oh) of column j = (c,u,v) is x[n, c, oh·s+u−p, ow·s+v−p], ow in 0..<outW.
        g.linePack = LinePack(
            alongK: true, lineLength: s.outW, count: s.outW, colStride: 1, srcStride: s.stride, srcLength: s.w,
            offsets: { g, _, j in (.i64(0), g.sub(g.urem(j, s.kw), .i64(s.padding))) },
            line: { g, _, j, line in
                let img = g.udiv(line, s.outH), oh = g.urem(line, s.outH)
                let c = g.udiv(j, kk2), u = g.udiv(g.urem(j, kk2), s.kw)
                let ih = g.sub(g.add(g.mul(oh, s.stride), u), .i64(s.padding))
                return (g.ult(ih, s.h), g.add(g.add(g.mul(img, s.c * hw), g.mul(c, hw)), g.mul(ih, s.w)))
            })
        g.index = { g, _, i, j in [i, g.udiv(j, kk2), g.udiv(g.urem(j, kk2), s.kw), g.urem(j, s.kw)] }
        return g.finish(flops: s.flops)
    }
}

/// How a convolution's B operand is packed without per-element index arithmetic.
///
/// The packed axis (the columns j, or the rows k when `alongK`) is cut into lines of
/// `lineLength` positions; with the other index fixed, position `colStride·t + cOff` of a line
/// holds `source[base + srcStride·t + sOff]` for the `t` in `0 ..< count` whose position lies
/// in the line and whose `srcStride·t + sOff` lies in `0 ..< srcLength` (and the line is
/// valid); every other position is zero. So each line is one strided copy plus zero fill,
/// with divisions only per line, not per element.
struct LinePack {
    var alongK: Bool
    var lineLength: Int
    var count: Int
    var colStride: Int
    var srcStride: Int
    var srcLength: Int
    /// (emitter, batch, fixed index) → (cOff, sOff).
    var offsets: (DenseGemmEmitter, Value, Value) -> (Value, Value)
    /// (emitter, batch, fixed index, line) → (line is valid: i1, source base offset).
    var line: (DenseGemmEmitter, Value, Value, Value) -> (Value, Value)
}

/// Tiles of C added into scattered output positions instead of stored: how the input
/// gradient accumulates `wᵀ·dy` into dx (col2im) without multiplying the zeros of a dilated
/// dy. With it, the outer range is the batch: each batch owns its output region.
struct ScatterStore {
    /// Before the batch's tiles (zero its region): (emitter, batch).
    var begin: (DenseGemmEmitter, Value) -> Void
    /// Adds row `i` of a tile, columns `j0 ..< j0 + width`, whose values are floats at
    /// `values`: (emitter, batch, i, j0, width, values).
    var add: (DenseGemmEmitter, Value, Value, Value, Int, Value) -> Void
    /// After the batch's tiles (the epilogue over its region): (emitter, batch).
    var end: (DenseGemmEmitter, Value) -> Void
}

/// Emits one register-tiled GEMM into a kernel body (see `DenseKernels`).
final class DenseGemmEmitter {
    typealias Offset = (DenseGemmEmitter, Value, Value) -> Value

    let b: LLVMText
    var function: KernelFunctionText
    let epilogue: Epilogue?
    let extraPointers: [Value]
    let batch, m, n, k: Int
    let mr, nv: Int
    let packed: Bool
    let rowMode: Bool
    /// k per packed block (`k` itself when B is read in place).
    let kc: Int

    var aPtr = Value.i64(0), bPtr = Value.i64(0)
    /// Element offset of row `i` of A[b] (batch, row).
    var aRow: Offset = { _, _, _ in .i64(0) }
    /// Element offset of column `k` of A (batch, k); added to `aRow`.
    var aK: Offset = { _, _, _ in .i64(0) }
    /// Element offset of B[b] when B is read in place (row-major `k×n`).
    var bBatchOffset: (DenseGemmEmitter, Value) -> Value = { _, _ in .i64(0) }
    /// B[b][k, j] as a float (packed mode; must only load in bounds).
    var bElement: (DenseGemmEmitter, Value, Value, Value) -> Value = { _, _, _, _ in .floatZero }
    /// Pack with the column loop outside (B stored column-major).
    var packJOuter = false
    /// Compute `aK` once per packed block of k into a stack table (when `aK` divides).
    var tabulateAK = false
    private var akTable: Value?
    /// The epilogue's multi-index of C[b][i, j].
    var index: (DenseGemmEmitter, Value, Value, Value) -> [Value] = { _, b, i, j in [b, i, j] }

    /// B packed line by line from contiguous source rows (the convolutions), instead of
    /// element by element through `bElement`.
    var linePack: LinePack?
    /// Scatter-add tiles (outer range = batch; B read in place, one block of k).
    var scatter: ScatterStore?
    private var tileBuffer = Value.literal("poison")

    private var scratch = Value.literal("poison")
    static let vector = "<16 x float>"
    /// Floats of packed-B scratch (32 KiB: leaves room in L1 for A and C).
    static let scratchFloats = 8192

    /// Register tile for an `m×n` product: `nv` vectors of 16 columns × `mr` rows.
    static func tile(m: Int, n: Int) -> (mr: Int, nv: Int) {
        let nv = max(1, min(4, (n + 15) / 16))
        let mr: Int
        switch nv {
        case 1, 3: mr = 8
        case 2: mr = 12
        default: mr = 6
        }
        return (max(1, min(mr, m)), nv)
    }

    /// `buffers` counts the kernel's own buffers (the epilogue's follow); `vectors` overrides
    /// the tile width (in vectors of 16) that `tile` would choose for `n`.
    init(name: String, buffers: Int, epilogue: Epilogue?, batch: Int, m: Int, n: Int, k: Int,
         packed: Bool, rowMode: Bool, vectors: Int? = nil) {
        let extra = epilogue?.extraBuffers ?? 0
        function = KernelFunctionText(name: name, bufferCount: buffers + extra)
        b = function.body
        self.epilogue = epilogue
        extraPointers = (0..<extra).map { KernelFunctionText.pointer(buffers + $0) }
        self.batch = max(0, batch)
        self.m = max(0, m)
        self.n = max(0, n)
        self.k = max(0, k)
        (mr, nv) = DenseGemmEmitter.tile(m: m, n: vectors.map { min(n, $0 * 16) } ?? n)
        self.packed = packed
        self.rowMode = rowMode
        kc = packed ? max(1, min(k, DenseGemmEmitter.scratchFloats / (nv * 16))) : max(1, k)
    }

    var panelWidth: Int { nv * 16 }
    var rowBlocks: Int { (m + mr - 1) / mr }
    var fullRowBlocks: Int { m / mr }
    var fullPanels: Int { n / panelWidth }
    var tailColumns: Int { n % panelWidth }
    var panels: Int { fullPanels + (tailColumns > 0 ? 1 : 0) }
    var kBlocks: Int { max(1, (k + kc - 1) / kc) }
    var outerExtent: Int { scatter != nil ? batch : batch * (rowMode ? rowBlocks : panels) }

    // MARK: integer and memory helpers (i64; constants are folded here when possible)

    func add(_ x: Value, _ y: Value) -> Value {
        if x.constant == 0 { return y }
        if y.constant == 0 { return x }
        if let a = x.constant, let c = y.constant { return .i64(a + c) }
        return b.value("add nsw i64 \(x), \(y)")
    }
    func sub(_ x: Value, _ y: Value) -> Value {
        if y.constant == 0 { return x }
        if let a = x.constant, let c = y.constant { return .i64(a - c) }
        return b.value("sub nsw i64 \(x), \(y)")
    }
    func mul(_ x: Value, _ c: Int) -> Value {
        if c == 0 { return .i64(0) }
        if c == 1 { return x }
        if let a = x.constant { return .i64(a * c) }
        return b.value("mul nsw i64 \(x), \(c)")
    }
    func udiv(_ x: Value, _ c: Int) -> Value {
        if c == 1 { return x }
        if let a = x.constant { return .i64(a / c) }
        return b.value("udiv i64 \(x), \(c)")
    }
    func urem(_ x: Value, _ c: Int) -> Value {
        if c == 1 { return .i64(0) }
        if let a = x.constant { return .i64(a % c) }
        return b.value("urem i64 \(x), \(c)")
    }
    func sdiv(_ x: Value, _ c: Int) -> Value {
        if c == 1 { return x }
        return b.value("sdiv i64 \(x), \(c)")
    }
    /// ⌈x / c⌉ for x ≥ 0; for x < 0 some value ≤ 0 (callers clamp at 0).
    func ceilDiv(_ x: Value, _ c: Int) -> Value {
        if c == 1 { return x }
        return sdiv(add(x, .i64(c - 1)), c)
    }
    func smin(_ x: Value, _ y: Value) -> Value {
        let c = b.value("icmp slt i64 \(x), \(y)")
        return b.value("select i1 \(c), i64 \(x), i64 \(y)")
    }
    func smax(_ x: Value, _ y: Value) -> Value {
        let c = b.value("icmp sgt i64 \(x), \(y)")
        return b.value("select i1 \(c), i64 \(x), i64 \(y)")
    }
    func ult(_ x: Value, _ c: Int) -> Value { b.value("icmp ult i64 \(x), \(c)") }
    func isZero(_ x: Value) -> Value {
        if x.constant == 0 { return .true }
        return b.value("icmp eq i64 \(x), 0")
    }
    func and(_ x: Value, _ y: Value) -> Value {
        if x == .true { return y }
        if y == .true { return x }
        return b.value("and i1 \(x), \(y)")
    }
    func gep(_ p: Value, _ off: Value) -> Value {
        if off.constant == 0 { return p }
        return b.value("getelementptr inbounds float, ptr \(p), i64 \(off)", hint: "p")
    }
    func loadFloat(_ p: Value, _ off: Value) -> Value {
        b.value("load float, ptr \(gep(p, off)), align 4")
    }
    private func lanes(_ count: Int, from: Int = 0) -> String {
        "<" + (0..<count).map { "i32 \(from + $0)" }.joined(separator: ", ") + ">"
    }
    /// Loads `width` (1…16) floats at `p` as a 16-lane vector (upper lanes zero).
    private func loadVector(_ p: Value, width: Int, align: Int) -> Value {
        if width == 16 { return b.value("load \(Self.vector), ptr \(p), align \(align)") }
        let part = b.value("load <\(width) x float>, ptr \(p), align 4")
        let idx = "<" + (0..<16).map { "i32 \(min($0, width))" }.joined(separator: ", ") + ">"
        return b.value("shufflevector <\(width) x float> \(part), <\(width) x float> zeroinitializer, <16 x i32> \(idx)")
    }
    /// Stores the first `width` lanes of `v` at `p`.
    private func storeVector(_ v: Value, _ p: Value, width: Int) {
        if width == 16 {
            b.emit("store \(Self.vector) \(v), ptr \(p), align 4")
        } else {
            let part = b.value("shufflevector \(Self.vector) \(v), \(Self.vector) poison, <\(width) x i32> \(lanes(width))")
            b.emit("store <\(width) x float> \(part), ptr \(p), align 4")
        }
    }

    // MARK: structure

    func finish(flops: Int) -> DenseKernel {
        emitBody()
        return DenseKernel(function: function, outerExtent: outerExtent, flops: flops)
    }

    private func emitBody() {
        guard batch > 0, m > 0, n > 0 else {
            b.emit("ret void")
            return
        }
        if packed {
            scratch = b.value("alloca [\(kc * panelWidth) x float], align 64", hint: "scratch")
            if tabulateAK {
                akTable = b.value("alloca [\(kc) x i64], align 64", hint: "aktab")
            }
        }
        let tailVectors = (tailColumns + 15) / 16
        let tailLast = tailColumns - (tailVectors - 1) * 16
        if let scatter {
            precondition(!packed && kBlocks == 1, "scatter tiles need B in place and one block of k")
            tileBuffer = b.value("alloca [\(mr * panelWidth) x float], align 64", hint: "tilebuf")
            b.forEach(from: KernelFunctionText.begin, to: KernelFunctionText.end, hint: "bt") { bi in
                scatter.begin(self, bi)
                if fullPanels > 0 {
                    b.forEach(from: .i64(0), to: .i64(fullPanels), hint: "jp") { jp in
                        panel(bi, mul(jp, panelWidth), nv, 16, .i64(0), .i64(rowBlocks))
                    }
                }
                if tailColumns > 0 {
                    panel(bi, .i64(fullPanels * panelWidth), tailVectors, tailLast, .i64(0), .i64(rowBlocks))
                }
                scatter.end(self, bi)
            }
        } else if rowMode {
            let rb = rowBlocks
            let first = sdiv(KernelFunctionText.begin, rb)
            let last = sdiv(b.value("add nsw i64 %end, \(rb - 1)"), rb)
            b.forEach(from: first, to: last, hint: "bt") { bi in
                let base = mul(bi, rb)
                let ib0 = smax(sub(KernelFunctionText.begin, base), .i64(0)), ib1 = smin(sub(KernelFunctionText.end, base), .i64(rb))
                if fullPanels > 0 {
                    b.forEach(from: .i64(0), to: .i64(fullPanels), hint: "jp") { jp in
                        panel(bi, mul(jp, panelWidth), nv, 16, ib0, ib1)
                    }
                }
                if tailColumns > 0 {
                    panel(bi, .i64(fullPanels * panelWidth), tailVectors, tailLast, ib0, ib1)
                }
            }
        } else {
            let np = panels
            b.forEach(from: KernelFunctionText.begin, to: KernelFunctionText.end, hint: "t") { t in
                let bi = udiv(t, np), jp = urem(t, np)
                let ib1 = Value.i64(rowBlocks)
                if fullPanels > 0 && tailColumns > 0 {
                    let isFull = b.value("icmp ult i64 \(jp), \(fullPanels)")
                    let isTail = b.value("xor i1 \(isFull), true")
                    b.ifThen(isFull) { panel(bi, mul(jp, panelWidth), nv, 16, .i64(0), ib1) }
                    b.ifThen(isTail) { panel(bi, .i64(fullPanels * panelWidth), tailVectors, tailLast, .i64(0), ib1) }
                } else if fullPanels > 0 {
                    panel(bi, mul(jp, panelWidth), nv, 16, .i64(0), ib1)
                } else {
                    panel(bi, .i64(0), tailVectors, tailLast, .i64(0), ib1)
                }
            }
        }
        b.emit("ret void")
    }

    /// Columns `j0 ..< j0 + (nvp−1)·16 + lastWidth` of row blocks `ib0 ..< ib1` of C[bi].
    private func panel(_ bi: Value, _ j0: Value, _ nvp: Int, _ lastWidth: Int, _ ib0: Value, _ ib1: Value) {
        let blockBody = { (k0: Value, kEnd: Value, first: Value?, last: Value?) in
            if self.packed { self.pack(bi, j0, k0, kEnd, nvp, lastWidth) }
            if let akTable = self.akTable {
                self.b.forEach(from: k0, to: kEnd, hint: "ak") { kk in
                    let p = self.b.value("getelementptr inbounds i64, ptr \(akTable), i64 \(self.sub(kk, k0))", hint: "p")
                    self.b.emit("store i64 \(self.aK(self, bi, kk)), ptr \(p), align 8")
                }
            }
            let full = self.fullRowBlocks
            let fullEnd = self.smin(ib1, .i64(full))
            self.b.forEach(from: ib0, to: fullEnd, hint: "ib") { ib in
                self.tile(self.mr, bi, self.mul(ib, self.mr), j0, nvp, lastWidth, k0, kEnd, first, last)
            }
            let rest = self.m - full * self.mr
            if rest > 0 {
                let reaches = self.b.value("icmp sgt i64 \(ib1), \(full)")
                let starts = self.b.value("icmp sle i64 \(ib0), \(full)")
                self.b.ifThen(self.and(reaches, starts)) {
                    self.tile(rest, bi, .i64(full * self.mr), j0, nvp, lastWidth, k0, kEnd, first, last)
                }
            }
        }
        if kBlocks == 1 {
            blockBody(.i64(0), .i64(k), nil, nil)
        } else {
            b.forEach(from: .i64(0), to: .i64(kBlocks), hint: "kb") { kb in
                let k0 = mul(kb, kc)
                let kEnd = smin(add(k0, .i64(kc)), .i64(k))
                let first = b.value("icmp eq i64 \(kb), 0")
                let last = b.value("icmp eq i64 \(kb), \(kBlocks - 1)")
                blockBody(k0, kEnd, first, last)
            }
        }
    }

    /// Packs B[bi][k0..<kEnd, j0..<j0+width] into the scratch panel (row stride `panelWidth`),
    /// zero padding the columns up to `nvp·16`.
    private func pack(_ bi: Value, _ j0: Value, _ k0: Value, _ kEnd: Value, _ nvp: Int, _ lastWidth: Int) {
        let width = (nvp - 1) * 16 + lastWidth
        let store = { (kk: Value, jj: Value, value: Value) in
            let row = self.mul(self.sub(kk, k0), self.panelWidth)
            let p = self.gep(self.scratch, self.add(row, jj))
            self.b.emit("store float \(value), ptr \(p), align 4")
        }
        if let lp = linePack {
            packLines(lp, bi, j0, k0, kEnd, width)
        } else if packJOuter {
            b.forEach(from: .i64(0), to: .i64(width), hint: "pj") { jj in
                b.forEach(from: k0, to: kEnd, hint: "pk") { kk in
                    store(kk, jj, bElement(self, bi, kk, add(j0, jj)))
                }
            }
        } else {
            b.forEach(from: k0, to: kEnd, hint: "pk") { kk in
                b.forEach(from: .i64(0), to: .i64(width), hint: "pj") { jj in
                    store(kk, jj, bElement(self, bi, kk, add(j0, jj)))
                }
            }
        }
        if width < nvp * 16 {
            b.forEach(from: k0, to: kEnd, hint: "pz") { kk in
                b.forEach(from: .i64(width), to: .i64(nvp * 16), hint: "pzj") { jj in
                    store(kk, jj, .floatZero)
                }
            }
        }
    }

    /// `pack` for a `LinePack` B (see there).
    private func packLines(_ lp: LinePack, _ bi: Value, _ j0: Value, _ k0: Value, _ kEnd: Value, _ width: Int) {
        let pw = panelWidth
        let (fixedLo, fixedHi) = lp.alongK ? (.i64(0), .i64(width)) : (k0, kEnd)
        let (aLo, aHi) = lp.alongK ? (k0, kEnd) : (j0, add(j0, .i64(width)))
        let lineLength = lp.lineLength
        b.forEach(from: fixedLo, to: fixedHi, hint: "pf") { fixed in
            let global = lp.alongK ? add(j0, fixed) : fixed
            // Scratch offset of packed position a: base + a·step.
            let step = lp.alongK ? pw : 1
            let scratchBase = lp.alongK ? sub(fixed, mul(k0, pw)) : sub(mul(sub(fixed, k0), pw), j0)
            let store = { (a: Value, value: Value) in
                let p = self.gep(self.scratch, self.add(scratchBase, self.mul(a, step)))
                self.b.emit("store float \(value), ptr \(p), align 4")
            }
            let (cOff, sOff) = lp.offsets(self, bi, global)
            let rLo = udiv(aLo, lineLength)
            let rHi = add(udiv(sub(aHi, .i64(1)), lineLength), .i64(1))
            b.forEach(from: rLo, to: rHi, hint: "pr") { r in
                let lineStart = mul(r, lineLength)
                let segLo = sub(smax(aLo, lineStart), lineStart)
                let segHi = sub(smin(aHi, add(lineStart, .i64(lineLength))), lineStart)
                let (ok, base) = lp.line(self, bi, global, r)
                let tLo = smax(smax(.i64(0), ceilDiv(sub(segLo, cOff), lp.colStride)), ceilDiv(sub(.i64(0), sOff), lp.srcStride))
                let tHi0 = smin(smin(.i64(lp.count), ceilDiv(sub(segHi, cOff), lp.colStride)),
                                ceilDiv(sub(.i64(lp.srcLength), sOff), lp.srcStride))
                let tHi = smax(b.value("select i1 \(ok), i64 \(tHi0), i64 \(tLo)"), tLo)
                let scalarCopy = { (from: Value, to: Value) in
                    self.b.forEach(from: from, to: to, hint: "pt") { t in
                        let q = self.add(self.mul(t, lp.colStride), cOff)
                        let x = self.loadFloat(self.bPtr, self.add(base, self.add(self.mul(t, lp.srcStride), sOff)))
                        store(self.add(lineStart, q), x)
                    }
                }
                let zeroFill = { (from: Value, to: Value) in
                    self.b.forEach(from: from, to: to, hint: "pz") { q in
                        store(self.add(lineStart, q), .floatZero)
                    }
                }
                if lp.colStride == 1 {
                    let zEnd = smin(add(tLo, cOff), segHi)
                    zeroFill(segLo, zEnd)
                    zeroFill(smax(add(tHi, cOff), zEnd), segHi)
                } else {
                    zeroFill(segLo, segHi)
                }
                scalarCopy(tLo, tHi)
            }
        }
    }

    /// One `rows × (nvp·16)` register tile of C at (i0, j0), k in `k0 ..< kEnd`.
    private func tile(_ rows: Int, _ bi: Value, _ i0: Value, _ j0: Value, _ nvp: Int, _ lastWidth: Int,
                      _ k0: Value, _ kEnd: Value, _ first: Value?, _ last: Value?) {
        let v16 = Self.vector
        let rowPointers = (0..<rows).map { r in gep(aPtr, aRow(self, bi, add(i0, .i64(r)))) }
        let bPanel = packed ? scratch : gep(bPtr, add(bBatchOffset(self, bi), j0))
        let carried = Array(repeating: (type: v16, initial: Value.zeroinitializer), count: rows * nvp)
        let acc = b.loop(from: k0, to: kEnd, carried: carried, hint: "k") { kk, acc in
            var bv: [Value] = []
            for v in 0..<nvp {
                let width = v == nvp - 1 ? lastWidth : 16
                if packed {
                    let off = add(mul(sub(kk, k0), panelWidth), .i64(16 * v))
                    bv.append(loadVector(gep(bPanel, off), width: 16, align: 64))
                } else {
                    let off = add(mul(kk, n), .i64(16 * v))
                    bv.append(loadVector(gep(bPanel, off), width: width, align: 4))
                }
            }
            let ak: Value
            if let akTable {
                let p = b.value("getelementptr inbounds i64, ptr \(akTable), i64 \(sub(kk, k0))", hint: "p")
                ak = b.value("load i64, ptr \(p), align 8")
            } else {
                ak = aK(self, bi, kk)
            }
            var next = acc
            for r in 0..<rows {
                let a = loadFloat(rowPointers[r], ak)
                let ins = b.value("insertelement \(v16) poison, float \(a), i64 0")
                let splat = b.value("shufflevector \(v16) \(ins), \(v16) poison, <16 x i32> zeroinitializer")
                for v in 0..<nvp {
                    let prod = b.value("fmul contract \(v16) \(splat), \(bv[v])")
                    next[r * nvp + v] = b.value("fadd contract \(v16) \(acc[r * nvp + v]), \(prod)")
                }
            }
            return next
        }
        // Store (accumulating onto earlier k blocks).
        let cBase = add(mul(bi, m * n), j0)
        let cRows = (0..<rows).map { r in gep(KernelFunctionText.pointer(0), add(cBase, mul(add(i0, .i64(r)), n))) }
        if let scatter {
            let width = (nvp - 1) * 16 + lastWidth
            for r in 0..<rows {
                for v in 0..<nvp {
                    b.emit("store \(v16) \(acc[r * nvp + v]), ptr \(gep(tileBuffer, .i64(r * panelWidth + 16 * v))), align 64")
                }
            }
            // One copy of the scatter code per tile shape: a loop over the rows.
            b.forEach(from: .i64(0), to: .i64(rows), hint: "sr") { r in
                scatter.add(self, bi, add(i0, r), j0, width, gep(tileBuffer, mul(r, panelWidth)))
            }
            return
        }
        // After the first block of k, add what earlier blocks stored (the select keeps
        // whatever the output held before the first block out of the sum).
        for r in 0..<rows {
            for v in 0..<nvp {
                let width = v == nvp - 1 ? lastWidth : 16
                let p = gep(cRows[r], .i64(16 * v))
                var x = acc[r * nvp + v]
                if let first {
                    let old = loadVector(p, width: width, align: 4)
                    let earlier = b.value("select i1 \(first), \(v16) zeroinitializer, \(v16) \(old)")
                    x = b.value("fadd \(v16) \(x), \(earlier)")
                }
                storeVector(x, p, width: width)
            }
        }
        guard let epilogue else { return }
        let apply = {
            let width = (nvp - 1) * 16 + lastWidth
            self.b.forEach(from: .i64(0), to: .i64(rows), hint: "er") { r in
                let i = self.add(i0, r)
                let row = self.gep(KernelFunctionText.pointer(0), self.add(cBase, self.mul(i, self.n)))
                self.b.forEach(from: .i64(0), to: .i64(width), hint: "ej") { jj in
                    let p = self.gep(row, jj)
                    let x = self.b.value("load float, ptr \(p), align 4")
                    let y = epilogue.emit(self.b, x, self.index(self, bi, i, self.add(j0, jj)), self.extraPointers)
                    self.b.emit("store float \(y), ptr \(p), align 4")
                }
            }
        }
        if let last { b.ifThen(last) { apply() } } else { apply() }
    }
}
