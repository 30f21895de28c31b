import Passes

/// The forward convolution as `yᵀ = im2col(x)ᵀ · wᵀ` with im2col never built: an
/// "indirect" convolution (Dukhan, 2019), for maps where packing im2col costs more than it
/// saves.
///
/// The GEMM's rows are the output pixels of all images (`n·outH·outW`), its columns the
/// output channels, its k the taps and input channels, ordered `(u, v, c)`. A is read in
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

    /// Whether `s` is lowered this way on `unit`: wᵀ fits its buffer and there are at least
    /// as many output pixels as the transpose moves weights (below that the transpose
    /// costs more than the gathers it saves; Conv-4's 2×2 maps of 5 images).
    static func applies(_ s: ConvSpec, unit: VectorUnit) -> Bool {
        let k = s.c * s.kh * s.kw
        let (_, nv) = DenseGemmEmitter.tile(m: s.n * s.outH * s.outW, n: s.o, unit: unit)
        let padded = (s.o + nv * 16 - 1) / (nv * 16) * (nv * 16)
        return k * padded <= transposeLimit && s.n * s.outH * s.outW >= s.o
            && s.n * s.c * s.h * s.w < Int(Int32.max)
    }

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

    init(spec: ConvSpec, name: String, epilogue: Epilogue?, unit: VectorUnit) {
        self.spec = spec
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
        // wᵀ[(t·c + ci), o] = w[o, ci, t]: read w in order, write columns.
        b.forEach(from: .i64(0), to: .i64(s.o), hint: "to") { o in
            b.forEach(from: .i64(0), to: .i64(s.c), hint: "tc") { ci in
                let source = b.mul(b.add(b.mul(o, s.c), ci), taps)
                b.forEach(from: .i64(0), to: .i64(taps), hint: "tt") { t in
                    let value = b.loadFloat(w, b.add(source, t))
                    let target = b.add(b.mul(b.add(b.mul(t, s.c), ci), paddedO), o)
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
        let acc = b.loop(from: .i64(0), to: .i64(taps), carried: initial, hint: "tap") { t, acc in
            let u = b.udiv(t, s.kw), v = b.urem(t, s.kw)
            var pointers: [(type: String, initial: Value)] = []
            var strides: [Value] = []
            for g in geometry {
                let ih = b.add(g.ih, u), iw = b.add(g.iw, v)
                let valid = b.and(b.ult(ih, s.h), b.ult(iw, s.w))
                let offset = b.add(g.base, b.add(b.mul(ih, s.w), iw))
                // Not `inbounds`: a tap in the padding computes an address outside x (unused).
                let p = b.value("getelementptr float, ptr \(x), i64 \(offset)", hint: "xp")
                pointers.append(("ptr", b.value("select i1 \(valid), ptr \(p), ptr \(zero)")))
                strides.append(b.value("select i1 \(valid), i64 \(hw), i64 0"))
            }
            let kBase = b.mul(t, s.c)
            let inner = b.loop(from: .i64(0), to: .i64(s.c), carried: acc.map { (v16, $0) } + pointers, hint: "ch") { ci, carried in
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
