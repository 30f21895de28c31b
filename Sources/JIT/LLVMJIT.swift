import Foundation
import CLLVM

/// Compiles LLVM IR text (opaque pointers, LLVM 19) to machine code for the host CPU.
///
/// The pipeline is parse → verify → retarget to the host → `default<O0|O3>` → code generation
/// in an ORC LLJIT. With a `CompileCache`, the optimised object file is stored on disk and a
/// later compile of the same IR on the same host skips LLVM's IR pipeline entirely.
///
/// The class holds only immutable configuration; every compile uses its own LLVM context,
/// target machine and LLJIT, so one instance may compile on several threads at once.
public final class LLVMJIT: Sendable {
    /// The on-disk cache used by `compile`, or `nil` to compile in memory every time.
    public let cache: CompileCache?

    /// Registers the native target (once per process) and configures the compile cache.
    ///
    /// - Parameter cache: where to keep optimised object files; `nil` (the default) disables
    ///   caching. Pass `CompileCache()` for `$METAJIT_CACHE_DIR` or `~/.cache/metajit`.
    /// - Throws: `JITError.targetInitialization` if LLVM has no code generator for this host.
    public init(cache: CompileCache? = nil) throws {
        try NativeTarget.ensureInitialized()
        self.cache = cache
    }

    /// Compiles `irText` and returns its machine code, ready for `function(named:)`.
    ///
    /// Code generation and linking happen here, not on the first call: the module's first
    /// exported function is looked up before returning, so link errors surface as throws and
    /// `timings` covers all the work.
    ///
    /// - Parameters:
    ///   - irText: a complete LLVM IR module in text form.
    ///   - name: the module's name, used in diagnostics (`name:line:col: error: …`).
    ///   - optLevel: `.O3` (default) for the host-tuned pipeline, `.O0` for a reference build.
    /// - Throws: `JITError.parse`, `.verify`, `.optimize`, `.codegen` or `.jit`. A cache that
    ///   cannot be written does not throw: `timings.cache` says `.storeFailed`.
    public func compile(module irText: String, name: String = "module", optLevel: OptLevel = .O3) throws -> CompiledModule {
        let clock = ContinuousClock()
        let start = clock.now
        var timings = CompileTimings()
        let built: Built
        if let cache {
            built = try compileCached(irText, name: name, optLevel: optLevel, cache: cache, timings: &timings)
        } else {
            built = try compileInMemory(irText, name: name, optLevel: optLevel, timings: &timings)
        }
        timings.total = clock.now - start
        let module = CompiledModule(
            name: name, optLevel: optLevel, functionNames: built.functionNames, timings: timings,
            cacheKey: built.cacheKey, jit: built.jit)
        if ProcessInfo.processInfo.environment["METAJIT_PERF_MAP"] == "1" { module.appendPerfMap() }
        return module
    }

    /// The host assembly (AT&T syntax) that `optLevel` produces for `irText`; for `--stage asm`.
    public func emitAssembly(irText: String, name: String = "module", optLevel: OptLevel = .O3) throws -> String {
        let bytes = try withOptimizedModule(irText, name: name, optLevel: optLevel) { module, machine in
            try IRPipeline.emit(module, machine: machine, fileType: LLVMAssemblyFile)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The module's IR after the `optLevel` pipeline for the host, printed as text.
    public func optimizedIR(irText: String, name: String = "module", optLevel: OptLevel = .O3) throws -> String {
        try withOptimizedModule(irText, name: name, optLevel: optLevel) { module, _ in
            IRPipeline.print(module)
        }
    }

    /// The object file (ELF) that `optLevel` produces for `irText`: what the cache stores.
    public func emitObject(irText: String, name: String = "module", optLevel: OptLevel = .O3) throws -> [UInt8] {
        try withOptimizedModule(irText, name: name, optLevel: optLevel) { module, machine in
            try IRPipeline.emit(module, machine: machine, fileType: LLVMObjectFile)
        }
    }
}
