import CLLVM

/// One-time registration of the host's LLVM target and creation of target machines for it.
enum NativeTarget {
    /// The outcome of registering the native target; a Swift global `let` runs exactly once,
    /// thread-safely, which is the "one-time init" LLVM's registry needs.
    private static let initialization: Result<Void, JITError> = {
        // These are `static inline` in llvm-c/Target.h; the Clang importer compiles them
        // into this module, so they call the host target's LLVMInitializeX86Target… for us.
        if LLVMInitializeNativeTarget() != 0 {
            return .failure(.targetInitialization("LLVMInitializeNativeTarget failed"))
        }
        if LLVMInitializeNativeAsmPrinter() != 0 {
            return .failure(.targetInitialization("LLVMInitializeNativeAsmPrinter failed"))
        }
        if LLVMInitializeNativeAsmParser() != 0 {
            return .failure(.targetInitialization("LLVMInitializeNativeAsmParser failed"))
        }
        return .success(())
    }()

    /// Registers the native target if that has not happened yet; throws if it cannot be.
    static func ensureInitialized() throws {
        try initialization.get()
    }

    /// A new target machine for the host CPU and all its features.
    ///
    /// PIC relocation keeps every reference RIP-relative or GOT-based, so the same object file
    /// links anywhere in the JIT's address space, including when it is reloaded from the cache.
    /// The caller owns the result and must dispose of it (or hand it to a consuming call).
    static func makeTargetMachine(optLevel: OptLevel) throws -> LLVMTargetMachineRef {
        try ensureInitialized()
        let triple = LLVMInfo.hostTriple
        var target: LLVMTargetRef?
        var message: UnsafeMutablePointer<CChar>?
        if LLVMGetTargetFromTriple(triple, &target, &message) != 0 {
            throw JITError.targetInitialization(trimmed(takeMessage(message)))
        }
        guard let target else {
            throw JITError.targetInitialization("no target for triple \(triple)")
        }
        let machine = LLVMCreateTargetMachine(
            target, triple, LLVMInfo.hostCPUName, LLVMInfo.hostCPUFeatures,
            optLevel.codeGenLevel, LLVMRelocPIC, LLVMCodeModelJITDefault)
        guard let machine else {
            throw JITError.targetInitialization("LLVMCreateTargetMachine returned null for \(triple)")
        }
        return machine
    }
}

/// Owns an `LLVMTargetMachineRef` for the duration of one compile.
final class TargetMachine {
    /// The wrapped machine.
    let ref: LLVMTargetMachineRef

    /// Creates a host target machine at `optLevel`.
    init(optLevel: OptLevel) throws {
        ref = try NativeTarget.makeTargetMachine(optLevel: optLevel)
    }

    deinit {
        LLVMDisposeTargetMachine(ref)
    }
}
