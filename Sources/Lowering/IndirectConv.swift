import Passes

/// The forward convolution as `yᵀ = im2col(x)ᵀ · wᵀ` with im2col never built: an
/// "indirect" convolution (Dukhan, 2019), for maps where packing im2col costs more than it
/// saves.
///
/// The GEMM's rows are the output pixels of all images (`n·outH·outW`), its columns the
/// output channels, its k the taps and input channels, ordered `(u, v, c)` (by blocks of
/// channels, `channelBlock`; one block by default). A is read in
/// place: for each tap every row of the register tile gets one pointer into x (its pixel's
/// input under that tap) and walks the channels from there, `h·w` floats a step; a pixel
/// whose tap falls in the padding points at a zero on the stack and does not move. B is wᵀ,
/// transposed once per call into a stack buffer (`k × o` floats, columns padded to whole
/// vectors), and read a row of vectors per k. The tile (`mr` pixels × `nv·16` channels,
/// `DenseGemmEmitter.tile`) goes through a small stack buffer to y, one channel plane at a
/// time, with the epilogue.
///
/// Against the im2col GEMM (`DenseKernels.conv2d`) this moves no x at all: there, every B
/// panel is gathered element by element (LLVM scalarizes the gathers on AMD cores, and the
/// hardware gather is slower still there), and each gathered element serves only `o` (64)
/// multiply-adds. The output channels also fill whole vectors where a 7×7 or 2×2 map does
/// not. What it adds is wᵀ's transpose per call and the tile's strided store.
///
/// Buffers: `y [n,o,outH,outW], x [n,c,h,w], w [o,c,kh,kw], extras…`; the epilogue gets
/// indices `[n, o, oh, ow]`. The outer range is the row blocks of `mr` pixels.
struct IndirectConvEmitter {
    let spec: ConvSpec
    let b: LLVMText
    private var function: KernelFunctionText
    let epilogue: Epilogue?
    let extraPointers: [Value]
    let mr, nv: Int

    /// Floats of wᵀ the stack buffer may hold (192 KiB: within the 4 MiB of the worker
    /// threads' stacks, and within L2).
    static let transposeLimit = 48 * 1024

    /// Whether `s` is lowered this way on `unit`: wᵀ fits its buffer, there are at least 3
    /// output pixels per output channel (the transpose of w, once per call, must be small
    /// beside the product) and at least 8 input channels (each tap sets up a pointer per
    /// row, amortised over the channels).
    ///
    /// Measured on one AVX2 thread against the im2col GEMM with gathers, in GFLOP/s
    /// (`metajit bench --conv-kernels`): Conv-4's 75-image layers 57.8 / 42.1 (14×14),
    /// 68.9 / 59.6 (7×7), 61.2 / 46.5 (4×4); 5 images 50.5 / 41.4 (14×14, 245 pixels) but
    /// 34.5 / 56.7 (7×7, 80 pixels); the 1-channel input layer 10.7 / 27.3 (5 images).
    static func applies(_ s: ConvSpec, unit: VectorUnit) -> Bool {
        let k = s.c * s.kh * s.kw, pixels = s.n * s.outH * s.outW
        let (_, nv) = DenseGemmEmitter.tile(m: pixels, n: s.o, unit: unit)
        let padded = (s.o + nv * 16 - 1) / (nv * 16) * (nv * 16)
        return k * padded <= transposeLimit && pixels >= 3 * s.o && s.c >= 8
            && s.n * s.c * s.h * s.w < Int(Int32.max)
    }

    /// Input channels per block of k: k runs over (channel block, tap, channel), so that
    /// smaller blocks re-read the same few lines of x from L1 across a block's taps.
    let channelBlock: Int

    /// The default channel block of `s`: all its channels (one block). Measured on one AVX2
    /// thread (`metajit bench --conv-kernels`), Conv-4's 75-image 14×14 layer ran at 18.5,
    /// 33.6, 54.2 and 57.8 GFLOP/s with blocks of 1, 4, 16 and 64 channels: the hardware
    /// prefetcher follows the 64 plane-strided streams well enough, and every block adds a
    /// round of pointer set-up.
    static func defaultChannelBlock(_ s: ConvSpec) -> Int { max(1, s.c) }

    private var pixels: Int { spec.outH * spec.outW }
    private var rows: Int { spec.n * pixels }
    private var taps: Int { spec.kh * spec.kw }
    private var k: Int { taps * spec.c }
    private var panelWidth: Int { nv * 16 }
    private var panels: Int { (spec.o + panelWidth - 1) / panelWidth }
    /// wᵀ's row length: the output channels padded to whole panels.
    private var paddedO: Int { panels * panelWidth }
    private var rowBlocks: Int { (rows + mr - 1) / mr }

