/// Elementwise code applied to every result of a dense kernel (matmul, convolution) before it
/// is stored: how bias, ReLU and batch-norm scale/shift fuse into the producer.
public struct Epilogue {
    /// Buffers the epilogue reads, passed after the dense kernel's own buffers.
    public var extraBuffers: Int
    /// Emits the epilogue for one output element: given the builder, the accumulated value
    /// (an SSA name of the kernel's element type), the output's multi-index (one i64 SSA name
    /// per output axis, outermost first) and the pointers of the extra buffers, returns the SSA
    /// name of the value to store. Must only emit straight-line code or self-contained blocks.
    public var emit: (LLVMText, String, [String], [String]) -> String

    /// Creates an epilogue.
    public init(extraBuffers: Int, emit: @escaping (LLVMText, String, [String], [String]) -> String) {
        self.extraBuffers = extraBuffers
        self.emit = emit
    }
}

/// A batched matrix product `out[b] = A[b] · B[b]`, `out` contiguous `[batch, m, n]`.
///
/// `A[b]` is `m×k` row-major at element offset `b·aBatchStride` (stored `k×m` when
/// `transposeA`); `B[b]` is `k×n` row-major at `b·bBatchStride` (stored `n×k` when
/// `transposeB`). A batch stride of 0 broadcasts that operand over the batch.
public struct MatmulSpec: Hashable, Sendable {
    /// Number of matrix products.
    public var batch: Int
    /// Rows of the result.
    public var m: Int
    /// Contracted dimension.
    public var k: Int
    /// Columns of the result.
    public var n: Int
    /// Elements between consecutive A matrices (0: broadcast).
    public var aBatchStride: Int
    /// Elements between consecutive B matrices (0: broadcast).
    public var bBatchStride: Int
    /// A is stored transposed (`k×m`).
    public var transposeA: Bool
    /// B is stored transposed (`n×k`).
    public var transposeB: Bool

    /// Creates a spec.
    public init(batch: Int, m: Int, k: Int, n: Int, aBatchStride: Int, bBatchStride: Int,
                transposeA: Bool = false, transposeB: Bool = false) {
        self.batch = batch
        self.m = m
        self.k = k
        self.n = n
        self.aBatchStride = aBatchStride
        self.bBatchStride = bBatchStride
        self.transposeA = transposeA
        self.transposeB = transposeB
    }

    /// Multiply-adds counted as 2 FLOPs.
    public var flops: Int { 2 * batch * m * k * n }
}

/// A 2-D convolution (cross-correlation) in NCHW/OIHW layout with symmetric zero padding,
/// as `MetaIR.Op.conv2d`: `y[n,o,i,j] = Σ_{c,u,v} x[n,c,i·s+u−p, j·s+v−p] · w[o,c,u,v]`.
public struct ConvSpec: Hashable, Sendable {
    /// Batch.
    public var n: Int
    /// Input channels.
    public var c: Int
    /// Input height.
    public var h: Int
    /// Input width.
    public var w: Int
    /// Output channels.
    public var o: Int
    /// Filter height.
    public var kh: Int
    /// Filter width.
    public var kw: Int
    /// Stride (both axes).
    public var stride: Int
    /// Zero padding (each side, both axes).
    public var padding: Int

    /// Creates a spec.
    public init(n: Int, c: Int, h: Int, w: Int, o: Int, kh: Int, kw: Int, stride: Int, padding: Int) {
        self.n = n
        self.c = c
        self.h = h
        self.w = w
        self.o = o
        self.kh = kh
        self.kw = kw
        self.stride = stride
        self.padding = padding
    }

    /// Output height.
    public var outH: Int { (h + 2 * padding - kh) / stride + 1 }
    /// Output width.
    public var outW: Int { (w + 2 * padding - kw) / stride + 1 }
    /// Multiply-adds of the forward convolution counted as 2 FLOPs (each gradient form costs
    /// the same).
    public var flops: Int { 2 * n * o * outH * outW * c * kh * kw }
}

/// A dense kernel ready to compile, with what the runtime needs to call it.
public struct DenseKernel {
    /// The function (buffers-plus-range ABI). Buffer 0 is the output, then the operands in
    /// op order, then the epilogue's extra buffers.
    public var function: KernelFunctionText
    /// Extent of the range the runtime splits between threads: any split of
    /// `0..<outerExtent` into chunks gives the same result as one call over all of it.
    public var outerExtent: Int
    /// FLOPs of one full call (for scheduling and GFLOP/s reports).
    public var flops: Int

    /// Creates a kernel description.
    public init(function: KernelFunctionText, outerExtent: Int, flops: Int) {
        self.function = function
        self.outerExtent = outerExtent
        self.flops = flops
    }
}
