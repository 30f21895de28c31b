import Passes

/// The filter gradient as a GEMM whose A (x) is read in place: `dwᵀ = im2col(x) · dyᵀ`, im2col
/// never built.
///
/// The rows are (tap, input channel), the columns the output channels (whole vectors), k the
/// output pixels of all images. A register tile is `mr` channels of one tap × `nv·16` output
/// channels; since its rows share the tap, they share which pixels fall inside x: the tile
/// walks only those (for Conv-4's stride-2 layers 82% of the k of the im2col form, whose
/// other products are with padding zeros), as a loop nest over (image, valid output row,
/// valid output column) whose innermost step moves x's pointers by the stride and B's by a
/// row. Each row reads its own channel plane of x at the same offset.
///
/// k goes in blocks of images whose x fits L2 (`sourceLimit`); for each block and column
/// panel, B (dyᵀ) is packed into a stack buffer (`slabLimit` floats, so that it stays in L1
/// across the panel's row tiles). Each tile adds its block's products to running sums on
/// the stack (whole vectors); dw is written from them, with the epilogue, at the end.
///
/// Against the im2col form (`ConvFilterGradOperands`, rows o, columns (c, tap), B = im2colᵀ
/// gathered element by element): the packed operand is dy (each element then serves all
/// `c·kh·kw` rows instead of `o`), and no product with padding is formed. The row tiles are
/// ordered channel block major, tap minor, so a block's channel planes are re-read from
/// L1/L2 by its taps.
///
/// Buffers: `dw [o,c,kh,kw], x [n,c,h,w], dy [n,o,outH,outW]`, then the epilogue's; the
/// epilogue gets dw's index `[o, c, u, v]`. The outer range is (column panel, row tile).
struct IndirectFilterGradEmitter {
    let spec: ConvSpec
    let b: LLVMText
    private var function: KernelFunctionText
    let epilogue: Epilogue?
    let extraPointers: [Value]
    let mr, nv: Int
    /// Images per block of k (B's slab holds `blockImages · outH · outW` rows of a panel).
    let blockImages: Int

    /// Floats of dyᵀ a block's slab may hold (64 KiB).
    static let slabLimit = 16 * 1024
    /// Floats of x a block of images may span (192 KiB), so that the block's x is re-read
    /// from L2 by every panel. Measured on Conv-4's 75-image 14×14 layer inside the MAML
    /// step (x long out of cache): blocks of 20 images and x re-read from memory per panel,
    /// 47 GFLOP/s against 67 for the same kernel timed alone.
    static let sourceLimit = 48 * 1024
    /// Floats of the running sums of all row tiles and panels (256 KiB of stack).
    static let sumsLimit = 64 * 1024

    /// Whether `s`'s filter gradient is lowered this way on `unit`: at least 8 input channels
    /// (a tile's rows are channels of one tap), one image's slab within `slabLimit` and the
    /// running sums within `sumsLimit`.
    static func applies(_ s: ConvSpec, unit: VectorUnit) -> Bool {
        let (rows, nv) = tile(s, unit: unit), width = nv * 16
        let sums = s.kh * s.kw * ((s.c + rows - 1) / rows) * rows * ((s.o + width - 1) / width) * width
        let sizes = [s.n * s.c * s.h * s.w, s.n * s.o * s.outH * s.outW, s.o * s.c * s.kh * s.kw]
        return s.c >= 8 && s.outH * s.outW * width <= slabLimit && sums <= sumsLimit && sizes.allSatisfy { $0 < Int(Int32.max) }
    }

    /// The register tile: rows (channels of one tap, at most c) and vectors of 16 columns.
    private static func tile(_ s: ConvSpec, unit: VectorUnit) -> (mr: Int, nv: Int) {
        let (rows, vectors) = DenseGemmEmitter.tile(m: s.kh * s.kw * s.c, n: s.o, unit: unit)
        return (max(1, min(rows, s.c)), vectors)
    }

    private var taps: Int { spec.kh * spec.kw }
    private var pixels: Int { spec.outH * spec.outW }
    private var panelWidth: Int { nv * 16 }
    private var panels: Int { (spec.o + panelWidth - 1) / panelWidth }
    private var channelBlocks: Int { (spec.c + mr - 1) / mr }
    private var rowTiles: Int { taps * channelBlocks }
    private var imageBlocks: Int { (spec.n + blockImages - 1) / blockImages }
    /// Floats of one row tile's running sums.
    private var tileFloats: Int { mr * panelWidth }

    private var dw: Value { KernelFunctionText.pointer(0) }
    private var x: Value { KernelFunctionText.pointer(1) }
    private var dy: Value { KernelFunctionText.pointer(2) }

    init(spec: ConvSpec, name: String, epilogue: Epilogue?, unit: VectorUnit) {
        self.spec = spec
        self.epilogue = epilogue
        let extra = epilogue?.extraBuffers ?? 0
        function = KernelFunctionText(name: name, bufferCount: 3 + extra)
        b = function.body
        extraPointers = (0..<extra).map { KernelFunctionText.pointer(3 + $0) }
        (mr, nv) = Self.tile(spec, unit: unit)
        let slabPerImage = spec.outH * spec.outW * nv * 16, sourcePerImage = spec.c * spec.h * spec.w
        blockImages = max(1, min(spec.n, Self.slabLimit / max(1, slabPerImage), Self.sourceLimit / max(1, sourcePerImage)))
    }

