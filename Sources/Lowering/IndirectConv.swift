import Passes

/// The forward convolution and its input gradient as GEMMs whose A is read in place: an
/// "indirect" convolution (Dukhan, 2019), for maps where packing im2col, or scattering
/// col2im, costs more than it saves.
///
/// **Forward**, `yᵀ = im2col(x)ᵀ · wᵀ`: the rows are the output pixels of all images, the
/// columns the output channels, k the taps and input channels, ordered `(u, v, c)`.
///
/// **Input gradient**, `dx = Σ wᵀ·dy` gathered instead of scattered: the rows are the input
/// pixels, the columns the input channels, k the taps and output channels. A pixel y of a
/// stride-s convolution is reached only by the taps u with `(y + p − u) mod s = 0`, so the
/// rows come in s² phases (y mod s, x mod s), each with its own taps; a phase's rows run
/// over its pixels of all images. No product with a zero of a dilated dy is formed.
///
/// In both, for each tap every row of the register tile gets one pointer into the source
/// (x, or dy), at its pixel's position under that tap, and walks the channels from there, a
/// plane a step; a row whose tap falls outside the source points at a zero on the stack and
/// does not move. B is w reordered to `[tap, source channel, column]` once per call into a
/// stack buffer (columns padded to whole vectors) and read a row of vectors per k. The
/// tile (`mr` pixels × `nv·16` channels, `DenseGemmEmitter.tile`) goes through a small stack
/// buffer to the output, one channel plane at a time, with the epilogue.
///
/// Against the im2col GEMM (`DenseKernels.conv2d`) this moves no x at all: there every B
/// panel is gathered element by element (LLVM scalarizes the gathers on AMD cores, and the
/// hardware gather is slower still there), and each gathered element serves only `o` (64)
/// multiply-adds. Against the col2im input gradient it forms whole rows of dx in registers
/// instead of adding scattered scalars. Channels also fill whole vectors where a 7×7 or
/// 2×2 map does not. What it adds is w's reorder per call and the tile's strided store.
///
/// Buffers: forward `y [n,o,outH,outW], x [n,c,h,w], w [o,c,kh,kw]`, input gradient
/// `dx [n,c,h,w], dy [n,o,outH,outW], w`, then the epilogue's; the epilogue gets the
/// output's index. The outer range is the row blocks of all phases.
struct IndirectConvEmitter {
    enum Form { case forward, inputGradient }

    /// Rows that share their taps: `n × gridH × gridW` pixels decoded as (image, i, j).
    struct Phase {
        var gridH, gridW: Int
        /// Row (i, j)'s source anchor is (i, j)·`anchorScale` + `anchorShift`, its output
        /// position (i, j)·`outScale` + (`outH0`, `outW0`).
        var anchorScale, anchorShift: Int
        var outScale, outH0, outW0: Int
        /// Taps u = `u0` + `tapStep`·a (a < `tapsH`), likewise v; the source position under
        /// tap (a, b) is the anchor + (`dh0` + `tapSign`·a, `dw0` + `tapSign`·b).
        var u0, v0, tapsH, tapsW, tapStep: Int
        var dh0, dw0, tapSign: Int
    }

    let spec: ConvSpec
    let form: Form
    let b: LLVMText
    private var function: KernelFunctionText
    let epilogue: Epilogue?
    let extraPointers: [Value]
    let mr, nv: Int
    let phases: [Phase]
    /// Images whose rows are done together, phase after phase (a divisor of n): the
    /// input gradient's phases each write every s-th pixel of dx, so a group's dx (and the
    /// epilogue's operands) should stay in L2 until its last phase (128 KiB); measured on
    /// Conv-4's 75-image 14×14 layer with a ReLU mask, phase-major over all images ran at
    /// 33 GFLOP/s against col2im's 49. The forward convolution has one phase: all images.
    let groupImages: Int

    /// Floats of the reordered w the stack buffer may hold (192 KiB: within the 4 MiB of the
    /// worker threads' stacks, and within L2).
    static let transposeLimit = 48 * 1024

