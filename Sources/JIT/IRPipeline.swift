import CLLVM

/// The IR half of the pipeline: parse, verify, retarget, optimise, print and emit.
///
/// Each function works on a module owned by the caller; none disposes of its argument.
enum IRPipeline {
    /// Parses `text` into a new module in `context`.
    ///
    /// LLVM's diagnostic is `name:line:col: error: …` followed by the offending source line.
    static func parse(_ text: String, name: String, context: LLVMContextRef) throws -> LLVMModuleRef {
        let utf8Count = text.utf8.count
        // The copy is NUL-terminated by LLVM, which its lexer relies on.
        let buffer = text.withCString { bytes in
            LLVMCreateMemoryBufferWithMemoryRangeCopy(bytes, utf8Count, name)
        }
        guard let buffer else { throw JITError.parse("\(name): could not create a memory buffer") }
        var module: LLVMModuleRef?
        var message: UnsafeMutablePointer<CChar>?
        // LLVMParseIRInContext takes ownership of `buffer`, on success and on failure.
        if LLVMParseIRInContext(context, buffer, &module, &message) != 0 {
            throw JITError.parse(trimmed(takeMessage(message)))
        }
        guard let module else { throw JITError.parse("\(name): parser returned no module") }
        return module
    }

    /// Runs the LLVM verifier; throws `JITError.verify` with its report if the module is invalid.
    static func verify(_ module: LLVMModuleRef) throws {
        var message: UnsafeMutablePointer<CChar>?
        let failed = LLVMVerifyModule(module, LLVMReturnStatusAction, &message) != 0
        let report = trimmed(takeMessage(message))
        if failed {
            throw JITError.verify(report.isEmpty ? "module is invalid" : report)
        }
    }

    /// Sets the module's triple and data layout to the target machine's, so the optimiser's
    /// cost models and the code generator agree on the host.
    static func retarget(_ module: LLVMModuleRef, to machine: TargetMachine) {
        let triple = takeMessage(LLVMGetTargetMachineTriple(machine.ref))
        LLVMSetTarget(module, triple)
        let layout = LLVMCreateTargetDataLayout(machine.ref)
        defer { LLVMDisposeTargetData(layout) }
        let layoutString = takeMessage(LLVMCopyStringRepOfTargetData(layout))
        LLVMSetDataLayout(module, layoutString)
    }

    /// Runs `optLevel`'s new-pass-manager pipeline with the machine's cost model.
    static func optimize(_ module: LLVMModuleRef, machine: TargetMachine, optLevel: OptLevel) throws {
        guard let options = LLVMCreatePassBuilderOptions() else {
            throw JITError.optimize("LLVMCreatePassBuilderOptions returned null")
        }
        defer { LLVMDisposePassBuilderOptions(options) }
        let enabled: LLVMBool = optLevel == .O3 ? 1 : 0
        // The C API's PipelineTuningOptions leave SLP vectorisation off; clang turns it on at
        // -O2 and above, and so do we, with loop vectorisation, interleaving and unrolling.
        LLVMPassBuilderOptionsSetLoopVectorization(options, enabled)
        LLVMPassBuilderOptionsSetSLPVectorization(options, enabled)
        LLVMPassBuilderOptionsSetLoopInterleaving(options, enabled)
        LLVMPassBuilderOptionsSetLoopUnrolling(options, enabled)
        try check(LLVMRunPasses(module, optLevel.pipeline, machine.ref, options), JITError.optimize)
    }

    /// The module printed as LLVM IR text.
    static func print(_ module: LLVMModuleRef) -> String {
        takeMessage(LLVMPrintModuleToString(module))
    }

    /// Emits `module` as assembly or an object file; returns the bytes.
    ///
    /// Code generation rewrites the module's IR (CodeGenPrepare and friends), so emit last.
    static func emit(_ module: LLVMModuleRef, machine: TargetMachine, fileType: LLVMCodeGenFileType) throws -> [UInt8] {
        var message: UnsafeMutablePointer<CChar>?
        var buffer: LLVMMemoryBufferRef?
        if LLVMTargetMachineEmitToMemoryBuffer(machine.ref, module, fileType, &message, &buffer) != 0 {
            throw JITError.codegen(trimmed(takeMessage(message)))
        }
        guard let buffer else { throw JITError.codegen("no output buffer") }
        defer { LLVMDisposeMemoryBuffer(buffer) }
        let size = LLVMGetBufferSize(buffer)
        guard let start = LLVMGetBufferStart(buffer), size > 0 else { return [] }
        return start.withMemoryRebound(to: UInt8.self, capacity: size) { bytes in
            Array(UnsafeBufferPointer(start: bytes, count: size))
        }
    }

    /// The names of the functions the module defines and exports (external linkage, with a body).
    static func exportedFunctionNames(_ module: LLVMModuleRef) -> [String] {
        var names: [String] = []
        var function = LLVMGetFirstFunction(module)
        while let current = function {
            let linkage = LLVMGetLinkage(current)
            let exported = linkage != LLVMInternalLinkage && linkage != LLVMPrivateLinkage
            if LLVMIsDeclaration(current) == 0, exported {
                var length = 0
                if let name = LLVMGetValueName2(current, &length) {
                    names.append(String(cString: name))
                }
            }
            function = LLVMGetNextFunction(current)
        }
        return names
    }
}