    /// Emits the body and returns the kernel.
    func finish() -> DenseKernel {
        emitBody()
        return DenseKernel(function: function, outerExtent: panels * rowTiles, flops: spec.flops)
    }

    private func emitBody() {
        let s = spec
        guard s.o > 0, s.c > 0, taps > 0 else {
            b.emit("ret void")
            return
        }
        if s.n == 0 || pixels == 0 {
            // No k: dw is the epilogue of zeros.
            b.forEach(from: .i64(0), to: .i64(s.o * s.c * taps), hint: "z") { i in
                var value = Value.literal("0.0")
                if let epilogue {
                    let o = b.udiv(i, s.c * taps), rest = b.urem(i, s.c * taps)
                    let t = b.urem(rest, taps)
                    value = epilogue.emit(b, value, [o, b.udiv(rest, taps), b.udiv(t, s.kw), b.urem(t, s.kw)], extraPointers)
                }
                b.emit("store float \(value), ptr \(b.gep(dw, i)), align 4")
            }
            b.emit("ret void")
            return
        }
        let slab = b.value("alloca [\(blockImages * pixels * panelWidth) x float], align 64", hint: "slab")
        let sums = b.value("alloca [\(panels * rowTiles * tileFloats) x float], align 64", hint: "sums")
        let perPanel = rowTiles
        let first = b.sdiv(KernelFunctionText.begin, perPanel)
        let last = b.ceilDiv(KernelFunctionText.end, perPanel)
        // The chunk's panels, each before its row tiles: `panel(j0)`, then `unit(j0, rt,
        // running sums of the unit)` for each of the panel's row tiles in the chunk.
        func units(_ hint: String, panel: (Value) -> Void = { _ in }, _ unit: (Value, Value, Value) -> Void) {
            b.forEach(from: first, to: last, hint: hint) { jp in
                let base = b.mul(jp, perPanel), j0 = b.mul(jp, panelWidth)
                panel(j0)
                let lo = b.smax(b.sub(KernelFunctionText.begin, base), .i64(0))
                let hi = b.smin(b.sub(KernelFunctionText.end, base), .i64(perPanel))
                b.forEach(from: lo, to: hi, hint: hint + "r") { rt in
                    unit(j0, rt, b.gep(sums, b.mul(b.add(base, rt), tileFloats)))
                }
            }
        }
        units("zu") { _, _, tileSums in
            b.forEach(from: .i64(0), to: .i64(tileFloats / 16), hint: "zv") { q in
                b.emit("store \(DenseGemmEmitter.vector) zeroinitializer, ptr \(b.gep(tileSums, b.mul(q, 16))), align 64")
            }
        }
        b.forEach(from: .i64(0), to: .i64(imageBlocks), hint: "kb") { kb in
            let n0 = b.mul(kb, blockImages)
            let images = b.smin(.i64(blockImages), b.sub(.i64(s.n), n0))
            units("jp", panel: { j0 in pack(j0: j0, n0: n0, images: images, slab: slab) }) { _, rt, tileSums in
                tile(rt, n0: n0, images: images, slab: slab, sums: tileSums)
            }
        }
        units("su") { j0, rt, tileSums in store(rt, j0: j0, sums: tileSums) }
        b.emit("ret void")
    }

    /// B's slab: `slab[(image·P + p)·panelWidth + j] = dy[n0 + image, j0 + j, p]`, zero for
    /// columns past o.
    private func pack(j0: Value, n0: Value, images: Value, slab: Value) {
        let s = spec
        b.forEach(from: .i64(0), to: images, hint: "pi") { img in
            b.forEach(from: .i64(0), to: .i64(panelWidth), hint: "pj") { jj in
                let o = b.add(j0, jj)
                let inside = b.value("icmp slt i64 \(o), \(s.o)")
                let clamped = b.smin(o, .i64(s.o - 1))
                let source = b.mul(b.add(b.mul(b.add(n0, img), s.o), clamped), pixels)
                let target = b.add(b.mul(img, pixels * panelWidth), jj)
                b.forEach(from: .i64(0), to: .i64(pixels), hint: "pp",
                          properties: ["!{!\"llvm.loop.unroll.disable\"}", "!{!\"llvm.loop.vectorize.enable\", i1 false}"]) { p in
                    let v = b.loadFloat(dy, b.add(source, p))
                    let value = b.value("select i1 \(inside), float \(v), float 0.0")
                    b.emit("store float \(value), ptr \(b.gep(slab, b.add(target, b.mul(p, panelWidth)))), align 4")
                }
            }
        }
    }