    /// Whether form `form` of `s` is lowered this way on `unit`: w's reorder fits its buffer,
    /// there are at least 3 output pixels (rows) per column for the forward convolution, 1
    /// for the input gradient (the reorder, once per call, must be small beside the
    /// product), and at least 8 source channels (each tap sets up a pointer per row,
    /// amortised over them).
    ///
    /// The input gradient against col2im (`ConvInputGradOperands`), same bench: 75 images
    /// 53.8 / 45.6 (14×14), 88.6 / 67.3 (7×7), 66.0 / 19.8 (4×4); 5 images 61.6 / 50.7,
    /// 73.7 / 48.5, 40.2 / 16.7.
    ///
    /// Measured on one AVX2 thread against the im2col GEMM with gathers, in GFLOP/s
    /// (`metajit bench --conv-kernels`): Conv-4's 75-image layers 57.8 / 42.1 (14×14),
    /// 68.9 / 59.6 (7×7), 61.2 / 46.5 (4×4); 5 images 50.5 / 41.4 (14×14, 245 pixels) but
    /// 34.5 / 56.7 (7×7, 80 pixels); the 1-channel input layer 10.7 / 27.3 (5 images).
    /// Blocking k by 1, 4 or 16 channels (to re-read x from L1 across a block's taps) ran
    /// the 75-image 14×14 layer at 18.5, 33.6 and 54.2 against 57.8 unblocked.
    static func applies(_ form: Form, _ s: ConvSpec, unit: VectorUnit) -> Bool {
        let e = IndirectConvEmitter.dimensions(form, s)
        let (_, nv) = DenseGemmEmitter.tile(m: e.rows, n: e.columns, unit: unit)
        let padded = (e.columns + nv * 16 - 1) / (nv * 16) * (nv * 16)
        let sizes = [s.n * s.c * s.h * s.w, s.n * s.o * s.outH * s.outW]
        // The input gradient's alternative (col2im) fills few lanes on small maps, so it
        // pays off sooner.
        let rowsPerColumn = form == .forward ? 3 : 1
        return s.kh * s.kw * e.sourceChannels * padded <= transposeLimit && e.rows >= rowsPerColumn * e.columns
            && e.sourceChannels >= 8 && sizes.allSatisfy { $0 < Int(Int32.max) }
    }

    /// Rows, columns and source channels (the inner k) of form `form` of `s`.
    private static func dimensions(_ form: Form, _ s: ConvSpec) -> (rows: Int, columns: Int, sourceChannels: Int) {
        switch form {
        case .forward: return (s.n * s.outH * s.outW, s.o, s.c)
        case .inputGradient: return (s.n * s.h * s.w, s.c, s.o)
        }
    }

    /// The GEMM's rows (pixels of all phases), columns and source channels (`dimensions`).
    let rows, columns, sourceChannels: Int
    private var taps: Int { spec.kh * spec.kw }
    private var k: Int { taps * sourceChannels }
    private var panelWidth: Int { nv * 16 }
    private var panels: Int { (columns + panelWidth - 1) / panelWidth }
    /// The reordered w's row length: the columns padded to whole panels.
    private var paddedColumns: Int { panels * panelWidth }
    /// The source's height and width (x, or dy).
    private var source: (h: Int, w: Int) { form == .forward ? (spec.h, spec.w) : (spec.outH, spec.outW) }
    /// The output's height and width (y, or dx).
    private var output: (h: Int, w: Int) { form == .forward ? (spec.outH, spec.outW) : (spec.h, spec.w) }
    /// Row blocks of phase `p` in one group of images.
    private func blocks(_ p: Phase) -> Int { (groupImages * p.gridH * p.gridW + mr - 1) / mr }
    private var blocksPerGroup: Int { phases.reduce(0) { $0 + blocks($1) } }

    private var out: Value { KernelFunctionText.pointer(0) }
    private var src: Value { KernelFunctionText.pointer(1) }
    private var w: Value { KernelFunctionText.pointer(2) }

