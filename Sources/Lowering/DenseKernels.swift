import Passes

/// LLVM IR text emitters for the dense kernels (matmul and the three convolution forms).
///
/// Every kernel is lowered to one register-tiled GEMM `C[b] (m×n) = A[b] (m×k) · B[b] (k×n)`
/// whose output is contiguous `[batch, m, n]` (the forward convolution over several images
/// stores its columns image by image instead):
///
/// | kernel      | batch | m | n        | k        | A                  | B                        |
/// |-------------|-------|---|----------|----------|--------------------|--------------------------|
/// | matmul      | batch | m | n        | k        | A (or Aᵀ)          | B (or Bᵀ, packed)        |
/// | conv2d      | n/g   | o | g·outH·outW | c·kh·kw | w               | im2col(x) of g images, gathered |
/// | input grad  | n·c/2 | 2·kh·kw | outH·outW | o   | wᵀ                 | dy, in place; C buffered, then dx row by row (col2im) |
/// | filter grad | 1     | o | c·kh·kw  | n·outH·outW | dy              | im2colᵀ(x), gathered     |
///
/// Where `IndirectConvEmitter.applies`, the forward convolution and the input gradient are
/// instead GEMMs over pixels × channels whose A (x, or dy) is read in place through one
/// pointer per tile row and tap (see there); where `IndirectFilterGradEmitter.applies`
/// (8 or more input channels), the filter gradient is `dwᵀ = im2col(x)·dyᵀ` with x read in
/// place by tiles of one tap's channels and dyᵀ packed per image block. The table's forms
/// remain for the other shapes.
///
/// The micro-kernel keeps an `mr × nv·16` tile of C in `<16 x float>` registers (6×64, 8×48,
/// 12×32 or 8×16 depending on n: 24 accumulators of the 32 zmm registers), broadcasts one A
/// element per row and k, and multiplies it with `nv` vectors of one B row (`fmul`/`fadd
/// contract`, which the backend fuses into `vfmadd…ps`). The last column vector of a
/// ragged panel is loaded and stored as `<r x float>` (r < 16), so nothing outside the
/// buffers is touched. B is read in place (plain matmul with a cache-friendly B) or packed
/// per `kc × nv·16` panel into a 32 KiB stack buffer, zero padded; packing is where the
/// transposes, im2col, padding and strides are resolved (the convolutions' im2col by masked
/// `<16 x float>` gathers through constant column tables, `GatherPackedB`, unless the
/// tables would be too large; then line by line, `LinePackedB`). Blocks of k after the first
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
    public static func matmul(_ s: MatmulSpec, name: String, epilogue: Epilogue? = nil, unit: VectorUnit = .avx512) -> DenseKernel {
        let operands = MatmulOperands(spec: s)
        // B is packed when transposed (its rows are strided) or too large to stay in cache.
        let packed = s.transposeB || s.k * s.n > 256 * 1024
        let g = DenseGemmEmitter(name: name, buffers: 3, epilogue: epilogue,
                                 shape: GemmShape(batch: s.batch, m: s.m, n: s.n, k: s.k), unit: unit, operands: operands,
                                 bSource: packed ? .packedElements(operands) : .inPlace(operands))
        return g.finish(flops: s.flops)
    }

    /// Forward convolution (`ConvSpec`): buffers `y [n,o,outH,outW], x [n,c,h,w],
    /// w [o,c,kh,kw], extras…`; the epilogue gets indices `[n, o, oh, ow]`.
    ///
    /// Without an epilogue, maps that fill few lanes per image (Conv-4's 7×7 and 2×2
    /// outputs: 49 of 64 and 4 of 16) run `forwardImageGroup` images per GEMM; C's columns
    /// then span the group's images and are stored image by image (`columnGroup`).
    public static func conv2d(_ s: ConvSpec, name: String, epilogue: Epilogue? = nil,
                              packing: Im2colPacking = .automatic, unit: VectorUnit = .avx512) -> DenseKernel {
        if packing == .automatic && IndirectConvEmitter.applies(.forward, s, unit: unit) {
            return IndirectConvEmitter(.forward, spec: s, name: name, epilogue: epilogue, unit: unit).finish()
        }
        // Several images per GEMM where single images leave lanes idle (no epilogue: the
        // grouped store has none).
        let images = epilogue == nil ? ConvForwardOperands.imageGroup(s, unit: unit) : 1
        let operands = ConvForwardOperands(spec: s, images: images)
        let pixels = s.outH * s.outW
        let gathers = packing.gathers(s, columns: images * pixels)
        let g = DenseGemmEmitter(name: name, buffers: 3, epilogue: epilogue,
                                 shape: GemmShape(batch: s.n / images, m: s.o, n: images * pixels, k: s.c * s.kh * s.kw),
                                 unit: unit,
                                 operands: operands, bSource: gathers ? .packedGather(operands) : .packedLines(operands),
                                 columnGroup: images > 1 ? pixels : nil)
        return g.finish(flops: s.flops)
    }

    /// The forward convolution (or, with `inputGradient`, its input gradient) of `s` with
    /// the source read in place (`IndirectConvEmitter`), whether or not `conv2d` or
    /// `conv2dInputGrad` would choose it; for tests and kernel A/Bs (`metajit bench
    /// --conv-kernels`).
    public static func indirectConvolution(_ s: ConvSpec, inputGradient: Bool = false, name: String, epilogue: Epilogue? = nil,
                                           unit: VectorUnit = .avx512) -> DenseKernel {
        IndirectConvEmitter(inputGradient ? .inputGradient : .forward, spec: s, name: name, epilogue: epilogue, unit: unit).finish()
    }

    /// The filter gradient of `s` with x read in place (`IndirectFilterGradEmitter`),
    /// whether or not `conv2dFilterGrad` would choose it; for tests and kernel A/Bs.
    public static func indirectFilterGradient(_ s: ConvSpec, name: String, epilogue: Epilogue? = nil,
                                              unit: VectorUnit = .avx512) -> DenseKernel {
        IndirectFilterGradEmitter(spec: s, name: name, epilogue: epilogue, unit: unit).finish()
    }

    /// Images per GEMM of the forward convolution `s` without epilogue (1 unless grouping
    /// images fills clearly more of the 16-lane column vectors; see `conv2d`).
    public static func forwardImageGroup(_ s: ConvSpec, unit: VectorUnit = .avx512) -> Int {
        ConvForwardOperands.imageGroup(s, unit: unit)
    }

    /// Gradient of `conv2d` with respect to its input: buffers `dx [n,c,h,w],
    /// dy [n,o,outH,outW], w [o,c,kh,kw], extras…`; the epilogue gets indices `[n, c, y, x]`.
    ///
    /// Lowered as `dcol = wᵀ·dy` gathered into dx (col2im, see `ConvInputGradOperands`): on
    /// maps up to 32 wide, a whole row of dx at a time from the buffered dcol by constant
    /// shuffles; wider, element by element as each tile completes.
    public static func conv2dInputGrad(_ s: ConvSpec, name: String, epilogue: Epilogue? = nil, indirect: Bool? = nil,
                                       unit: VectorUnit = .avx512) -> DenseKernel {
        if indirect ?? IndirectConvEmitter.applies(.inputGradient, s, unit: unit) {
            return IndirectConvEmitter(.inputGradient, spec: s, name: name, epilogue: epilogue, unit: unit).finish()
        }
        let operands = ConvInputGradOperands(spec: s)
        let g = DenseGemmEmitter(name: name, buffers: 3, epilogue: epilogue,
                                 shape: GemmShape(batch: s.n * operands.groups, m: operands.groupSize * s.kh * s.kw,
                                                  n: s.outH * s.outW, k: s.o), unit: unit,
                                 operands: operands, bSource: .inPlace(operands), scatter: operands)
        return g.finish(flops: s.flops)
    }

    /// Gradient of `conv2d` with respect to its filter: buffers `dw [o,c,kh,kw], x [n,c,h,w],
    /// dy [n,o,outH,outW], extras…`; the epilogue gets indices `[o, c, u, v]`.
    public static func conv2dFilterGrad(_ s: ConvSpec, name: String, epilogue: Epilogue? = nil,
                                        packing: Im2colPacking = .automatic, unit: VectorUnit = .avx512) -> DenseKernel {
        if packing == .automatic && IndirectFilterGradEmitter.applies(s, unit: unit) {
            return IndirectFilterGradEmitter(spec: s, name: name, epilogue: epilogue, unit: unit).finish()
        }
        let operands = ConvFilterGradOperands(spec: s)
        let p = s.outH * s.outW
        let cols = s.c * s.kh * s.kw
        // Enough columns for two threads: split column panels (each packed exactly once), 32
        // wide (12×32 tiles) so that they divide evenly (AVX2's tile is 16 wide in any case);
        // otherwise split rows.
        let byColumns = cols >= 128
        let gathers = packing.gathers(s, columns: cols)
        let g = DenseGemmEmitter(name: name, buffers: 3, epilogue: epilogue,
                                 shape: GemmShape(batch: 1, m: s.o, n: cols, k: s.n * p), unit: unit,
                                 operands: operands, bSource: gathers ? .packedGather(operands) : .packedLines(operands),
                                 splitsRows: !byColumns,
                                 vectors: byColumns ? 2 : nil, tabulatesAColumns: p > 1)
        return g.finish(flops: s.flops)
    }
}

