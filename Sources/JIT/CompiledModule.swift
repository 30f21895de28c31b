import Foundation
import Synchronization

/// Machine code for one LLVM IR module, living in its own ORC LLJIT.
///
/// The JIT, and so every function pointer obtained from it, stays valid exactly as long as
/// this object is alive: keep a reference while you call into the code (the `callKernel`
/// helpers do that for you). Lookups are serialised by a lock, so a module may be shared
/// between threads; calling the returned functions concurrently is the caller's business.
public final class CompiledModule: Sendable {
    /// The name given to `LLVMJIT.compile`.
    public let name: String
    /// The optimisation level the module was compiled at.
    public let optLevel: OptLevel
    /// Functions the module defines with external linkage, in definition order.
    public let functionNames: [String]
    /// How long each compile phase took, and whether the cache was hit.
    public let timings: CompileTimings
    /// The cache key (hex SHA-256) when a cache was used, otherwise `nil`.
    public let cacheKey: String?

    private struct State {
        let jit: JITInstance
        var addresses: [String: UInt64] = [:]
    }

    private let state: Mutex<State>

    init(
        name: String, optLevel: OptLevel, functionNames: [String], timings: CompileTimings,
        cacheKey: String?, jit: consuming sending JITInstance
    ) {
        self.name = name
        self.optLevel = optLevel
        self.functionNames = functionNames
        self.timings = timings
        self.cacheKey = cacheKey
        self.state = Mutex(State(jit: jit))
    }

    /// The raw address of the function (or global) called `name` in this module.
    ///
    /// - Throws: `JITError.symbolNotFound` when the module defines no such symbol.
    public func function(named name: String) throws -> UnsafeRawPointer {
        let address = try state.withLock { state throws -> UInt64 in
            if let known = state.addresses[name] { return known }
            let found = try state.jit.lookup(name)
            state.addresses[name] = found
            return found
        }
        guard let pointer = UnsafeRawPointer(bitPattern: UInt(address)) else {
            throw JITError.symbolNotFound(name: name, message: "resolved to a null address")
        }
        return pointer
    }

    /// Appends this module's functions to `/tmp/perf-PID.map`, the symbol map `perf report`
    /// reads for JIT code (`METAJIT_PERF_MAP=1` does this for every module compiled). A
    /// function's size is taken up to the next function's address (the last gets 64 KiB), so
    /// samples in padding or constant pools are charged to the function before them.
    public func appendPerfMap() {
        let found = functionNames.compactMap { name in (try? function(named: name)).map { (UInt(bitPattern: $0), name) } }
            .sorted { $0.0 < $1.0 }
        var text = ""
        for (i, f) in found.enumerated() {
            let size = i + 1 < found.count ? found[i + 1].0 - f.0 : 65536
            text += String(f.0, radix: 16) + " " + String(size, radix: 16) + " " + f.1 + "\n"
        }
        let path = "/tmp/perf-\(getpid()).map"
        guard let handle = FileHandle(forWritingAtPath: path) ?? {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
        }() else { return }
        handle.seekToEndOfFile()
        handle.write(Data(text.utf8))
        try? handle.close()
    }

    /// The function `name` as a value of the C function type `type`, e.g.
    /// `(@convention(c) (Float) -> Float).self`.
    ///
    /// - Throws: `JITError.invalidFunctionType` if `type` is not pointer-sized (a Swift
    ///   closure type rather than a `@convention(c)` one), or `symbolNotFound`.
    public func function<Function>(named name: String, as type: Function.Type) throws -> Function {
        guard MemoryLayout<Function>.size == MemoryLayout<UnsafeRawPointer>.size else {
            throw JITError.invalidFunctionType(
                "\(Function.self) is \(MemoryLayout<Function>.size) bytes; use a @convention(c) function type")
        }
        let pointer = try function(named: name)
        return unsafeBitCast(pointer, to: Function.self)
    }

    /// The kernel `name` with the one-argument buffer-array ABI (`KernelFunction`).
    public func kernel(named name: String) throws -> KernelFunction {
        try function(named: name, as: KernelFunction.self)
    }

    /// The kernel `name` with the buffers-plus-range ABI (`RangeKernelFunction`).
    public func rangeKernel(named name: String) throws -> RangeKernelFunction {
        try function(named: name, as: RangeKernelFunction.self)
    }

    /// Calls the kernel `name` on `buffers`, keeping the module alive for the call.
    public func callKernel(named name: String, buffers: inout [UnsafeMutableRawPointer?]) throws {
        let entry = try kernel(named: name)
        withExtendedLifetime(self) {
            Self.withBase(of: &buffers) { base in
                entry(base)
            }
        }
    }

    /// Calls the range kernel `name` on `buffers` for the chunk `range` of its outer loop,
    /// keeping the module alive for the call.
    public func callKernel(
        named name: String, buffers: inout [UnsafeMutableRawPointer?], range: Range<Int64>
    ) throws {
        let entry = try rangeKernel(named: name)
        withExtendedLifetime(self) {
            Self.withBase(of: &buffers) { base in
                entry(base, range.lowerBound, range.upperBound)
            }
        }
    }

    /// Gives `body` a valid base pointer even for an empty buffer array (C callees may not
    /// receive null for an array they are entitled to index).
    private static func withBase(
        of buffers: inout [UnsafeMutableRawPointer?],
        _ body: (UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> Void
    ) {
        if buffers.isEmpty {
            var placeholder: UnsafeMutableRawPointer? = nil
            withUnsafeMutablePointer(to: &placeholder, body)
            return
        }
        buffers.withUnsafeMutableBufferPointer { array in
            if let base = array.baseAddress { body(base) }
        }
    }
}