    init(_ form: Form, spec: ConvSpec, name: String, epilogue: Epilogue?, unit: VectorUnit) {
        self.spec = spec
        self.form = form
        self.epilogue = epilogue
        let extra = epilogue?.extraBuffers ?? 0
        function = KernelFunctionText(name: name, bufferCount: 3 + extra)
        b = function.body
        extraPointers = (0..<extra).map { KernelFunctionText.pointer(3 + $0) }
        (rows, columns, sourceChannels) = Self.dimensions(form, spec)
        (mr, nv) = DenseGemmEmitter.tile(m: rows, n: columns, unit: unit)
        let s = spec
        switch form {
        case .forward:
            phases = [Phase(gridH: s.outH, gridW: s.outW, anchorScale: s.stride, anchorShift: -s.padding,
                            outScale: 1, outH0: 0, outW0: 0, u0: 0, v0: 0, tapsH: s.kh, tapsW: s.kw, tapStep: 1,
                            dh0: 0, dw0: 0, tapSign: 1)]
        case .inputGradient:
            // Phase (py, px): taps u ≡ py + p (mod s), reaching dy row (py + p − u) / s + i.
            func first(_ q: Int) -> Int { ((q + s.padding) % s.stride + s.stride) % s.stride }
            func count(_ u0: Int, _ size: Int) -> Int { u0 < size ? (size - u0 + s.stride - 1) / s.stride : 0 }
            var list: [Phase] = []
            for py in 0..<min(s.stride, s.h) {
                for px in 0..<min(s.stride, s.w) {
                    let u0 = first(py), v0 = first(px)
                    list.append(Phase(gridH: count(py, s.h), gridW: count(px, s.w), anchorScale: 1, anchorShift: 0,
                                      outScale: s.stride, outH0: py, outW0: px, u0: u0, v0: v0,
                                      tapsH: count(u0, s.kh), tapsW: count(v0, s.kw), tapStep: s.stride,
                                      dh0: (py + s.padding - u0) / s.stride, dw0: (px + s.padding - v0) / s.stride,
                                      tapSign: -1))
                }
            }
            phases = list
        }
        let perImage = (form == .forward ? 1 : s.c * s.h * s.w) * 4
        groupImages = form == .forward ? max(1, s.n)
            : (1...max(1, s.n)).last { s.n % $0 == 0 && $0 * perImage <= 128 * 1024 } ?? 1
    }

    /// Emits the body and returns the kernel.
    func finish() -> DenseKernel {
        emitBody()
        return DenseKernel(function: function, outerExtent: spec.n / groupImages * blocksPerGroup, flops: spec.flops)
    }

