import Passes

/// Elementwise code applied to every result of a dense kernel (matmul, convolution) before it
/// is stored: how bias, ReLU and batch-norm scale/shift fuse into the producer.
public struct Epilogue {
    /// Buffers the epilogue reads, passed after the dense kernel's own buffers.
    public var extraBuffers: Int
    /// Emits the epilogue for one output element: given the builder, the accumulated value
    /// (of the kernel's element type), the output's multi-index (one i64 value per output
    /// axis, outermost first) and the pointers of the extra buffers, returns the value to
    /// store. Must only emit straight-line code or self-contained blocks.
    public var emit: (LLVMText, Value, [Value], [Value]) -> Value

    /// Creates an epilogue.
    public init(extraBuffers: Int, emit: @escaping (LLVMText, Value, [Value], [Value]) -> Value) {
        self.extraBuffers = extraBuffers
        self.emit = emit
    }
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