/// How a convolution packs its im2col operand (the forward convolution and the filter
/// gradient; the input gradient reads dy in place).
public enum Im2colPacking: Sendable {
    /// The forward convolution reads x in place where `IndirectConvEmitter` applies; else, and
    /// for the filter gradient, as `gathers`.
    case automatic
    /// Masked vector gathers through constant column tables (`GatherPackedB`) where the
    /// tables are small enough and every offset fits 32 bits; else lines.
    case gathers
    /// One strided copy per line of the source (`LinePackedB`).
    case lines

    func gathers(_ s: ConvSpec, columns: Int) -> Bool {
        switch self {
        case .automatic, .gathers: return gatherPacks(s, columns: columns)
        case .lines: return false
        }
    }
}

/// The plain matmul: A (or Aᵀ) and B (or Bᵀ) straight from their buffers.
struct MatmulOperands: GemmOperands, InPlaceB, ElementPackedB {
    var spec: MatmulSpec

    var aPointer: Value { KernelFunctionText.pointer(1) }
    var bPointer: Value { KernelFunctionText.pointer(2) }
    var packsColumnsOutside: Bool { spec.transposeB }

    func aRowOffset(_ b: LLVMText, batch: Value, row: Value) -> Value {
        b.add(b.mul(batch, spec.aBatchStride), spec.transposeA ? row : b.mul(row, spec.k))
    }

    func aColumnOffset(_ b: LLVMText, batch: Value, k: Value) -> Value {
        spec.transposeA ? b.mul(k, spec.m) : k
    }

    func bBatchOffset(_ b: LLVMText, batch: Value) -> Value {
        b.mul(batch, spec.bBatchStride)
    }

    func bElement(_ b: LLVMText, batch: Value, k: Value, column: Value) -> Value {
        let offset = spec.transposeB ? b.add(b.mul(column, spec.k), k) : b.add(b.mul(k, spec.n), column)
        return b.loadFloat(bPointer, b.add(b.mul(batch, spec.bBatchStride), offset))
    }
}

extension DenseKernels {
    /// The convolution form `kind` of `s` (one of the three entry points above).
    public static func convolution(_ kind: ConvKind, _ s: ConvSpec, name: String, epilogue: Epilogue? = nil,
                                   unit: VectorUnit = .avx512) -> DenseKernel {
        switch kind {
        case .forward: return conv2d(s, name: name, epilogue: epilogue, unit: unit)
        case .inputGradient: return conv2dInputGrad(s, name: name, epilogue: epilogue, unit: unit)
        case .filterGradient: return conv2dFilterGrad(s, name: name, epilogue: epilogue, unit: unit)
        }
    }
}
