/// LLVM IR text emitters for the dense kernels (matmul and the three convolution forms).
///
/// Every kernel is lowered to one register-tiled GEMM `C[b] (m×n) = A[b] (m×k) · B[b] (k×n)`
/// whose output is contiguous `[batch, m, n]`:
///
/// | kernel      | batch | m | n        | k        | A                  | B                        |
/// |-------------|-------|---|----------|----------|--------------------|--------------------------|
/// | matmul      | batch | m | n        | k        | A (or Aᵀ)          | B (or Bᵀ, packed)        |
/// | conv2d      | n     | o | outH·outW| c·kh·kw  | w                  | im2col(x), packed        |
/// | input grad  | n     | c | h·w      | o·kh·kw  | w (reordered)      | col2im-transpose(dy)     |
/// | filter grad | 1     | o | c·kh·kw  | n·outH·outW | dy              | im2colᵀ(x), packed       |
///
/// The micro-kernel keeps an `mr × nv·16` tile of C in `<16 x float>` registers (6×64, 8×48,
/// 12×32 or 8×16 depending on n: 24 accumulators of the 32 zmm registers), broadcasts one A
/// element per row and k, and multiplies it with `nv` vectors of one B row (`fmul`/`fadd
/// contract`, which the backend fuses into `vfmadd…ps`). The last column vector of a
/// ragged panel is loaded and stored as `<r x float>` (r < 16), so nothing outside the
/// buffers is touched. B is read in place (plain matmul with a cache-friendly B) or packed
/// per `kc × nv·16` panel into a 48 KiB stack buffer, zero padded; packing is where the
/// transposes, im2col, padding and strides are resolved. Blocks of k after the first
/// accumulate into the stored tile. The epilogue runs once per element after the last block
/// of k, in a loop over the tile's columns that LLVM's loop vectorizer handles.
///
/// The outer range is `batch × row blocks` (each chunk owns whole `mr`-row slabs of C), or
/// `batch × column panels` for the filter gradient, whose single GEMM has few rows and a
/// long k: there every B panel is packed exactly once.
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
        g.bElement = { g, bi, kk, j in
            let c = g.udiv(kk, kk2), uv = g.urem(kk, kk2)
            let u = g.udiv(uv, s.kw), v = g.urem(uv, s.kw)
            let oh = g.udiv(j, s.outW), ow = g.urem(j, s.outW)
            let ih = g.sub(g.add(g.mul(oh, s.stride), u), "\(s.padding)")
            let iw = g.sub(g.add(g.mul(ow, s.stride), v), "\(s.padding)")
            let ok = g.and(g.ult(ih, s.h), g.ult(iw, s.w))
            let off = g.add(g.add(g.mul(bi, s.c * hw), g.mul(c, hw)), g.add(g.mul(ih, s.w), iw))
            return g.guardedLoad(g.bPtr, off, ok)
        }
        // Line oh of column kk = (c,u,v): x[c, oh·s+u−p, ow·s+v−p] for ow in 0..<outW.
        g.linePack = LinePack(
            alongK: false, lineLength: s.outW, count: s.outW, colStride: 1, srcStride: s.stride, srcLength: s.w,
            offsets: { g, _, kk in ("0", g.sub(g.urem(kk, s.kw), "\(s.padding)")) },
            line: { g, bi, kk, oh in
                let c = g.udiv(kk, kk2), u = g.udiv(g.urem(kk, kk2), s.kw)
                let ih = g.sub(g.add(g.mul(oh, s.stride), u), "\(s.padding)")
                return (g.ult(ih, s.h), g.add(g.add(g.mul(bi, s.c * hw), g.mul(c, hw)), g.mul(ih, s.w)))
            })
        g.index = { g, bi, i, j in [bi, i, g.udiv(j, s.outW), g.urem(j, s.outW)] }
        return g.finish(flops: s.flops)
    }

    /// Gradient of `conv2d` with respect to its input: buffers `dx [n,c,h,w],
    /// dy [n,o,outH,outW], w [o,c,kh,kw], extras…`; the epilogue gets indices `[n, c, y, x]`.
    public static func conv2dInputGrad(_ s: ConvSpec, name: String, epilogue: Epilogue? = nil) -> DenseKernel {
        let kk2 = s.kh * s.kw, p = s.outH * s.outW
        let g = DenseGemmEmitter(name: name, buffers: 3, epilogue: epilogue, batch: s.n, m: s.c, n: s.h * s.w,
                            k: s.o * kk2, packed: true, rowMode: true)
        g.aPtr = KernelFunctionText.pointer(2)
        g.bPtr = KernelFunctionText.pointer(1)
        // A[ci, (o,u,v)] = w[o, ci, u, v].
        g.aRow = { g, _, i in g.mul(i, kk2) }
        g.aK = { g, _, kk in g.add(g.mul(g.udiv(kk, kk2), s.c * kk2), g.urem(kk, kk2)) }
        // B[(o,u,v), (y,x)] = dy[o, (y+p-u)/s, (x+p-v)/s] where that is an exact output position.
        g.bElement = { g, bi, kk, j in
            let o = g.udiv(kk, kk2), uv = g.urem(kk, kk2)
            let u = g.udiv(uv, s.kw), v = g.urem(uv, s.kw)
            let y = g.udiv(j, s.w), x = g.urem(j, s.w)
            let ty = g.sub(g.add(y, "\(s.padding)"), u), tx = g.sub(g.add(x, "\(s.padding)"), v)
            var ok = g.and(g.ult(ty, s.outH * s.stride), g.ult(tx, s.outW * s.stride))
            var oy = ty, ox = tx
            if s.stride > 1 {
                ok = g.and(ok, g.and(g.isZero(g.urem(ty, s.stride)), g.isZero(g.urem(tx, s.stride))))
                oy = g.udiv(ty, s.stride)
                ox = g.udiv(tx, s.stride)
            }
            let off = g.add(g.add(g.mul(bi, s.o * p), g.mul(o, p)), g.add(g.mul(oy, s.outW), ox))
            return g.guardedLoad(g.bPtr, off, ok)
        }
        // Line y of row kk = (o,u,v): x = ox·s+v−p takes dy[o, (y+p−u)/s, ox].
        g.linePack = LinePack(
            alongK: false, lineLength: s.w, count: s.outW, colStride: s.stride, srcStride: 1, srcLength: s.outW,
            offsets: { g, _, kk in (g.sub(g.urem(kk, s.kw), "\(s.padding)"), "0") },
            line: { g, bi, kk, y in
                let o = g.udiv(kk, kk2), u = g.udiv(g.urem(kk, kk2), s.kw)
                let ty = g.sub(g.add(y, "\(s.padding)"), u)
                var ok = g.ult(ty, s.outH * s.stride)
                if s.stride > 1 { ok = g.and(ok, g.isZero(g.urem(ty, s.stride))) }
                let oy = g.udiv(ty, s.stride)
                return (ok, g.add(g.add(g.mul(bi, s.o * p), g.mul(o, p)), g.mul(oy, s.outW)))
            })
        g.index = { g, bi, i, j in [bi, i, g.udiv(j, s.w), g.urem(j, s.w)] }
        return g.finish(flops: s.flops)
    }

    /// Gradient of `conv2d` with respect to its filter: buffers `dw [o,c,kh,kw], x [n,c,h,w],
    /// dy [n,o,outH,outW], extras…`; the epilogue gets indices `[o, c, u, v]`.
    public static func conv2dFilterGrad(_ s: ConvSpec, name: String, epilogue: Epilogue? = nil) -> DenseKernel {
        let kk2 = s.kh * s.kw, p = s.outH * s.outW, hw = s.h * s.w
        let cols = s.c * kk2
        let tile = DenseGemmEmitter.tile(m: s.o, n: cols)
        let panels = (cols + tile.nv * 16 - 1) / (tile.nv * 16)
        // Enough column panels for two threads: split columns (each panel packed once);
        // otherwise split rows.
        let g = DenseGemmEmitter(name: name, buffers: 3, epilogue: epilogue, batch: 1, m: s.o, n: cols, k: s.n * p,
                            packed: true, rowMode: panels < 4)
        g.aPtr = KernelFunctionText.pointer(2)
        g.bPtr = KernelFunctionText.pointer(1)
        // A[o, (n,i,j)] = dy[n, o, i, j].
        g.aRow = { g, _, i in g.mul(i, p) }
        g.aK = { g, _, kk in g.add(g.mul(g.udiv(kk, p), s.o * p), g.urem(kk, p)) }
        // B[(n,i,j), (c,u,v)] = x[n, c, i·s+u−p, j·s+v−p].
        g.bElement = { g, _, kk, j in
            let img = g.udiv(kk, p), pix = g.urem(kk, p)
            let oh = g.udiv(pix, s.outW), ow = g.urem(pix, s.outW)
            let c = g.udiv(j, kk2), uv = g.urem(j, kk2)
            let u = g.udiv(uv, s.kw), v = g.urem(uv, s.kw)
            let ih = g.sub(g.add(g.mul(oh, s.stride), u), "\(s.padding)")
            let iw = g.sub(g.add(g.mul(ow, s.stride), v), "\(s.padding)")
            let ok = g.and(g.ult(ih, s.h), g.ult(iw, s.w))
            let off = g.add(g.add(g.mul(img, s.c * hw), g.mul(c, hw)), g.add(g.mul(ih, s.w), iw))
            return g.guardedLoad(g.bPtr, off, ok)
        }
        // Along k: line (n, oh) of column j = (c,u,v) is x[n, c, oh·s+u−p, ow·s+v−p], ow in 0..<outW.
        g.linePack = LinePack(
            alongK: true, lineLength: s.outW, count: s.outW, colStride: 1, srcStride: s.stride, srcLength: s.w,
            offsets: { g, _, j in ("0", g.sub(g.urem(j, s.kw), "\(s.padding)")) },
            line: { g, _, j, line in
                let img = g.udiv(line, s.outH), oh = g.urem(line, s.outH)
                let c = g.udiv(j, kk2), u = g.udiv(g.urem(j, kk2), s.kw)
                let ih = g.sub(g.add(g.mul(oh, s.stride), u), "\(s.padding)")
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
/// which LLVM vectorises, with only per-line divisions.
struct LinePack {
    var alongK: Bool
    var lineLength: Int
    var count: Int
    var colStride: Int
    var srcStride: Int
    var srcLength: Int
    /// (emitter, batch, fixed index) → (cOff, sOff).
    var offsets: (DenseGemmEmitter, String, String) -> (String, String)
    /// (emitter, batch, fixed index, line) → (line is valid: i1, source base offset).
    var line: (DenseGemmEmitter, String, String, String) -> (String, String)
}

/// Emits one register-tiled GEMM into a kernel body (see `DenseKernels`).
final class DenseGemmEmitter {
    typealias Offset = (DenseGemmEmitter, String, String) -> String

    let b: LLVMText
    var function: KernelFunctionText
    let epilogue: Epilogue?
    let extraPointers: [String]
    let batch, m, n, k: Int
    let mr, nv: Int
    let packed: Bool
    let rowMode: Bool
    /// k per packed block (`k` itself when B is read in place).
    let kc: Int

    var aPtr = "", bPtr = ""
    /// Element offset of row `i` of A[b] (batch, row).
    var aRow: Offset = { _, _, _ in "0" }
    /// Element offset of column `k` of A (batch, k); added to `aRow`.
    var aK: Offset = { _, _, _ in "0" }
    /// Element offset of B[b] when B is read in place (row-major `k×n`).
    var bBatchOffset: (DenseGemmEmitter, String) -> String = { _, _ in "0" }
    /// B[b][k, j] as a float (packed mode; must only load in bounds).
    var bElement: (DenseGemmEmitter, String, String, String) -> String = { _, _, _, _ in "0.0" }
    /// Pack with the column loop outside (B stored column-major).
    var packJOuter = false
    /// The epilogue's multi-index of C[b][i, j].
    var index: (DenseGemmEmitter, String, String, String) -> [String] = { _, b, i, j in [b, i, j] }

    /// B packed line by line from contiguous source rows (the convolutions), instead of
    /// element by element through `bElement`.
    var linePack: LinePack?

    private var scratch = ""
    static let vector = "<16 x float>"
    /// Floats of packed-B scratch (32 KiB: leaves room in L1 for A and C).
    static let scratchFloats = 8192

    /// Register tile for an `m×n` product: `nv` vectors of 16 columns × `mr` rows.
    static func tile(m: Int, n: Int) -> (mr: Int, nv: Int) {
        let nv = max(1, min(4, (n + 15) / 16))
        let mr = [1: 8, 2: 12, 3: 8, 4: 6][nv]!
        return (max(1, min(mr, m)), nv)
    }

    init(name: String, buffers: Int, epilogue: Epilogue?, batch: Int, m: Int, n: Int, k: Int,
         packed: Bool, rowMode: Bool) {
        let extra = epilogue?.extraBuffers ?? 0
        function = KernelFunctionText(name: name, bufferCount: buffers + extra)
        b = function.body
        self.epilogue = epilogue
        extraPointers = (0..<extra).map { KernelFunctionText.pointer(buffers + $0) }
        self.batch = max(0, batch)
        self.m = max(0, m)
        self.n = max(0, n)
        self.k = max(0, k)
        (mr, nv) = DenseGemmEmitter.tile(m: m, n: n)
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
    var outerExtent: Int { batch * (rowMode ? rowBlocks : panels) }

    // MARK: integer and memory helpers (i64; constants are folded here when possible)

    func add(_ x: String, _ y: String) -> String {
        if x == "0" { return y }
        if y == "0" { return x }
        if let a = Int(x), let c = Int(y) { return "\(a + c)" }
        return b.value("add nsw i64 \(x), \(y)")
    }
    func sub(_ x: String, _ y: String) -> String {
        if y == "0" { return x }
        if let a = Int(x), let c = Int(y) { return "\(a - c)" }
        return b.value("sub nsw i64 \(x), \(y)")
    }
    func mul(_ x: String, _ c: Int) -> String {
        if c == 0 { return "0" }
        if c == 1 { return x }
        if let a = Int(x) { return "\(a * c)" }
        return b.value("mul nsw i64 \(x), \(c)")
    }
    func udiv(_ x: String, _ c: Int) -> String {
        if c == 1 { return x }
        if let a = Int(x) { return "\(a / c)" }
        return b.value("udiv i64 \(x), \(c)")
    }
    func urem(_ x: String, _ c: Int) -> String {
        if c == 1 { return "0" }
        if let a = Int(x) { return "\(a % c)" }
        return b.value("urem i64 \(x), \(c)")
    }
    func sdiv(_ x: String, _ c: Int) -> String {
        if c == 1 { return x }
        return b.value("sdiv i64 \(x), \(c)")
    }
    /// ⌈x / c⌉ for x ≥ 0; for x < 0 some value ≤ 0 (callers clamp at 0).
    func ceilDiv(_ x: String, _ c: Int) -> String {
        if c == 1 { return x }
        return sdiv(add(x, "\(c - 1)"), c)
    }
    func smin(_ x: String, _ y: String) -> String {
        let c = b.value("icmp slt i64 \(x), \(y)")
        return b.value("select i1 \(c), i64 \(x), i64 \(y)")
    }
    func smax(_ x: String, _ y: String) -> String {
        let c = b.value("icmp sgt i64 \(x), \(y)")
        return b.value("select i1 \(c), i64 \(x), i64 \(y)")
    }
    func ult(_ x: String, _ c: Int) -> String { b.value("icmp ult i64 \(x), \(c)") }
    func isZero(_ x: String) -> String {
        if x == "0" { return "true" }
        return b.value("icmp eq i64 \(x), 0")
    }
    func and(_ x: String, _ y: String) -> String {
        if x == "true" { return y }
        if y == "true" { return x }
        return b.value("and i1 \(x), \(y)")
    }
    func gep(_ p: String, _ off: String) -> String {
        if off == "0" { return p }
        return b.value("getelementptr inbounds float, ptr \(p), i64 \(off)", hint: "p")
    }
    func loadFloat(_ p: String, _ off: String) -> String {
        b.value("load float, ptr \(gep(p, off)), align 4")
    }
    /// `ok ? p[off] : 0`, loading from `p[0]` when `!ok` so that no load leaves the buffer.
    func guardedLoad(_ p: String, _ off: String, _ ok: String) -> String {
        let safe = b.value("select i1 \(ok), i64 \(off), i64 0")
        let x = loadFloat(p, safe)
        return b.value("select i1 \(ok), float \(x), float 0.0")
    }

    private func lanes(_ count: Int, from: Int = 0) -> String {
        "<" + (0..<count).map { "i32 \(from + $0)" }.joined(separator: ", ") + ">"
    }
    /// Loads `width` (1…16) floats at `p` as a 16-lane vector (upper lanes zero).
    private func loadVector(_ p: String, width: Int, align: Int) -> String {
        if width == 16 { return b.value("load \(Self.vector), ptr \(p), align \(align)") }
        let part = b.value("load <\(width) x float>, ptr \(p), align 4")
        let idx = "<" + (0..<16).map { "i32 \(min($0, width))" }.joined(separator: ", ") + ">"
        return b.value("shufflevector <\(width) x float> \(part), <\(width) x float> zeroinitializer, <16 x i32> \(idx)")
    }
    /// Stores the first `width` lanes of `v` at `p`.
    private func storeVector(_ v: String, _ p: String, width: Int) {
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
        }
        let tailVectors = (tailColumns + 15) / 16
        let tailLast = tailColumns - (tailVectors - 1) * 16
        if rowMode {
            let rb = rowBlocks
            let first = sdiv("%begin", rb)
            let last = sdiv(b.value("add nsw i64 %end, \(rb - 1)"), rb)
            b.loop(from: first, to: last, hint: "bt") { bi, _ in
                let base = mul(bi, rb)
                let ib0 = smax(sub("%begin", base), "0"), ib1 = smin(sub("%end", base), "\(rb)")
                if fullPanels > 0 {
                    b.loop(from: "0", to: "\(fullPanels)", hint: "jp") { jp, _ in
                        panel(bi, mul(jp, panelWidth), nv, 16, ib0, ib1)
                        return []
                    }
                }
                if tailColumns > 0 {
                    panel(bi, "\(fullPanels * panelWidth)", tailVectors, tailLast, ib0, ib1)
                }
                return []
            }
        } else {
            let np = panels
            b.loop(from: "%begin", to: "%end", hint: "t") { t, _ in
                let bi = udiv(t, np), jp = urem(t, np)
                let ib1 = "\(rowBlocks)"
                if fullPanels > 0 && tailColumns > 0 {
                    let isFull = b.value("icmp ult i64 \(jp), \(fullPanels)")
                    let isTail = b.value("xor i1 \(isFull), true")
                    b.ifThen(isFull) { panel(bi, mul(jp, panelWidth), nv, 16, "0", ib1) }
                    b.ifThen(isTail) { panel(bi, "\(fullPanels * panelWidth)", tailVectors, tailLast, "0", ib1) }
                } else if fullPanels > 0 {
                    panel(bi, mul(jp, panelWidth), nv, 16, "0", ib1)
                } else {
                    panel(bi, "0", tailVectors, tailLast, "0", ib1)
                }
                return []
            }
        }
        b.emit("ret void")
    }

    /// Columns `j0 ..< j0 + (nvp−1)·16 + lastWidth` of row blocks `ib0 ..< ib1` of C[bi].
    private func panel(_ bi: String, _ j0: String, _ nvp: Int, _ lastWidth: Int, _ ib0: String, _ ib1: String) {
        let blockBody = { (k0: String, kEnd: String, first: String?, last: String?) in
            if self.packed { self.pack(bi, j0, k0, kEnd, nvp, lastWidth) }
            let full = self.fullRowBlocks
            let fullEnd = self.smin(ib1, "\(full)")
            self.b.loop(from: ib0, to: fullEnd, hint: "ib") { ib, _ in
                self.tile(self.mr, bi, self.mul(ib, self.mr), j0, nvp, lastWidth, k0, kEnd, first, last)
                return []
            }
            let rest = self.m - full * self.mr
            if rest > 0 {
                let reaches = self.b.value("icmp sgt i64 \(ib1), \(full)")
                let starts = self.b.value("icmp sle i64 \(ib0), \(full)")
                self.b.ifThen(self.and(reaches, starts)) {
                    self.tile(rest, bi, "\(full * self.mr)", j0, nvp, lastWidth, k0, kEnd, first, last)
                }
            }
        }
        if kBlocks == 1 {
            blockBody("0", "\(k)", nil, nil)
        } else {
            b.loop(from: "0", to: "\(kBlocks)", hint: "kb") { kb, _ in
                let k0 = mul(kb, kc)
                let kEnd = smin(add(k0, "\(kc)"), "\(k)")
                let first = b.value("icmp eq i64 \(kb), 0")
                let last = b.value("icmp eq i64 \(kb), \(kBlocks - 1)")
                blockBody(k0, kEnd, first, last)
                return []
            }
        }
    }

    /// Packs B[bi][k0..<kEnd, j0..<j0+width] into the scratch panel (row stride `panelWidth`),
    /// zero padding the columns up to `nvp·16`.
    private func pack(_ bi: String, _ j0: String, _ k0: String, _ kEnd: String, _ nvp: Int, _ lastWidth: Int) {
        let width = (nvp - 1) * 16 + lastWidth
        if let lp = linePack {
            packLines(lp, bi, j0, k0, kEnd, width)
        }
        let store = { (kk: String, jj: String, value: String) in
            let row = self.mul(self.sub(kk, k0), self.panelWidth)
            let p = self.gep(self.scratch, self.add(row, jj))
            self.b.emit("store float \(value), ptr \(p), align 4")
        }
        if linePack != nil {
        } else if packJOuter {
            b.loop(from: "0", to: "\(width)", hint: "pj") { jj, _ in
                b.loop(from: k0, to: kEnd, hint: "pk") { kk, _ in
                    store(kk, jj, bElement(self, bi, kk, add(j0, jj)))
                    return []
                }
                return []
            }
        } else {
            b.loop(from: k0, to: kEnd, hint: "pk") { kk, _ in
                b.loop(from: "0", to: "\(width)", hint: "pj") { jj, _ in
                    store(kk, jj, bElement(self, bi, kk, add(j0, jj)))
                    return []
                }
                return []
            }
        }
        if width < nvp * 16 {
            b.loop(from: k0, to: kEnd, hint: "pz") { kk, _ in
                b.loop(from: "\(width)", to: "\(nvp * 16)", hint: "pzj") { jj, _ in
                    store(kk, jj, "0.0")
                    return []
                }
                return []
            }
        }
    }

    /// `pack` for a `LinePack` B (see there).
    private func packLines(_ lp: LinePack, _ bi: String, _ j0: String, _ k0: String, _ kEnd: String, _ width: Int) {
        let pw = panelWidth
        let (fixedLo, fixedHi) = lp.alongK ? ("0", "\(width)") : (k0, kEnd)
        let (aLo, aHi) = lp.alongK ? (k0, kEnd) : (j0, add(j0, "\(width)"))
        let lineLength = lp.lineLength
        b.loop(from: fixedLo, to: fixedHi, hint: "pf") { fixed, _ in
            let global = lp.alongK ? add(j0, fixed) : fixed
            // Scratch offset of packed position a: base + a·step.
            let step = lp.alongK ? pw : 1
            let scratchBase = lp.alongK ? sub(fixed, mul(k0, pw)) : sub(mul(sub(fixed, k0), pw), j0)
            let store = { (a: String, value: String) in
                let p = self.gep(self.scratch, self.add(scratchBase, self.mul(a, step)))
                self.b.emit("store float \(value), ptr \(p), align 4")
            }
            let (cOff, sOff) = lp.offsets(self, bi, global)
            let rLo = udiv(aLo, lineLength)
            let rHi = add(udiv(sub(aHi, "1"), lineLength), "1")
            b.loop(from: rLo, to: rHi, hint: "pr") { r, _ in
                let lineStart = mul(r, lineLength)
                let segLo = sub(smax(aLo, lineStart), lineStart)
                let segHi = sub(smin(aHi, add(lineStart, "\(lineLength)")), lineStart)
                let (ok, base) = lp.line(self, bi, global, r)
                let tLo = smax(smax("0", ceilDiv(sub(segLo, cOff), lp.colStride)), ceilDiv(sub("0", sOff), lp.srcStride))
                let tHi0 = smin(smin("\(lp.count)", ceilDiv(sub(segHi, cOff), lp.colStride)),
                                ceilDiv(sub("\(lp.srcLength)", sOff), lp.srcStride))
                let tHi = smax(b.value("select i1 \(ok), i64 \(tHi0), i64 \(tLo)"), tLo)
                let zeroFill = { (from: String, to: String) in
                    self.b.loop(from: from, to: to, hint: "pz") { q, _ in
                        store(self.add(lineStart, q), "0.0")
                        return []
                    }
                }
                if lp.colStride == 1 {
                    let zEnd = smin(add(tLo, cOff), segHi)
                    zeroFill(segLo, zEnd)
                    zeroFill(smax(add(tHi, cOff), zEnd), segHi)
                } else {
                    zeroFill(segLo, segHi)
                }
                b.loop(from: tLo, to: tHi, hint: "pt") { t, _ in
                    let q = add(mul(t, lp.colStride), cOff)
                    let x = loadFloat(bPtr, add(base, add(mul(t, lp.srcStride), sOff)))
                    store(add(lineStart, q), x)
                    return []
                }
                return []
            }
            return []
        }
    }

    /// One `rows × (nvp·16)` register tile of C at (i0, j0), k in `k0 ..< kEnd`.
    private func tile(_ rows: Int, _ bi: String, _ i0: String, _ j0: String, _ nvp: Int, _ lastWidth: Int,
                      _ k0: String, _ kEnd: String, _ first: String?, _ last: String?) {
        let v16 = Self.vector
        let rowPointers = (0..<rows).map { r in gep(aPtr, aRow(self, bi, add(i0, "\(r)"))) }
        let bPanel = packed ? scratch : gep(bPtr, add(bBatchOffset(self, bi), j0))
        let carried = Array(repeating: (type: v16, initial: "zeroinitializer"), count: rows * nvp)
        let acc = b.loop(from: k0, to: kEnd, carried: carried, hint: "k") { kk, acc in
            var bv: [String] = []
            for v in 0..<nvp {
                let width = v == nvp - 1 ? lastWidth : 16
                if packed {
                    let off = add(mul(sub(kk, k0), panelWidth), "\(16 * v)")
                    bv.append(loadVector(gep(bPanel, off), width: 16, align: 64))
                } else {
                    let off = add(mul(kk, n), "\(16 * v)")
                    bv.append(loadVector(gep(bPanel, off), width: width, align: 4))
                }
            }
            let ak = aK(self, bi, kk)
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
        let cRows = (0..<rows).map { r in gep("%p0", add(cBase, mul(add(i0, "\(r)"), n))) }
        let storeAll = { (accumulate: Bool) in
            for r in 0..<rows {
                for v in 0..<nvp {
                    let width = v == nvp - 1 ? lastWidth : 16
                    let p = self.gep(cRows[r], "\(16 * v)")
                    var x = acc[r * nvp + v]
                    if accumulate {
                        let old = self.loadVector(p, width: width, align: 4)
                        x = self.b.value("fadd \(v16) \(x), \(old)")
                    }
                    self.storeVector(x, p, width: width)
                }
            }
        }
        if let first {
            b.ifThen(first) { storeAll(false) }
            b.ifThen(b.value("xor i1 \(first), true")) { storeAll(true) }
        } else {
            storeAll(false)
        }
        guard let epilogue else { return }
        let apply = {
            let width = (nvp - 1) * 16 + lastWidth
            for r in 0..<rows {
                let i = self.add(i0, "\(r)")
                self.b.loop(from: "0", to: "\(width)", hint: "ej") { jj, _ in
                    let p = self.gep(cRows[r], jj)
                    let x = self.b.value("load float, ptr \(p), align 4")
                    let y = epilogue.emit(self.b, x, self.index(self, bi, i, self.add(j0, jj)), self.extraPointers)
                    self.b.emit("store float \(y), ptr \(p), align 4")
                    return []
                }
            }
        }
        if let last { b.ifThen(last) { apply() } } else { apply() }
    }
}
