import CLLVM

/// Facts about the linked LLVM and the host CPU it generates code for.
///
/// Every value is read once per process; the host cannot change under a running program.
public enum LLVMInfo {
    /// The linked LLVM's version, e.g. `"19.1.7"`.
    public static let version: String = {
        var major: UInt32 = 0
        var minor: UInt32 = 0
        var patch: UInt32 = 0
        LLVMGetVersion(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }()

    /// The host CPU as LLVM names it, e.g. `"znver4"`.
    public static let hostCPUName: String = takeMessage(LLVMGetHostCPUName())

    /// The host CPU's features as an LLVM feature string, e.g. `"+avx512f,+fma,…"`.
    public static let hostCPUFeatures: String = takeMessage(LLVMGetHostCPUFeatures())

    /// The normalised target triple of the host, e.g. `"x86_64-pc-linux-gnu"`.
    public static let hostTriple: String = {
        let raw = takeMessage(LLVMGetDefaultTargetTriple())
        return raw.withCString { takeMessage(LLVMNormalizeTargetTriple($0)) }
    }()

    /// Whether the host CPU has AVX-512F, so vector code may use 512-bit `zmm` registers.
    public static var hostHasAVX512: Bool {
        hostCPUFeatures.split(separator: ",").contains("+avx512f")
    }
}
