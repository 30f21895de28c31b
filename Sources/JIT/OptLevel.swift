import CLLVM

/// How hard LLVM works on a module: the new-pass-manager pipeline and the code generator level.
public enum OptLevel: String, Sendable, CaseIterable, Hashable {
    /// No optimisation: `default<O0>` and the `None` code generator level. Useful as a reference.
    case O0
    /// Full optimisation for the host CPU: `default<O3>` (loop and SLP vectorisation) and the
    /// `Aggressive` code generator level.
    case O3

    /// The textual pass pipeline handed to `LLVMRunPasses`.
    public var pipeline: String {
        switch self {
        case .O0: "default<O0>"
        case .O3: "default<O3>"
        }
    }

    /// The matching code generator optimisation level.
    var codeGenLevel: LLVMCodeGenOptLevel {
        switch self {
        case .O0: LLVMCodeGenLevelNone
        case .O3: LLVMCodeGenLevelAggressive
        }
    }
}