    /// Row tile `rt` (channel block `rt / taps`, tap `rt mod taps`) × one panel over the
    /// images `n0 ..< n0 + images`, added to the tile's running sums (`mr` rows of
    /// `panelWidth`).
    private func tile(_ rt: Value, n0: Value, images: Value, slab: Value, sums: Value) {
        let s = spec, v16 = DenseGemmEmitter.vector
        let plane = s.h * s.w
        let (t, c0, live) = rowTile(rt)
        let u = b.udiv(t, s.kw), v = b.urem(t, s.kw)
        // Output rows i with 0 ≤ i·s + u − p < h: i from ⌈(p − u)/s⌉ to ⌊(h − 1 + p − u)/s⌋
        // (offset by kh·s so that the divisions see non-negative values).
        func range(_ tap: Value, _ size: Int, _ outSize: Int, _ kernel: Int) -> (Value, Value) {
            let shift = s.stride * kernel
            let low = b.sub(b.udiv(b.sub(.i64(s.padding + shift + s.stride - 1), tap), s.stride), .i64(kernel))
            let high = b.sub(b.udiv(b.sub(.i64(size - 1 + s.padding + shift), tap), s.stride), .i64(kernel - 1))
            return (b.smax(low, .i64(0)), b.smin(high, .i64(outSize)))
        }
        let (iLo, iHi) = range(u, s.h, s.outH, s.kh)
        let (jLo, jHi) = range(v, s.w, s.outW, s.kw)
        // Row r reads channel c0 + r (a dead row past c re-reads the block's first channel).
        let rows = (0..<mr).map { r -> Value in
            let channel = r == 0 ? c0 : b.value("select i1 \(b.value("icmp slt i64 \(r), \(live)")), i64 \(b.add(c0, .i64(r))), i64 \(c0)")
            return b.gep(x, b.mul(channel, plane))
        }
        let count = mr * nv
        let initial = Array(repeating: (type: v16, initial: Value.zeroinitializer), count: count)
        let acc = b.loop(from: .i64(0), to: images, carried: initial, hint: "im",
                         properties: ["!{!\"llvm.loop.unroll.disable\"}"]) { img, acc in
            let imageBase = b.mul(b.add(n0, img), s.c * plane)
            let kImage = b.mul(img, pixels)
            return b.loop(from: iLo, to: iHi, carried: acc.map { (v16, $0) }, hint: "oi",
                          properties: ["!{!\"llvm.loop.unroll.disable\"}"]) { i, acc in
                let sourceRow = b.add(b.mul(i, s.stride), b.sub(u, .i64(s.padding)))
                let xRow = b.add(imageBase, b.add(b.mul(sourceRow, s.w), b.sub(v, .i64(s.padding))))
                let kRow = b.add(kImage, b.mul(i, s.outW))
                return b.loop(from: jLo, to: jHi, carried: acc.map { (v16, $0) }, hint: "oj",
                              properties: ["!{!\"llvm.loop.unroll.disable\"}"]) { j, acc in
                    let offset = b.add(xRow, b.mul(j, s.stride))
                    let row = b.mul(b.add(kRow, j), panelWidth)
                    let bv = (0..<nv).map { vi in
                        b.value("load \(v16), ptr \(b.gep(slab, b.add(row, .i64(16 * vi)))), align 64")
                    }
                    return b.rankOneUpdate(acc, rows: mr, vectors: bv) { r in b.loadFloat(rows[r], offset) }
                }
            }
        }
        for r in 0..<mr {
            for vi in 0..<nv {
                let p = b.gep(sums, .i64(r * panelWidth + 16 * vi))
                let old = b.value("load \(v16), ptr \(p), align 64")
                b.emit("store \(v16) \(b.value("fadd \(v16) \(old), \(acc[r * nv + vi])")), ptr \(p), align 64")
            }
        }
    }

    /// Tap, first channel and live rows of row tile `rt`.
    private func rowTile(_ rt: Value) -> (tap: Value, c0: Value, live: Value) {
        let c0 = b.mul(b.udiv(rt, taps), mr)
        return (b.urem(rt, taps), c0, b.smin(.i64(mr), b.sub(.i64(spec.c), c0)))
    }

    /// dw[o, c, u, v] of row tile `rt`'s live rows and the panel's columns inside o, from its
    /// sums, through the epilogue.
    private func store(_ rt: Value, j0: Value, sums: Value) {
        let s = spec
        let (t, c0, live) = rowTile(rt)
        let u = b.udiv(t, s.kw), v = b.urem(t, s.kw)
        let width = b.smin(.i64(panelWidth), b.sub(.i64(s.o), j0))
        b.forEach(from: .i64(0), to: live, hint: "sr", properties: ["!{!\"llvm.loop.unroll.disable\"}"]) { r in
            let channel = b.add(c0, r)
            b.forEach(from: .i64(0), to: width, hint: "sj",
                      properties: ["!{!\"llvm.loop.unroll.disable\"}", "!{!\"llvm.loop.vectorize.enable\", i1 false}"]) { jj in
                let o = b.add(j0, jj)
                var value = b.loadFloat(sums, b.add(b.mul(r, panelWidth), jj))
                if let epilogue { value = epilogue.emit(b, value, [o, channel, u, v], extraPointers) }
                b.emit("store float \(value), ptr \(b.gep(dw, b.add(b.mul(b.add(b.mul(o, s.c), channel), taps), t))), align 4")
            }
        }
    }
}