    private func emitBody() {
        let s = spec
        guard rows > 0, columns > 0 else {
            b.emit("ret void")
            return
        }
        let wt = b.value("alloca [\(max(1, k) * paddedColumns) x float], align 64", hint: "wt")
        let tileBuffer = b.value("alloca [\(mr * panelWidth) x float], align 64", hint: "tilebuf")
        let zero = b.value("alloca float, align 4", hint: "zero")
        b.emit("store float 0.0, ptr \(zero), align 4")
        // wt[(t·K + ks), j] = w[o, c, t] with (ks, j) = (c, o) forward, (o, c) backward: read
        // w in order, write columns.
        let sc = sourceChannels
        b.forEach(from: .i64(0), to: .i64(s.o), hint: "to") { o in
            b.forEach(from: .i64(0), to: .i64(s.c), hint: "tc") { c in
                let from = b.mul(b.add(b.mul(o, s.c), c), taps)
                let (ks, j) = form == .forward ? (c, o) : (o, c)
                b.forEach(from: .i64(0), to: .i64(taps), hint: "tt") { t in
                    let value = b.loadFloat(w, b.add(from, t))
                    let target = b.add(b.mul(b.add(b.mul(t, sc), ks), paddedColumns), j)
                    b.emit("store float \(value), ptr \(b.gep(wt, target)), align 4")
                }
            }
        }
        if paddedColumns > columns && k > 0 {
            b.forEach(from: .i64(0), to: .i64(k), hint: "tz") { kk in
                b.forEach(from: .i64(columns), to: .i64(paddedColumns), hint: "tzo") { j in
                    b.emit("store float 0.0, ptr \(b.gep(wt, b.add(b.mul(kk, paddedColumns), j))), align 4")
                }
            }
        }
        let fullPanels = columns / panelWidth, tail = columns - fullPanels * panelWidth
        let panelShapes: [(first: Int, count: Int, vectors: Int, width: Int)] =
            (fullPanels > 0 ? [(0, fullPanels, nv, panelWidth)] : [])
            + (tail > 0 ? [(fullPanels, 1, (tail + 15) / 16, tail)] : [])
        // The outer range is (image group, phase, row block); a chunk visits its groups in
        // order and, in each, the phases' blocks it covers.
        let perGroup = blocksPerGroup
        let gFirst = b.sdiv(KernelFunctionText.begin, perGroup)
        let gLast = b.sdiv(b.value("add nsw i64 \(KernelFunctionText.end), \(perGroup - 1)"), perGroup)
        b.forEach(from: gFirst, to: gLast, hint: "grp") { g in
            let base = b.mul(g, perGroup)
            let firstImage = b.mul(g, groupImages)
            var start = 0
            for phase in phases {
                let phaseRows = groupImages * phase.gridH * phase.gridW
                let phaseStart = start
                start += blocks(phase)
                guard phaseRows > 0 else { continue }
                // One tile shape per phase and panel shape: the last block's rows past the
                // phase read zeros and are not stored (a second, smaller tile would double the code).
                let lo = b.smax(b.sub(KernelFunctionText.begin, base), .i64(phaseStart))
                let hi = b.smin(b.sub(KernelFunctionText.end, base), .i64(phaseStart + blocks(phase)))
                // Row block major: a block's source rows are re-read from L1 by every panel
                // (panel major re-read all of x from memory per panel inside the step).
                b.forEach(from: lo, to: hi, hint: "ib") { ib in
                    let r0 = b.mul(b.sub(ib, .i64(phaseStart)), mr)
                    let live = b.smin(.i64(mr), b.sub(.i64(phaseRows), r0))
                    for shape in panelShapes {
                        b.forEach(from: .i64(shape.first), to: .i64(shape.first + shape.count), hint: "jp") { jp in
                            tile(phase, firstImage, r0, live: live, b.mul(jp, panelWidth), shape.vectors, shape.width,
                                 wt: wt, zero: zero, tileBuffer: tileBuffer)
                        }
                    }
                }
            }
        }
        b.emit("ret void")
    }

