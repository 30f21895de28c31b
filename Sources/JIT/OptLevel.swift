import CLLVM
@_exported import enum MetaIR.OptLevel

// The compiler's one `OptLevel` lives in MetaIR (every stage reads it); here it picks LLVM's
// pass pipeline and code generator level. Re-exported so that JIT's clients need no second
// import to name `.O0` / `.O3`.
extension OptLevel {
    /// The textual pass pipeline handed to `LLVMRunPasses`.
    ///
    /// `-O3` runs LLVM's `default<O2>` module pipeline, with loop and SLP vectorisation,
    /// interleaving and unrolling turned on (`IRPipeline.optimize`). What `default<O3>` adds
    /// (non-trivial loop unswitching, more aggressive inlining) copies loops the dense
    /// emitters already shaped: on `maml-5w1s` it took 5.7–8.1 s to compile against 5.0–5.8 s,
    /// and the conv kernels ran no faster for it (README, "Compile time").
    public var pipeline: String {
        switch self {
        case .O0: "default<O0>"
        case .O3: "default<O2>"
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
