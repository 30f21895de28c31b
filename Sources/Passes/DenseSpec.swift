import MetaIR

/// Which of the three convolution forms a dense kernel computes (the three `conv2d` ops of
/// MetaIR, in kernel terms).
public enum ConvKind: String, Hashable, Sendable, CaseIterable {
    /// `conv2d`: `y = x ⋆ w`.
    case forward
    /// `conv2dInputGrad`: `dx` from `dy` and `w`.
    case inputGradient
    /// `conv2dFilterGrad`: `dw` from `x` and `dy`.
    case filterGradient

    /// The MetaIR op's name, as dumps print it.
    public var opName: String {
        switch self {
        case .forward: return "conv2d"
        case .inputGradient: return "conv2d_input_grad"
        case .filterGradient: return "conv2d_filter_grad"
        }
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

extension ConvSpec {
    /// Shape of the result of convolution form `kind`: `[n, o, outH, outW]` (forward),
    /// `[n, c, h, w]` (input gradient) or `[o, c, kh, kw]` (filter gradient). It is also the
    /// index space a fused epilogue runs in.
    public func outputShape(_ kind: ConvKind) -> [Int] {
        switch kind {
        case .forward: return [n, o, outH, outW]
        case .inputGradient: return [n, c, h, w]
        case .filterGradient: return [o, c, kh, kw]
        }
    }
}

extension MatmulSpec {
    /// Shape of the result, `[batch, m, n]`: the index space of a fused epilogue.
    public var outputShape: [Int] { [batch, m, n] }
}
