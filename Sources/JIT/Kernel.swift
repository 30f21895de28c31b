/// The common kernel ABI: one argument, a pointer to an array of buffer pointers
/// (inputs, outputs and scratch, in the order the lowering assigned them).
///
/// In LLVM IR: `define void @k(ptr noalias %buffers)`.
public typealias KernelFunction = @convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> Void

/// The chunked kernel ABI for parallel loops: the buffer array plus a half-open range
/// `[begin, end)` of the outermost loop that this call must cover.
///
/// In LLVM IR: `define void @k(ptr noalias %buffers, i64 %begin, i64 %end)`.
public typealias RangeKernelFunction = @convention(c) (
    UnsafeMutablePointer<UnsafeMutableRawPointer?>, Int64, Int64
) -> Void
