import CLLVM

// The two ways `LLVMJIT.compile` produces code: in memory (IR module handed to the LLJIT) and
// through the cache (object file emitted, stored, and handed to the LLJIT). Both run the same
// front end with the same host target machine, so they generate the same code.

extension LLVMJIT {
    /// What a compile path hands back to `compile`.
    struct Built {
        var jit: JITInstance
        var functionNames: [String]
        var cacheKey: String?
    }

    /// Parse, verify, retarget and optimise `irText` in `context`; the caller owns the module.
    func frontEnd(
        _ irText: String, name: String, optLevel: OptLevel, machine: TargetMachine,
        context: LLVMContextRef, timings: inout CompileTimings
    ) throws -> LLVMModuleRef {
        let module = try measure(&timings.parse) {
            try IRPipeline.parse(irText, name: name, context: context)
        }
        do {
            try measure(&timings.verify) { try IRPipeline.verify(module) }
            try measure(&timings.optimize) {
                IRPipeline.retarget(module, to: machine)
                try IRPipeline.optimize(module, machine: machine, optLevel: optLevel)
            }
        } catch {
            LLVMDisposeModule(module)
            throw error
        }
        return module
    }

    /// Runs `body` on the optimised module, disposing of everything afterwards.
    func withOptimizedModule<Result>(
        _ irText: String, name: String, optLevel: OptLevel,
        _ body: (LLVMModuleRef, TargetMachine) throws -> Result
    ) throws -> Result {
        let machine = try TargetMachine(optLevel: optLevel)
        guard let context = LLVMContextCreate() else { throw JITError.jit("LLVMContextCreate returned null") }
        defer { LLVMContextDispose(context) }
        var timings = CompileTimings()
        let module = try frontEnd(
            irText, name: name, optLevel: optLevel, machine: machine, context: context, timings: &timings)
        defer { LLVMDisposeModule(module) }
        return try body(module, machine)
    }

    /// The optimised IR module goes to the LLJIT, which generates code on the first lookup.
    func compileInMemory(
        _ irText: String, name: String, optLevel: OptLevel, timings: inout CompileTimings
    ) throws -> Built {
        let machine = try TargetMachine(optLevel: optLevel)
        guard let threadSafeContext = LLVMOrcCreateNewThreadSafeContext() else {
            throw JITError.jit("LLVMOrcCreateNewThreadSafeContext returned null")
        }
        // The thread-safe module keeps its own reference to the context.
        defer { LLVMOrcDisposeThreadSafeContext(threadSafeContext) }
        let context = LLVMOrcThreadSafeContextGetContext(threadSafeContext)
        guard let context else { throw JITError.jit("thread-safe context has no LLVMContext") }
        let module = try frontEnd(
            irText, name: name, optLevel: optLevel, machine: machine, context: context, timings: &timings)
        let names = IRPipeline.exportedFunctionNames(module)
        let jit: JITInstance
        do {
            jit = try measure(&timings.link) { try JITInstance(optLevel: optLevel) }
        } catch {
            LLVMDisposeModule(module)
            throw error
        }
        // From here on the LLJIT owns the module, even if adding it fails.
        let threadSafeModule = LLVMOrcCreateNewThreadSafeModule(module, threadSafeContext)
        guard let threadSafeModule else { throw JITError.jit("LLVMOrcCreateNewThreadSafeModule returned null") }
        try measure(&timings.link) { try jit.addModule(threadSafeModule) }
        if let first = names.first {
            _ = try measure(&timings.codegen) { try jit.lookup(first) }
        }
        return Built(jit: jit, functionNames: names, cacheKey: nil)
    }

    /// Loads a valid cache entry, or compiles to an object file, stores it, and loads that.
    func compileCached(
        _ irText: String, name: String, optLevel: OptLevel, cache: CompileCache,
        timings: inout CompileTimings
    ) throws -> Built {
        let key = measure(&timings.cacheIO) { CompileCache.key(irText: irText, optLevel: optLevel) }
        switch measure(&timings.cacheIO, { cache.load(key: key) }) {
        case .found(let entry):
            do {
                let jit = try measure(&timings.link) { try load(entry, name: name, optLevel: optLevel) }
                timings.cache = .hit
                return Built(jit: jit, functionNames: entry.functionNames, cacheKey: key)
            } catch {
                // The bytes were intact but LLVM could not use them: treat as corrupt.
                measure(&timings.cacheIO) { cache.remove(key: key) }
                timings.cache = .rebuilt(reason: "load failed: \(error)")
                timings.link = .zero
            }
        case .rejected(let reason):
            timings.cache = .rebuilt(reason: reason)
        case .missing:
            timings.cache = .miss
        }

        let machine = try TargetMachine(optLevel: optLevel)
        guard let context = LLVMContextCreate() else { throw JITError.jit("LLVMContextCreate returned null") }
        defer { LLVMContextDispose(context) }
        let module = try frontEnd(
            irText, name: name, optLevel: optLevel, machine: machine, context: context, timings: &timings)
        defer { LLVMDisposeModule(module) }
        let entry = CacheEntry(
            functionNames: IRPipeline.exportedFunctionNames(module),
            object: try measure(&timings.codegen) {
                try IRPipeline.emit(module, machine: machine, fileType: LLVMObjectFile)
            })
        do {
            try measure(&timings.cacheIO) { try cache.store(entry, key: key) }
        } catch {
            // The cache only saves time: an unwritable folder must not stop compilation.
            timings.cache = .storeFailed(reason: "\(error)")
        }
        let jit = try measure(&timings.link) { try load(entry, name: name, optLevel: optLevel) }
        return Built(jit: jit, functionNames: entry.functionNames, cacheKey: key)
    }

    /// A new LLJIT holding `entry`'s object file, linked by looking up its first function.
    private func load(_ entry: CacheEntry, name: String, optLevel: OptLevel) throws -> JITInstance {
        let jit = try JITInstance(optLevel: optLevel)
        try jit.addObject(entry.object, name: name)
        if let first = entry.functionNames.first {
            _ = try jit.lookup(first)
        }
        return jit
    }
}
