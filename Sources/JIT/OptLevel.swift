import CLLVM
@_exported import enum MetaIR.OptLevel

// The compiler's one `OptLevel` lives in MetaIR (every stage reads it); here it picks LLVM's
// pass pipeline and code generator level. Re-exported so that JIT's clients need no second
// import to name `.O0` / `.O3`.
extension OptLevel {
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