    private var y: Value { KernelFunctionText.pointer(0) }
    private var x: Value { KernelFunctionText.pointer(1) }
    private var w: Value { KernelFunctionText.pointer(2) }

    /// `channelBlock` must divide `spec.c` (nil: `defaultChannelBlock`).
    init(spec: ConvSpec, name: String, epilogue: Epilogue?, unit: VectorUnit, channelBlock: Int? = nil) {
        self.spec = spec
        let block = channelBlock ?? Self.defaultChannelBlock(spec)
        precondition(block >= 1 && spec.c % block == 0, "channel block \(block) does not divide \(spec.c) channels")
        self.channelBlock = block
        self.epilogue = epilogue
        let extra = epilogue?.extraBuffers ?? 0
        function = KernelFunctionText(name: name, bufferCount: 3 + extra)
        b = function.body
        extraPointers = (0..<extra).map { KernelFunctionText.pointer(3 + $0) }
        (mr, nv) = DenseGemmEmitter.tile(m: spec.n * spec.outH * spec.outW, n: spec.o, unit: unit)
    }

    /// Emits the body and returns the kernel.
    func finish() -> DenseKernel {
        emitBody()
        return DenseKernel(function: function, outerExtent: rowBlocks, flops: spec.flops)
    }

    private func emitBody() {
        let s = spec
        guard rows > 0, s.o > 0, k > 0 else {
            b.emit("ret void")
            return
        }
        let wt = b.value("alloca [\(k * paddedO) x float], align 64", hint: "wt")
        let tileBuffer = b.value("alloca [\(mr * panelWidth) x float], align 64", hint: "tilebuf")
        let zero = b.value("alloca float, align 4", hint: "zero")
        b.emit("store float 0.0, ptr \(zero), align 4")
        // wᵀ[((cb·taps + t)·cbs + cl), o] = w[o, cb·cbs + cl, t]: read w in order, write columns.
        let cbs = channelBlock
        b.forEach(from: .i64(0), to: .i64(s.o), hint: "to") { o in
            b.forEach(from: .i64(0), to: .i64(s.c), hint: "tc") { ci in
                let source = b.mul(b.add(b.mul(o, s.c), ci), taps)
                let cb = b.udiv(ci, cbs), cl = b.urem(ci, cbs)
                b.forEach(from: .i64(0), to: .i64(taps), hint: "tt") { t in
                    let value = b.loadFloat(w, b.add(source, t))
                    let kk = b.add(b.mul(b.add(b.mul(cb, taps), t), cbs), cl)
                    let target = b.add(b.mul(kk, paddedO), o)
                    b.emit("store float \(value), ptr \(b.gep(wt, target)), align 4")
                }
            }
        }
        if paddedO > s.o {
            b.forEach(from: .i64(0), to: .i64(k), hint: "tz") { kk in
                b.forEach(from: .i64(s.o), to: .i64(paddedO), hint: "tzo") { o in
                    b.emit("store float 0.0, ptr \(b.gep(wt, b.add(b.mul(kk, paddedO), o))), align 4")
                }
            }
        }
        let full = rows / mr, rest = rows - full * mr
        let fullPanels = s.o / panelWidth, tail = s.o - fullPanels * panelWidth
        let panelShapes: [(first: Int, count: Int, vectors: Int, width: Int)] =
            (fullPanels > 0 ? [(0, fullPanels, nv, panelWidth)] : [])
            + (tail > 0 ? [(fullPanels, 1, (tail + 15) / 16, tail)] : [])
        for shape in panelShapes {
            b.forEach(from: .i64(shape.first), to: .i64(shape.first + shape.count), hint: "jp") { jp in
                let j0 = b.mul(jp, panelWidth)
                let fullEnd = b.smin(KernelFunctionText.end, .i64(full))
                b.forEach(from: KernelFunctionText.begin, to: fullEnd, hint: "ib") { ib in
                    tile(mr, b.mul(ib, mr), j0, shape.vectors, shape.width, wt: wt, zero: zero, tileBuffer: tileBuffer)
                }
                if rest > 0 {
                    let reaches = b.value("icmp sgt i64 \(KernelFunctionText.end), \(full)")
                    let starts = b.value("icmp sle i64 \(KernelFunctionText.begin), \(full)")
                    b.ifThen(b.and(reaches, starts)) {
                        tile(rest, .i64(full * mr), j0, shape.vectors, shape.width, wt: wt, zero: zero, tileBuffer: tileBuffer)
                    }
                }
            }
        }
        b.emit("ret void")
    }