    /// Rows `r0 ..< r0 + live` (`live` ≤ `mr`) of `phase` in the image group starting at
    /// `firstImage` × columns `j0 ..< j0 + width` (`vectors` vectors of 16).
    private func tile(_ phase: Phase, _ firstImage: Value, _ r0: Value, live: Value, _ j0: Value, _ vectors: Int, _ width: Int,
                      wt: Value, zero: Value, tileBuffer: Value) {
        let s = spec, v16 = DenseGemmEmitter.vector, count = mr
        let grid = phase.gridH * phase.gridW
        let sourcePlane = source.h * source.w, sc = sourceChannels
        // Each row's image and grid position.
        func decode(_ row: Value) -> (img: Value, i: Value, j: Value) {
            let q = b.urem(row, grid)
            return (b.add(firstImage, b.udiv(row, grid)), b.udiv(q, phase.gridW), b.urem(q, phase.gridW))
        }
        let geometry = (0..<count).map { r -> (base: Value, ah: Value, aw: Value, isLive: Value) in
            let (img, i, j) = decode(b.add(r0, .i64(r)))
            return (b.mul(img, sc * sourcePlane),
                    b.add(b.mul(i, phase.anchorScale), .i64(phase.anchorShift)),
                    b.add(b.mul(j, phase.anchorScale), .i64(phase.anchorShift)),
                    b.value("icmp slt i64 \(r), \(live)"))
        }
        let initial = Array(repeating: (type: v16, initial: Value.zeroinitializer), count: count * vectors)
        // Kept a loop: fully unrolled (LLVM would, for 9 or fewer taps), every tile shape's
        // channel loop is copied per tap, which cost seconds of cold compile per step.
        let acc = b.loop(from: .i64(0), to: .i64(phase.tapsH * phase.tapsW), carried: initial, hint: "tap",
                         properties: ["!{!\"llvm.loop.unroll.disable\"}"]) { ta, acc in
            let a = b.udiv(ta, phase.tapsW), bb = b.urem(ta, phase.tapsW)
            let u = b.add(b.mul(a, phase.tapStep), .i64(phase.u0)), v = b.add(b.mul(bb, phase.tapStep), .i64(phase.v0))
            let dh = b.add(b.mul(a, phase.tapSign), .i64(phase.dh0)), dw = b.add(b.mul(bb, phase.tapSign), .i64(phase.dw0))
            var pointers: [(type: String, initial: Value)] = []
            var strides: [Value] = []
            for g in geometry {
                let ih = b.add(g.ah, dh), iw = b.add(g.aw, dw)
                let valid = b.and(g.isLive, b.and(b.ult(ih, source.h), b.ult(iw, source.w)))
                let offset = b.add(g.base, b.add(b.mul(ih, source.w), iw))
                // Not `inbounds`: a tap outside the source computes an address outside it (unused).
                let p = b.value("getelementptr float, ptr \(src), i64 \(offset)", hint: "xp")
                pointers.append(("ptr", b.value("select i1 \(valid), ptr \(p), ptr \(zero)")))
                strides.append(b.value("select i1 \(valid), i64 \(sourcePlane), i64 0"))
            }
            let kBase = b.mul(b.add(b.mul(u, s.kw), v), sc)
            let inner = b.loop(from: .i64(0), to: .i64(sc), carried: acc.map { (v16, $0) } + pointers, hint: "ch") { ks, carried in
                let row = b.add(b.mul(b.add(kBase, ks), paddedColumns), j0)
                let bv = (0..<vectors).map { vi in
                    b.value("load \(v16), ptr \(b.gep(wt, b.add(row, .i64(16 * vi)))), align 64")
                }
                var moved: [Value] = []
                let next = b.rankOneUpdate(Array(carried[0..<(count * vectors)]), rows: count, vectors: bv) { r in
                    let pointer = carried[count * vectors + r]
                    moved.append(b.value("getelementptr float, ptr \(pointer), i64 \(strides[r])", hint: "xn"))
                    return b.value("load float, ptr \(pointer), align 4")
                }
                return next + moved
            }
            return Array(inner[0..<(count * vectors)])
        }
        for r in 0..<count {
            for vi in 0..<vectors {
                let p = b.gep(tileBuffer, .i64(r * panelWidth + 16 * vi))
                b.emit("store \(v16) \(acc[r * vectors + vi]), ptr \(p), align 64")
            }
        }
        // The output at the tile's pixels, a channel plane at a time.
        let outPlane = output.h * output.w
        b.forEach(from: .i64(0), to: live, hint: "sr") { r in
            let (img, i, j) = decode(b.add(r0, r))
            let y = b.add(b.mul(i, phase.outScale), .i64(phase.outH0))
            let x = b.add(b.mul(j, phase.outScale), .i64(phase.outW0))
            let base = b.add(b.mul(img, columns * outPlane), b.add(b.mul(y, output.w), x))
            // A plain loop: vectorized or unrolled, its strided stores and the epilogue were
            // copied many times over for little gain (cold compile time).
            b.forEach(from: .i64(0), to: .i64(width), hint: "sj",
                      properties: ["!{!\"llvm.loop.unroll.disable\"}", "!{!\"llvm.loop.vectorize.enable\", i1 false}"]) { jj in
                let column = b.add(j0, jj)
                var value = b.loadFloat(tileBuffer, b.add(b.mul(r, panelWidth), jj))
                if let epilogue { value = epilogue.emit(b, value, [img, column, y, x], extraPointers) }
                b.emit("store float \(value), ptr \(b.gep(out, b.add(base, b.mul(column, outPlane)))), align 4")
            }
        }
    }
}
