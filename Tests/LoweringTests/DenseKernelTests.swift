import JIT
import Passes
import Lowering
import MetaIR
import Testing

/// Dense kernels (matmul, conv2d and its gradients) against naive references.
@Suite struct DenseKernelTests {
    // MARK: helpers

    /// Both register files the tiles are sized for: every kernel must agree with the
    /// reference under either, whatever the host (AVX-512 tiles on an AVX2 host spill but
    /// stay correct).
    static let units: [VectorUnit] = [.avx512, .avx2]

    /// Seeded values in [-1, 1) on a grid of 2^-15, so that products and short sums are
    /// exact in Float and the tuned and naive kernels differ only by summation order.
    struct Rng {
        var generator: SplitMix64
        init(state: UInt64) { generator = SplitMix64(seed: state) }
        mutating func next() -> Float { Float(Int(generator.next() >> 48)) / 32768 - 1 }
        mutating func array(_ count: Int) -> [Float] { (0..<count).map { _ in next() } }
    }

    struct Case {
        var kernel: DenseKernel
        var inputs: [[Float]]
        var expected: [Double]
        var label: String
    }

    /// Compiles all cases into one module, runs each with one call and with the range split
    /// in two (and three) chunks, and compares with the reference.
    func check(_ cases: [Case]) throws {
        let text = KernelFunctionText.module(cases.map(\.kernel.function))
        let module = try LLVMJIT().compile(module: text, name: "dense")
        for c in cases {
            let extent = c.kernel.outerExtent
            let mid = extent / 2
            let splits: [[Int]] = [[0, extent], [0, mid, extent], [0, extent / 3, (2 * extent) / 3, extent], [0, 0, extent, extent]]
            for split in splits {
                var out = [Float](repeating: .nan, count: c.expected.count)
                let ins = c.inputs
                try out.withUnsafeMutableBufferPointer { o in
                    var ptrs: [UnsafeMutableRawPointer?] = [UnsafeMutableRawPointer(o.baseAddress)]
                    var holders: [UnsafeMutableBufferPointer<Float>] = []
                    for i in ins.indices {
                        let h = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, ins[i].count))
                        _ = h.initialize(from: ins[i])
                        holders.append(h)
                        ptrs.append(UnsafeMutableRawPointer(h.baseAddress))
                    }
                    defer { holders.forEach { $0.deallocate() } }
                    for w in 0..<(split.count - 1) {
                        try module.callKernel(named: c.kernel.function.name, buffers: &ptrs,
                                              range: Int64(split[w])..<Int64(split[w + 1]))
                    }
                }
                var worst = 0.0
                for i in out.indices {
                    let e = c.expected[i]
                    let err = abs(Double(out[i]) - e) / max(1, abs(e))
                    if !(err <= 1e-4) { worst = max(worst, err.isNaN ? .infinity : err) }
                }
                #expect(worst == 0, "\(c.label) split \(split): relative error \(worst)")
            }
        }
    }

    static func matmulReference(_ s: MatmulSpec, _ a: [Float], _ b: [Float]) -> [Double] {
        var out = [Double](repeating: 0, count: s.batch * s.m * s.n)
        for bt in 0..<s.batch {
            for i in 0..<s.m {
                for j in 0..<s.n {
                    var acc = 0.0
                    for k in 0..<s.k {
                        let av = s.transposeA ? a[bt * s.aBatchStride + k * s.m + i] : a[bt * s.aBatchStride + i * s.k + k]
                        let bv = s.transposeB ? b[bt * s.bBatchStride + j * s.k + k] : b[bt * s.bBatchStride + k * s.n + j]
                        acc += Double(av) * Double(bv)
                    }
                    out[(bt * s.m + i) * s.n + j] = acc
                }
            }
        }
        return out
    }

    /// The shared loop nest of `Interpreter.Convolution`: body(xIndex, wIndex, yIndex).
    static func convLoop(_ s: ConvSpec, _ body: (Int, Int, Int) -> Void) {
        for b in 0..<s.n {
            for o in 0..<s.o {
                for i in 0..<s.outH {
                    for j in 0..<s.outW {
                        let yi = ((b * s.o + o) * s.outH + i) * s.outW + j
                        for c in 0..<s.c {
                            for u in 0..<s.kh {
                                let hh = i * s.stride + u - s.padding
                                if hh < 0 || hh >= s.h { continue }
                                for v in 0..<s.kw {
                                    let ww = j * s.stride + v - s.padding
                                    if ww < 0 || ww >= s.w { continue }
                                    body(((b * s.c + c) * s.h + hh) * s.w + ww, ((o * s.c + c) * s.kh + u) * s.kw + v, yi)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    static let convShapes: [ConvSpec] = [
        ConvSpec(n: 2, c: 1, h: 5, w: 7, o: 3, kh: 3, kw: 3, stride: 1, padding: 1),
        ConvSpec(n: 1, c: 3, h: 5, w: 7, o: 4, kh: 3, kw: 3, stride: 2, padding: 1),
        ConvSpec(n: 3, c: 2, h: 7, w: 5, o: 7, kh: 3, kw: 3, stride: 2, padding: 0),
        ConvSpec(n: 1, c: 1, h: 1, w: 1, o: 1, kh: 1, kw: 1, stride: 1, padding: 0),
        ConvSpec(n: 2, c: 8, h: 14, w: 14, o: 20, kh: 3, kw: 3, stride: 1, padding: 1),
        ConvSpec(n: 2, c: 4, h: 9, w: 9, o: 13, kh: 3, kw: 3, stride: 2, padding: 1),
        ConvSpec(n: 3, c: 8, h: 2, w: 2, o: 64, kh: 3, kw: 3, stride: 1, padding: 1),
        ConvSpec(n: 1, c: 3, h: 12, w: 10, o: 8, kh: 2, kw: 3, stride: 1, padding: 1),
    ]

    // MARK: matmul

    @Test(arguments: Self.units) func matmulMatchesReference(unit: VectorUnit) throws {
        let shapes: [MatmulSpec] = [
            MatmulSpec(batch: 1, m: 1, k: 1, n: 1, aBatchStride: 0, bBatchStride: 0),
            MatmulSpec(batch: 1, m: 7, k: 13, n: 5, aBatchStride: 0, bBatchStride: 0),
            MatmulSpec(batch: 1, m: 1, k: 37, n: 70, aBatchStride: 0, bBatchStride: 0),
            MatmulSpec(batch: 1, m: 70, k: 37, n: 1, aBatchStride: 0, bBatchStride: 0),
            MatmulSpec(batch: 1, m: 7, k: 13, n: 5, aBatchStride: 0, bBatchStride: 0, transposeA: true),
            MatmulSpec(batch: 1, m: 9, k: 21, n: 35, aBatchStride: 0, bBatchStride: 0, transposeA: true, transposeB: true),
            MatmulSpec(batch: 3, m: 7, k: 13, n: 5, aBatchStride: 91, bBatchStride: 65),
            MatmulSpec(batch: 3, m: 7, k: 13, n: 5, aBatchStride: 0, bBatchStride: 65),
            MatmulSpec(batch: 4, m: 19, k: 11, n: 40, aBatchStride: 19 * 11, bBatchStride: 0, transposeB: true),
            MatmulSpec(batch: 2, m: 13, k: 9, n: 50, aBatchStride: 13 * 9, bBatchStride: 450, transposeA: true),
            MatmulSpec(batch: 1, m: 80, k: 64, n: 5, aBatchStride: 0, bBatchStride: 0),
            MatmulSpec(batch: 1, m: 64, k: 576, n: 64, aBatchStride: 0, bBatchStride: 0),
            MatmulSpec(batch: 1, m: 20, k: 300, n: 150, aBatchStride: 0, bBatchStride: 0, transposeB: true),  // k blocks
            MatmulSpec(batch: 1, m: 5, k: 2100, n: 130, aBatchStride: 0, bBatchStride: 0),  // packed, k blocks
            MatmulSpec(batch: 1, m: 5, k: 0, n: 3, aBatchStride: 0, bBatchStride: 0),
        ]
        var rng = Rng(state: 42)
        var cases: [Case] = []
        for (idx, s) in shapes.enumerated() {
            let aCount = s.aBatchStride * (s.batch - 1) + s.m * s.k
            let bCount = s.bBatchStride * (s.batch - 1) + s.k * s.n
            let a = rng.array(aCount), b = rng.array(bCount)
            cases.append(Case(kernel: DenseKernels.matmul(s, name: "mm\(idx)", unit: unit), inputs: [a, b],
                              expected: Self.matmulReference(s, a, b), label: "matmul \(s) \(unit)"))
        }
        try check(cases)
    }

    /// The forward convolution of `x` by `w` in Float64.
    static func forwardReference(_ s: ConvSpec, _ x: [Float], _ w: [Float]) -> [Double] {
        var y = [Double](repeating: 0, count: s.n * s.o * s.outH * s.outW)
        convLoop(s) { xi, wi, yi in y[yi] += Double(x[xi]) * Double(w[wi]) }
        return y
    }

    /// The filter gradient of `x` and `dy` in Float64.
    static func filterReference(_ s: ConvSpec, _ x: [Float], _ dy: [Float]) -> [Double] {
        var dw = [Double](repeating: 0, count: s.o * s.c * s.kh * s.kw)
        convLoop(s) { xi, wi, yi in dw[wi] += Double(x[xi]) * Double(dy[yi]) }
        return dw
    }

    /// `biasRelu` on a reference laid out `[n, channel, per]`.
    static func biasReluReference(_ v: [Double], _ bias: [Float], per: Int) -> [Double] {
        v.indices.map { max(0, v[$0] + Double(bias[($0 / per) % bias.count])) }
    }

    /// Bias per column from buffer 3, then ReLU.
    static var biasRelu: Epilogue { Epilogue(extraBuffers: 1) { b, x, index, extra in
        let p = b.value("getelementptr inbounds float, ptr \(extra[0]), i64 \(index[index.count == 3 ? 2 : 1])")
        let bias = b.value("load float, ptr \(p), align 4")
        let s = b.value("fadd float \(x), \(bias)")
        let pos = b.value("fcmp ogt float \(s), 0.0")
        return b.value("select i1 \(pos), float \(s), float 0.0")
    } }

    @Test(arguments: Self.units) func matmulEpilogue(unit: VectorUnit) throws {
        var rng = Rng(state: 7)
        var cases: [Case] = []
        for (idx, s) in [MatmulSpec(batch: 2, m: 9, k: 17, n: 37, aBatchStride: 9 * 17, bBatchStride: 0),
                         MatmulSpec(batch: 1, m: 64, k: 576, n: 64, aBatchStride: 0, bBatchStride: 0),
                         MatmulSpec(batch: 1, m: 6, k: 300, n: 100, aBatchStride: 0, bBatchStride: 0, transposeB: true)]
            .enumerated() {
            let a = rng.array(s.aBatchStride * (s.batch - 1) + s.m * s.k), b = rng.array(s.k * s.n)
            let bias = rng.array(s.n)
            var ref = Self.matmulReference(s, a, b)
            for i in ref.indices { ref[i] = max(0, ref[i] + Double(bias[i % s.n])) }
            cases.append(Case(kernel: DenseKernels.matmul(s, name: "mme\(idx)", epilogue: Self.biasRelu, unit: unit),
                              inputs: [a, b, bias], expected: ref, label: "matmul+bias+relu \(s)"))
        }
        try check(cases)
    }

    // MARK: convolution

    @Test(arguments: Self.units) func conv2dMatchesReference(unit: VectorUnit) throws {
        var rng = Rng(state: 3)
        var cases: [Case] = []
        for (idx, s) in Self.convShapes.enumerated() {
            let x = rng.array(s.n * s.c * s.h * s.w), w = rng.array(s.o * s.c * s.kh * s.kw)
            let y = Self.forwardReference(s, x, w)
            cases.append(Case(kernel: DenseKernels.conv2d(s, name: "cf\(idx)", unit: unit), inputs: [x, w], expected: y,
                              label: "conv2d \(s) \(unit)"))
            cases.append(Case(kernel: DenseKernels.conv2d(s, name: "cg\(idx)", packing: .gathers, unit: unit), inputs: [x, w],
                              expected: y, label: "conv2d (im2col gathers) \(s) \(unit)"))
            // Per-output-channel bias + ReLU (a few shapes: every kernel costs compile time).
            guard [0, 4, 6].contains(idx) else { continue }
            let bias = rng.array(s.o)
            let ye = Self.biasReluReference(y, bias, per: s.outH * s.outW)
            cases.append(Case(kernel: DenseKernels.conv2d(s, name: "cfe\(idx)", epilogue: Self.biasRelu, unit: unit),
                              inputs: [x, w, bias], expected: ye, label: "conv2d+bias+relu \(s)"))
        }
        try check(cases)
    }

    /// The indirect forward convolution (x read in place, wᵀ transposed per call): Conv-4's
    /// layers, a tail panel of output channels, rows spanning images, a 5×5 stride-3 filter
    /// with padding 2, no padding; with and without an epilogue, under every range split.
    @Test(arguments: Self.units) func indirectConvolutionMatchesReference(unit: VectorUnit) throws {
        let shapes = [
            ConvSpec(n: 5, c: 64, h: 14, w: 14, o: 64, kh: 3, kw: 3, stride: 2, padding: 1),
            ConvSpec(n: 3, c: 1, h: 28, w: 28, o: 64, kh: 3, kw: 3, stride: 2, padding: 1),
            ConvSpec(n: 4, c: 5, h: 7, w: 7, o: 40, kh: 3, kw: 3, stride: 2, padding: 1),
            ConvSpec(n: 2, c: 3, h: 12, w: 10, o: 5, kh: 5, kw: 5, stride: 3, padding: 2),
            ConvSpec(n: 3, c: 4, h: 9, w: 11, o: 20, kh: 3, kw: 2, stride: 1, padding: 0),
        ]
        var rng = Rng(state: 31)
        var cases: [Case] = []
        for (idx, s) in shapes.enumerated() {
            let x = rng.array(s.n * s.c * s.h * s.w), w = rng.array(s.o * s.c * s.kh * s.kw)
            let y = Self.forwardReference(s, x, w)
            cases.append(Case(kernel: DenseKernels.indirectConvolution(s, name: "ic\(idx)", unit: unit),
                              inputs: [x, w], expected: y, label: "conv2d (indirect) \(s) \(unit)"))
            guard idx % 2 == 0 else { continue }
            let bias = rng.array(s.o)
            let ye = Self.biasReluReference(y, bias, per: s.outH * s.outW)
            cases.append(Case(kernel: DenseKernels.indirectConvolution(s, name: "ice\(idx)", epilogue: Self.biasRelu, unit: unit),
                              inputs: [x, w, bias], expected: ye, label: "conv2d (indirect) +bias+relu \(s)"))
        }
        try check(cases)
        // `conv2d` chooses it for Conv-4's query layers, not for 5 images' 7×7 maps or the
        // 1-channel input layer.
        func indirect(_ s: ConvSpec) -> Bool {
            let f = DenseKernels.conv2d(s, name: "ich", unit: unit).function
            return f.text.contains("%wt") && !f.declarations.contains { $0.contains("gather") }
        }
        #expect(indirect(ConvSpec(n: 75, c: 64, h: 14, w: 14, o: 64, kh: 3, kw: 3, stride: 2, padding: 1)))
        #expect(indirect(ConvSpec(n: 75, c: 64, h: 4, w: 4, o: 64, kh: 3, kw: 3, stride: 2, padding: 1)))
        #expect(!indirect(ConvSpec(n: 5, c: 64, h: 7, w: 7, o: 64, kh: 3, kw: 3, stride: 2, padding: 1)))
        #expect(!indirect(ConvSpec(n: 75, c: 1, h: 28, w: 28, o: 64, kh: 3, kw: 3, stride: 2, padding: 1)))
    }

    @Test(arguments: Self.units) func conv2dInputGradMatchesReference(unit: VectorUnit) throws {
        var rng = Rng(state: 5)
        var cases: [Case] = []
        var shapes = Self.convShapes
        let wide = shapes.count  // rows over 32 floats: scattered element by element, not buffered
        shapes.append(ConvSpec(n: 2, c: 3, h: 5, w: 41, o: 4, kh: 3, kw: 3, stride: 2, padding: 1))
        shapes.append(ConvSpec(n: 2, c: 3, h: 11, w: 9, o: 5, kh: 5, kw: 5, stride: 3, padding: 2))
        shapes.append(ConvSpec(n: 1, c: 2, h: 8, w: 8, o: 3, kh: 2, kw: 2, stride: 2, padding: 0))
        // A 1×1 stride-2 filter: three of the four phases of dx get no tap (zeros).
        shapes.append(ConvSpec(n: 2, c: 3, h: 7, w: 6, o: 4, kh: 1, kw: 1, stride: 2, padding: 0))
        // Conv-4's 2×2-output layer of 5 images (indirect by default).
        shapes.append(ConvSpec(n: 5, c: 16, h: 4, w: 4, o: 64, kh: 3, kw: 3, stride: 2, padding: 1))
        // 64 KiB of dx per image: the indirect kernel takes one image per group (three groups).
        shapes.append(ConvSpec(n: 3, c: 64, h: 16, w: 16, o: 8, kh: 3, kw: 3, stride: 2, padding: 1))
        for (idx, s) in shapes.enumerated() {
            let dy = rng.array(s.n * s.o * s.outH * s.outW), w = rng.array(s.o * s.c * s.kh * s.kw)
            var dx = [Double](repeating: 0, count: s.n * s.c * s.h * s.w)
            Self.convLoop(s) { xi, wi, yi in dx[xi] += Double(dy[yi]) * Double(w[wi]) }
            for indirect in [false, true] {
                cases.append(Case(kernel: DenseKernels.conv2dInputGrad(s, name: "ci\(idx)_\(indirect)", indirect: indirect, unit: unit),
                                  inputs: [dy, w], expected: dx, label: "conv2dInputGrad (indirect \(indirect)) \(s) \(unit)"))
            }
            // Per-input-channel bias + ReLU on a stride-1 and a stride-2 shape.
            guard [4, 5, wide, wide + 1].contains(idx) else { continue }
            let bias = rng.array(s.c)
            let hw = s.h * s.w
            let dxe = dx.indices.map { max(0, dx[$0] + Double(bias[($0 / hw) % s.c])) }
            for indirect in [false, true] {
                cases.append(Case(kernel: DenseKernels.conv2dInputGrad(s, name: "cie\(idx)_\(indirect)", epilogue: Self.biasRelu,
                                                                       indirect: indirect, unit: unit),
                                  inputs: [dy, w, bias], expected: dxe, label: "conv2dInputGrad+bias+relu (indirect \(indirect)) \(s)"))
            }
        }
        try check(cases)
    }

    @Test(arguments: Self.units) func conv2dFilterGradMatchesReference(unit: VectorUnit) throws {
        var rng = Rng(state: 9)
        var cases: [Case] = []
        var shapes = Self.convShapes
        shapes.append(ConvSpec(n: 1, c: 24, h: 5, w: 5, o: 10, kh: 3, kw: 3, stride: 1, padding: 1))  // column panels
        shapes.append(ConvSpec(n: 3, c: 2, h: 40, w: 41, o: 3, kh: 3, kw: 3, stride: 1, padding: 1))  // k blocks
        for (idx, s) in shapes.enumerated() {
            let x = rng.array(s.n * s.c * s.h * s.w), dy = rng.array(s.n * s.o * s.outH * s.outW)
            let dw = Self.filterReference(s, x, dy)
            cases.append(Case(kernel: DenseKernels.conv2dFilterGrad(s, name: "cw\(idx)", unit: unit), inputs: [x, dy], expected: dw,
                              label: "conv2dFilterGrad \(s) \(unit)"))
            // Bias indexed by input channel (index [o, c, u, v]) + ReLU, on the column-panel shape.
            guard idx == shapes.count - 2 else { continue }
            let bias = rng.array(s.c)
            let dwe = Self.biasReluReference(dw, bias, per: s.kh * s.kw)
            cases.append(Case(kernel: DenseKernels.conv2dFilterGrad(s, name: "cwe\(idx)", epilogue: Self.biasRelu, unit: unit),
                              inputs: [x, dy, bias], expected: dwe, label: "conv2dFilterGrad+bias+relu \(s)"))
        }
        try check(cases)
    }

    /// The filter gradient with x read in place (tiles of one tap's channels over the pixels
    /// inside x): every conv shape, Conv-4's strided 14×14 and 4×4 layers, ragged column
    /// panels and channel blocks, several blocks of images (the last one short), with and
    /// without an epilogue, under every range split.
    @Test(arguments: Self.units) func indirectFilterGradMatchesReference(unit: VectorUnit) throws {
        var rng = Rng(state: 29)
        var cases: [Case] = []
        var shapes = Self.convShapes
        // Blocks of 3 images (x's 48 Ki floats), the last one short.
        shapes.append(ConvSpec(n: 7, c: 64, h: 14, w: 14, o: 64, kh: 3, kw: 3, stride: 2, padding: 1))
        shapes.append(ConvSpec(n: 5, c: 64, h: 4, w: 4, o: 64, kh: 3, kw: 3, stride: 2, padding: 1))
        shapes.append(ConvSpec(n: 2, c: 13, h: 9, w: 8, o: 37, kh: 3, kw: 3, stride: 2, padding: 1))
        let blocked = shapes.count  // 2 (AVX2) or 1 (AVX-512) images per block: 3 or 5 blocks
        shapes.append(ConvSpec(n: 5, c: 9, h: 20, w: 20, o: 17, kh: 3, kw: 3, stride: 1, padding: 1))
        shapes.append(ConvSpec(n: 2, c: 10, h: 11, w: 9, o: 5, kh: 5, kw: 5, stride: 3, padding: 2))
        for (idx, s) in shapes.enumerated() {
            let x = rng.array(s.n * s.c * s.h * s.w), dy = rng.array(s.n * s.o * s.outH * s.outW)
            let dw = Self.filterReference(s, x, dy)
            cases.append(Case(kernel: DenseKernels.indirectFilterGradient(s, name: "ifw\(idx)", unit: unit), inputs: [x, dy],
                              expected: dw, label: "conv2dFilterGrad (indirect) \(s) \(unit)"))
            guard idx >= blocked - 1 else { continue }
            let bias = rng.array(s.c)
            let dwe = Self.biasReluReference(dw, bias, per: s.kh * s.kw)
            cases.append(Case(kernel: DenseKernels.indirectFilterGradient(s, name: "ifwe\(idx)", epilogue: Self.biasRelu, unit: unit),
                              inputs: [x, dy, bias], expected: dwe, label: "conv2dFilterGrad (indirect) +bias+relu \(s) \(unit)"))
        }
        try check(cases)
        // Chosen for Conv-4's 64-channel layers, not for its 1-channel input layer.
        #expect(DenseKernels.conv2dFilterGrad(shapes[blocked - 3], name: "cfa", unit: unit).function.text.contains("slab"))
        let input = ConvSpec(n: 75, c: 1, h: 28, w: 28, o: 64, kh: 3, kw: 3, stride: 2, padding: 1)
        #expect(!DenseKernels.conv2dFilterGrad(input, name: "cfb", unit: unit).function.text.contains("slab"))
    }

    /// The line-by-line im2col packing (the fallback for operands too large for the gather
    /// tables) on the same shapes as the gathered default.
    @Test func linePackedConvolutionsMatchReference() throws {
        var rng = Rng(state: 11)
        var cases: [Case] = []
        for (idx, s) in Self.convShapes.enumerated() {
            let x = rng.array(s.n * s.c * s.h * s.w), w = rng.array(s.o * s.c * s.kh * s.kw)
            let dy = rng.array(s.n * s.o * s.outH * s.outW)
            var y = [Double](repeating: 0, count: s.n * s.o * s.outH * s.outW)
            var dw = [Double](repeating: 0, count: s.o * s.c * s.kh * s.kw)
            Self.convLoop(s) { xi, wi, yi in
                y[yi] += Double(x[xi]) * Double(w[wi])
                dw[wi] += Double(x[xi]) * Double(dy[yi])
            }
            cases.append(Case(kernel: DenseKernels.conv2d(s, name: "lf\(idx)", packing: .lines), inputs: [x, w],
                              expected: y, label: "conv2d (lines) \(s)"))
            cases.append(Case(kernel: DenseKernels.conv2dFilterGrad(s, name: "lw\(idx)", packing: .lines),
                              inputs: [x, dy], expected: dw, label: "conv2dFilterGrad (lines) \(s)"))
        }
        try check(cases)
    }

    /// A filter gradient whose x outgrows L2 (512 KiB here) prefetches the next image's
    /// span while it gathers, and still matches the reference under every range split; a
    /// small one does not prefetch.
    @Test func largeFilterGradientPrefetchesAhead() throws {
        let s = ConvSpec(n: 8, c: 64, h: 16, w: 16, o: 16, kh: 3, kw: 3, stride: 2, padding: 1)
        var rng = Rng(state: 23)
        let x = rng.array(s.n * s.c * s.h * s.w), dy = rng.array(s.n * s.o * s.outH * s.outW)
        var dw = [Double](repeating: 0, count: s.o * s.c * s.kh * s.kw)
        Self.convLoop(s) { xi, wi, yi in dw[wi] += Double(x[xi]) * Double(dy[yi]) }
        let k = DenseKernels.conv2dFilterGrad(s, name: "pfw", packing: .gathers)
        #expect(k.function.declarations.contains { $0.contains("@llvm.prefetch") })
        let ir = try LLVMJIT().optimizedIR(irText: k.function.moduleText, name: k.function.name)
        #expect(ir.contains("call void @llvm.prefetch"), "no prefetch left after optimisation")
        try check([Case(kernel: k, inputs: [x, dy], expected: dw, label: "conv2dFilterGrad (prefetching) \(s)")])
        let small = ConvSpec(n: 5, c: 64, h: 14, w: 14, o: 64, kh: 3, kw: 3, stride: 2, padding: 1)
        #expect(!DenseKernels.conv2dFilterGrad(small, name: "npfw", packing: .gathers).function.declarations.contains { $0.contains("prefetch") })
    }

    /// Forward convolutions whose output maps leave lanes idle run several images per GEMM
    /// and store C image by image through masked vectors: Conv-4's 7×7 and 2×2 maps, several
    /// blocks of k, a vector spanning up to 5 images, line packing, and a group smaller than
    /// the batch; all match the reference under every range split.
    @Test(arguments: Self.units) func imageGroupedForwardConvolution(unit: VectorUnit) throws {
        let conv4 = ConvSpec(n: 20, c: 16, h: 14, w: 14, o: 64, kh: 3, kw: 3, stride: 2, padding: 1)
        let tiny = ConvSpec(n: 5, c: 64, h: 4, w: 4, o: 64, kh: 3, kw: 3, stride: 2, padding: 1)
        let partial = ConvSpec(n: 20, c: 16, h: 20, w: 20, o: 24, kh: 3, kw: 3, stride: 2, padding: 1)
        let odd = ConvSpec(n: 6, c: 20, h: 11, w: 11, o: 48, kh: 3, kw: 3, stride: 2, padding: 0)
        #expect(DenseKernels.forwardImageGroup(conv4) == 10)
        // Conv-4's 5-image 7×7 maps stay single: grouped, 11 row blocks are too few to split.
        #expect(DenseKernels.forwardImageGroup(ConvSpec(n: 5, c: 64, h: 14, w: 14, o: 64, kh: 3, kw: 3, stride: 2, padding: 1)) == 1)
        #expect(DenseKernels.forwardImageGroup(ConvSpec(n: 75, c: 64, h: 14, w: 14, o: 64, kh: 3, kw: 3, stride: 2, padding: 1)) == 15)
        #expect(DenseKernels.forwardImageGroup(tiny) == 5)
        #expect(DenseKernels.forwardImageGroup(partial) == 4)
        #expect(DenseKernels.forwardImageGroup(odd) == 3)
        #expect(DenseKernels.forwardImageGroup(ConvSpec(n: 5, c: 64, h: 7, w: 7, o: 64, kh: 3, kw: 3, stride: 2, padding: 1)) == 1)
        var rng = Rng(state: 29)
        var cases: [Case] = []
        for (idx, s) in [conv4, tiny, partial, odd].enumerated() {
            let x = rng.array(s.n * s.c * s.h * s.w), w = rng.array(s.o * s.c * s.kh * s.kw)
            var y = [Double](repeating: 0, count: s.n * s.o * s.outH * s.outW)
            Self.convLoop(s) { xi, wi, yi in y[yi] += Double(x[xi]) * Double(w[wi]) }
            let k = DenseKernels.conv2d(s, name: "gg\(idx)", packing: .gathers, unit: unit)
            if DenseKernels.forwardImageGroup(s, unit: unit) > 1 {
                #expect(k.function.declarations.contains { $0.contains("@llvm.masked.store") }, "\(s): not grouped")
            }
            cases.append(Case(kernel: k, inputs: [x, w], expected: y, label: "conv2d (image groups) \(s) \(unit)"))
            cases.append(Case(kernel: DenseKernels.conv2d(s, name: "gl\(idx)", packing: .lines, unit: unit), inputs: [x, w],
                              expected: y, label: "conv2d (image groups, lines) \(s) \(unit)"))
        }
        try check(cases)
        // An epilogue keeps single images (the grouped store has none).
        let e = DenseKernels.conv2d(conv4, name: "ge", epilogue: Self.biasRelu, packing: .gathers)
        #expect(!e.function.declarations.contains { $0.contains("@llvm.masked.store") })
    }

    // MARK: code quality

    /// Conv-4's stride-2 layers pack im2col by masked vector gathers, 16 lanes at a time, with
    /// the padding's zeros from the mask; the line packer is not used.
    @Test func stridedConvolutionPacksByGathers() throws {
        let s = ConvSpec(n: 5, c: 64, h: 14, w: 14, o: 64, kh: 3, kw: 3, stride: 2, padding: 1)
        for k in [DenseKernels.conv2d(s, name: "gf", packing: .gathers), DenseKernels.conv2dFilterGrad(s, name: "gw", packing: .gathers)] {
            let f = k.function
            #expect(f.declarations.contains { $0.contains("@llvm.masked.gather.v16f32") })
            #expect(f.globals.count == 3)
            let ir = try LLVMJIT().optimizedIR(irText: f.moduleText, name: f.name)
            #expect(ir.contains("@llvm.masked.gather.v16f32"), "\(f.name): no 16-lane gather")
        }
        let lines = DenseKernels.conv2d(s, name: "lf", packing: .lines).function
        #expect(!lines.declarations.contains { $0.contains("gather") } && lines.globals.isEmpty)
    }

    /// The im2col-shaped matmul compiles to 512- or 256-bit FMAs.
    @Test func matmulUsesVectorFMA() throws {
        let s = MatmulSpec(batch: 1, m: 64, k: 576, n: 64, aBatchStride: 0, bBatchStride: 0)
        let k = DenseKernels.matmul(s, name: "mmfma")
        #expect(k.outerExtent == 11)
        #expect(k.flops == 2 * 64 * 576 * 64)
        let asm = try LLVMJIT().emitAssembly(irText: k.function.text, name: "mmfma")
        let lines = asm.split(separator: "\n")
        let fmas = lines.filter { $0.contains("vfmadd") && ($0.contains("zmm") || $0.contains("ymm")) }
        #expect(fmas.count >= 24, "expected a register tile of vector FMAs, found \(fmas.count)")
        #expect(asm.contains("mmfma:"))
        let ir = try LLVMJIT().optimizedIR(irText: k.function.text, name: "mmfma")
        #expect(ir.contains("<16 x float>"))
    }
}
