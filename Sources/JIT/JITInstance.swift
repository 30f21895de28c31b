import CLLVM
import Synchronization

/// Collects errors that ORC reports out of band (e.g. which symbol a failed link missed), so
/// they can be attached to the thrown error instead of being printed to stderr.
final class JITErrorLog: Sendable {
    private let messages = Mutex<[String]>([])

    /// Records one message.
    func append(_ message: String) {
        messages.withLock { $0.append(message) }
    }

    /// Returns and forgets every message recorded so far.
    func drain() -> [String] {
        messages.withLock { log in
            let drained = log
            log.removeAll()
            return drained
        }
    }
}

/// Owns one ORC LLJIT whose main JITDylib resolves process symbols (libm's `expf`, …).
///
/// Every compiled module gets its own LLJIT: modules then never clash over symbol names, and
/// the machine code is freed exactly when the last `CompiledModule` using it goes away.
final class JITInstance {
    /// The wrapped LLJIT.
    let ref: LLVMOrcLLJITRef
    /// Out-of-band errors from the execution session; outlives `ref` (released after deinit).
    private let errorLog = JITErrorLog()

    /// Creates an LLJIT that generates code exactly as a host `TargetMachine` at `optLevel` does.
    ///
    /// The JIT's target machine builder is made from such a machine rather than from
    /// `LLVMOrcJITTargetMachineBuilderDetectHost`: both give the host CPU and features, but only
    /// this way does the JIT's code generator run at the requested level (`Aggressive` for O3),
    /// and the in-memory path then produces the same code as the cached object files.
    init(optLevel: OptLevel) throws {
        // The builder consumes this machine.
        let templateMachine = try NativeTarget.makeTargetMachine(optLevel: optLevel)
        let machineBuilder = LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(templateMachine)
        let builder = LLVMOrcCreateLLJITBuilder()
        LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, machineBuilder)
        var jit: LLVMOrcLLJITRef?
        // LLVMOrcCreateLLJIT consumes the builder whether or not it succeeds.
        try check(LLVMOrcCreateLLJIT(&jit, builder), JITError.jit)
        guard let jit else { throw JITError.jit("LLVMOrcCreateLLJIT returned no instance") }
        ref = jit
        // The session keeps an unretained pointer; `errorLog` lives as long as the LLJIT.
        LLVMOrcExecutionSessionSetErrorReporter(
            LLVMOrcLLJITGetExecutionSession(jit),
            { context, error in
                guard let context, let error else { return }
                let log = Unmanaged<JITErrorLog>.fromOpaque(context).takeUnretainedValue()
                log.append(takeErrorMessage(error))
            },
            Unmanaged.passUnretained(errorLog).toOpaque())

        var generator: LLVMOrcDefinitionGeneratorRef?
        let prefix = LLVMOrcLLJITGetGlobalPrefix(jit)
        try check(
            LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&generator, prefix, nil, nil),
            JITError.jit)
        if let generator {
            // The JITDylib takes ownership of the generator.
            LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(jit), generator)
        }
    }

    deinit {
        if let error = LLVMOrcDisposeLLJIT(ref) {
            LLVMConsumeError(error)
        }
    }

    /// Adds an IR module (taking ownership of it) to the main JITDylib; codegen happens lazily,
    /// on the first lookup.
    func addModule(_ module: LLVMOrcThreadSafeModuleRef) throws {
        try check(LLVMOrcLLJITAddLLVMIRModule(ref, LLVMOrcLLJITGetMainJITDylib(ref), module), JITError.jit)
    }

    /// Adds an object file (copied) to the main JITDylib; linking happens on the first lookup.
    func addObject(_ bytes: [UInt8], name: String) throws {
        let buffer = bytes.withUnsafeBufferPointer { raw in
            raw.withMemoryRebound(to: CChar.self) { chars in
                LLVMCreateMemoryBufferWithMemoryRangeCopy(chars.baseAddress, chars.count, name)
            }
        }
        guard let buffer else { throw JITError.jit("could not create a buffer for object \(name)") }
        // LLVMOrcLLJITAddObjectFile takes ownership of the buffer.
        try check(LLVMOrcLLJITAddObjectFile(ref, LLVMOrcLLJITGetMainJITDylib(ref), buffer), JITError.jit)
    }

    /// The address of `name`, materialising (compiling and linking) its module if needed.
    func lookup(_ name: String) throws -> LLVMOrcExecutorAddress {
        var address: LLVMOrcExecutorAddress = 0
        if let error = LLVMOrcLLJITLookup(ref, &address, name) {
            let primary = takeErrorMessage(error)
            let message = ([primary] + errorLog.drain()).joined(separator: "; ")
            // A missing definition and a module that failed to compile or link both surface
            // here; only the first is a lookup miss (the second reads "Failed to materialize").
            if primary.contains("Symbols not found") {
                throw JITError.symbolNotFound(name: name, message: message)
            }
            throw JITError.jit(message)
        }
        guard address != 0 else {
            throw JITError.symbolNotFound(name: name, message: "resolved to a null address")
        }
        return address
    }
}