    /// Pixels `r0 ..< r0 + count` × channels `j0 ..< j0 + width` (`vectors` vectors of 16).
    private func tile(_ count: Int, _ r0: Value, _ j0: Value, _ vectors: Int, _ width: Int,
                      wt: Value, zero: Value, tileBuffer: Value) {
        let s = spec, v16 = DenseGemmEmitter.vector, hw = s.h * s.w
        // Each row's image and the input position of its tap (0, 0).
        let geometry = (0..<count).map { r -> (base: Value, ih: Value, iw: Value) in
            let pixel = b.add(r0, .i64(r))
            let img = b.udiv(pixel, pixels), p = b.urem(pixel, pixels)
            return (b.mul(img, s.c * hw),
                    b.sub(b.mul(b.udiv(p, s.outW), s.stride), .i64(s.padding)),
                    b.sub(b.mul(b.urem(p, s.outW), s.stride), .i64(s.padding)))
        }
        let initial = Array(repeating: (type: v16, initial: Value.zeroinitializer), count: count * vectors)
        let cbs = channelBlock
        let blocks = b.loop(from: .i64(0), to: .i64(s.c / cbs), carried: initial, hint: "cb") { cb, accIn in
          let channelOffset = b.mul(cb, cbs * hw)
          let accOut = b.loop(from: .i64(0), to: .i64(taps), carried: accIn.map { (v16, $0) }, hint: "tap") { t, acc in
            let u = b.udiv(t, s.kw), v = b.urem(t, s.kw)
            var pointers: [(type: String, initial: Value)] = []
            var strides: [Value] = []
            for g in geometry {
                let ih = b.add(g.ih, u), iw = b.add(g.iw, v)
                let valid = b.and(b.ult(ih, s.h), b.ult(iw, s.w))
                let offset = b.add(b.add(g.base, channelOffset), b.add(b.mul(ih, s.w), iw))
                // Not `inbounds`: a tap in the padding computes an address outside x (unused).
                let p = b.value("getelementptr float, ptr \(x), i64 \(offset)", hint: "xp")
                pointers.append(("ptr", b.value("select i1 \(valid), ptr \(p), ptr \(zero)")))
                strides.append(b.value("select i1 \(valid), i64 \(hw), i64 0"))
            }
            let kBase = b.mul(b.add(b.mul(cb, taps), t), cbs)
            let inner = b.loop(from: .i64(0), to: .i64(cbs), carried: acc.map { (v16, $0) } + pointers, hint: "ch") { ci, carried in
                let row = b.add(b.mul(b.add(kBase, ci), paddedO), j0)
                let bv = (0..<vectors).map { vi in
                    b.value("load \(v16), ptr \(b.gep(wt, b.add(row, .i64(16 * vi)))), align 64")
                }
                var next = Array(carried[0..<(count * vectors)])
                var moved: [Value] = []
                for r in 0..<count {
                    let pointer = carried[count * vectors + r]
                    let a = b.value("load float, ptr \(pointer), align 4")
                    let splat = b.splat16(a, "float")
                    for vi in 0..<vectors {
                        let prod = b.value("fmul contract \(v16) \(splat), \(bv[vi])")
                        next[r * vectors + vi] = b.value("fadd contract \(v16) \(carried[r * vectors + vi]), \(prod)")
                    }
                    moved.append(b.value("getelementptr float, ptr \(pointer), i64 \(strides[r])", hint: "xn"))
                }
                return next + moved
            }
            return Array(inner[0..<(count * vectors)])
          }
          return accOut
        }
        let acc = blocks
        for r in 0..<count {
            for vi in 0..<vectors {
                let p = b.gep(tileBuffer, .i64(r * panelWidth + 16 * vi))
                b.emit("store \(v16) \(acc[r * vectors + vi]), ptr \(p), align 64")
            }
        }
        // y[img, o, p] for the tile's pixels, a channel plane at a time.
        b.forEach(from: .i64(0), to: .i64(count), hint: "sr") { r in
            let pixel = b.add(r0, r)
            let img = b.udiv(pixel, pixels), p = b.urem(pixel, pixels)
            let outBase = b.add(b.mul(img, s.o * pixels), p)
            let oh = b.udiv(p, s.outW), ow = b.urem(p, s.outW)
            b.forEach(from: .i64(0), to: .i64(width), hint: "sj") { j in
                let o = b.add(j0, j)
                var value = b.loadFloat(tileBuffer, b.add(b.mul(r, panelWidth), j))
                if let epilogue { value = epilogue.emit(b, value, [img, o, oh, ow], extraPointers) }
                b.emit("store float \(value), ptr \(b.gep(y, b.add(outBase, b.mul(o, pixels)))), align 4")
            }
        }
    }
}
