import Foundation
import TestSupport
import Testing

@testable import JIT

@Suite("On-disk compile cache")
struct CompileCacheTests {
    /// Runs axpy from `module` on fixed data and returns y.
    static func runAxpy(_ module: CompiledModule) throws -> [Float] {
        let axpy = try module.function(named: "axpy", as: AxpyFunction.self)
        var x = pseudoRandomFloats(count: 517, seed: 11)
        var y = pseudoRandomFloats(count: 517, seed: 12)
        withExtendedLifetime(module) { axpy(&x, &y, 0.5, Int64(x.count)) }
        return y
    }

    static var expectedAxpy: [Float] {
        zip(pseudoRandomFloats(count: 517, seed: 11), pseudoRandomFloats(count: 517, seed: 12)).map { 0.5 * $0 + $1 }
    }

    @Test("Miss writes an entry; a new LLVMJIT then hits it and skips the IR pipeline")
    func missThenHit() throws {
        let folder = try TemporaryDirectory()
        defer { folder.cleanUp() }
        let cache = CompileCache(directory: folder.url)

        let cold = try LLVMJIT(cache: cache).compile(module: IRSamples.axpy, name: "axpy.ll")
        #expect(cold.timings.cache == .miss)
        let key = try #require(cold.cacheKey)
        #expect(key.count == 64)
        #expect(FileManager.default.fileExists(atPath: cache.fileURL(forKey: key).path))
        #expect(cold.timings.parse > .zero && cold.timings.optimize > .zero)

        let warm = try LLVMJIT(cache: cache).compile(module: IRSamples.axpy, name: "axpy.ll")
        #expect(warm.timings.cacheHit)
        #expect(warm.cacheKey == key)
        #expect(warm.timings.parse == .zero)
        #expect(warm.timings.verify == .zero)
        #expect(warm.timings.optimize == .zero)
        #expect(warm.timings.codegen == .zero)
        #expect(warm.functionNames == ["axpy"])
        #expect(try Self.runAxpy(cold) == Self.runAxpy(warm))
        #expect(allClose(try Self.runAxpy(warm), Self.expectedAxpy, tolerance: 1e-6))
    }

    @Test("A cached object calling libm links on load")
    func libmFromCache() throws {
        let folder = try TemporaryDirectory()
        defer { folder.cleanUp() }
        let cache = CompileCache(directory: folder.url)
        _ = try LLVMJIT(cache: cache).compile(module: IRSamples.libm, name: "libm.ll")
        let warm = try LLVMJIT(cache: cache).compile(module: IRSamples.libm, name: "libm.ll")
        #expect(warm.timings.cacheHit)
        let function = try warm.function(named: "exp_plus_tanh", as: UnaryFloatFunction.self)
        let got = withExtendedLifetime(warm) { function(0.5) }
        #expect(abs(got - (expf(0.5) + tanhf(0.5))) < 1e-6)
    }

    @Test("Flipped bytes are caught by the checksum, the entry rebuilt, and results stay right")
    func corruptedEntry() throws {
        let folder = try TemporaryDirectory()
        defer { folder.cleanUp() }
        let cache = CompileCache(directory: folder.url)
        let key = try #require(try LLVMJIT(cache: cache).compile(module: IRSamples.axpy).cacheKey)
        let url = cache.fileURL(forKey: key)
        var bytes = try [UInt8](Data(contentsOf: url))
        for offset in stride(from: bytes.count / 2, to: bytes.count / 2 + 64, by: 7) {
            bytes[offset] ^= 0xA5
        }
        try Data(bytes).write(to: url)

        let rebuilt = try LLVMJIT(cache: cache).compile(module: IRSamples.axpy)
        #expect(rebuilt.timings.cache == .rebuilt(reason: "checksum mismatch"))
        #expect(rebuilt.timings.optimize > .zero)
        #expect(allClose(try Self.runAxpy(rebuilt), Self.expectedAxpy, tolerance: 1e-6))
        // The rebuilt entry is good again.
        #expect(try LLVMJIT(cache: cache).compile(module: IRSamples.axpy).timings.cacheHit)
    }

    @Test("A truncated entry is rejected by its size and rebuilt")
    func truncatedEntry() throws {
        let folder = try TemporaryDirectory()
        defer { folder.cleanUp() }
        let cache = CompileCache(directory: folder.url)
        let key = try #require(try LLVMJIT(cache: cache).compile(module: IRSamples.axpy).cacheKey)
        let url = cache.fileURL(forKey: key)
        let bytes = try Data(contentsOf: url)
        for length in [bytes.count - 1, 10] {
            try bytes.prefix(length).write(to: url)
            let rebuilt = try LLVMJIT(cache: cache).compile(module: IRSamples.axpy)
            guard case .rebuilt(let reason) = rebuilt.timings.cache else {
                Issue.record("expected a rebuild, got \(rebuilt.timings.cache)")
                continue
            }
            #expect(reason.contains("size") || reason.contains("short"))
            #expect(allClose(try Self.runAxpy(rebuilt), Self.expectedAxpy, tolerance: 1e-6))
        }
    }

    @Test("An intact entry whose object LLVM cannot load is deleted and rebuilt")
    func unloadableEntry() throws {
        let folder = try TemporaryDirectory()
        defer { folder.cleanUp() }
        let cache = CompileCache(directory: folder.url)
        let key = CompileCache.key(irText: IRSamples.axpy, optLevel: .O3)
        try cache.store(CacheEntry(functionNames: ["axpy"], object: Array("not an object file".utf8)), key: key)

        let rebuilt = try LLVMJIT(cache: cache).compile(module: IRSamples.axpy)
        guard case .rebuilt(let reason) = rebuilt.timings.cache else {
            Issue.record("expected a rebuild, got \(rebuilt.timings.cache)")
            return
        }
        #expect(reason.hasPrefix("load failed"))
        #expect(allClose(try Self.runAxpy(rebuilt), Self.expectedAxpy, tolerance: 1e-6))
        #expect(try LLVMJIT(cache: cache).compile(module: IRSamples.axpy).timings.cacheHit)
    }

    @Test("Keys differ by IR text and by optimisation level, and are stable")
    func keys() {
        let base = CompileCache.key(irText: IRSamples.axpy, optLevel: .O3)
        #expect(base == CompileCache.key(irText: IRSamples.axpy, optLevel: .O3))
        #expect(base != CompileCache.key(irText: IRSamples.axpy + "\n", optLevel: .O3))
        #expect(base != CompileCache.key(irText: IRSamples.dot, optLevel: .O3))
        #expect(base != CompileCache.key(irText: IRSamples.axpy, optLevel: .O0))
        #expect(base.allSatisfy { $0.isHexDigit } && base.count == 64)
    }

    @Test("Different IR gets its own entry in the same folder")
    func differentIRDifferentEntry() throws {
        let folder = try TemporaryDirectory()
        defer { folder.cleanUp() }
        let jit = try LLVMJIT(cache: CompileCache(directory: folder.url))
        let first = try jit.compile(module: IRSamples.axpy)
        let second = try jit.compile(module: IRSamples.dot)
        #expect(second.timings.cache == .miss)
        #expect(first.cacheKey != second.cacheKey)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.url.path).filter { $0.hasSuffix(".o") }
        #expect(files.count == 2)
        try CompileCache(directory: folder.url).clear()
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path).isEmpty)
    }

    @Test("An unwritable cache folder does not stop compilation")
    func unwritableFolder() throws {
        let folder = try TemporaryDirectory()
        defer { folder.cleanUp() }
        // A regular file where the folder should be: creating the folder fails.
        let blocked = folder.url.appendingPathComponent("blocked")
        try Data("x".utf8).write(to: blocked)
        let module = try LLVMJIT(cache: CompileCache(directory: blocked)).compile(module: IRSamples.axpy)
        guard case .storeFailed = module.timings.cache else {
            Issue.record("expected storeFailed, got \(module.timings.cache)")
            return
        }
        #expect(allClose(try Self.runAxpy(module), Self.expectedAxpy, tolerance: 1e-6))
    }

    @Test("Default folder honours METAJIT_CACHE_DIR")
    func defaultDirectory() {
        let custom = CompileCache.defaultDirectory(environment: ["METAJIT_CACHE_DIR": "/tmp/mj-cache"])
        #expect(custom.path == "/tmp/mj-cache")
        let fallback = CompileCache.defaultDirectory(environment: ["METAJIT_CACHE_DIR": ""])
        #expect(fallback.path.hasSuffix(".cache/metajit"))
    }

    @Test("Entry framing round-trips and rejects damage")
    func entryFraming() throws {
        let entry = CacheEntry(functionNames: ["a", "bb"], object: Array(0..<200))
        let bytes = entry.encoded()
        #expect(try CacheEntry.decode(bytes) == entry)
        #expect(try CacheEntry.decode(CacheEntry(functionNames: [], object: [1]).encoded()).functionNames == [])
        var badMagic = bytes
        badMagic[0] = 0
        #expect(throws: CacheEntry.DecodeError.badMagic) { try CacheEntry.decode(badMagic) }
        var badFooter = bytes
        badFooter[bytes.count - 1] ^= 1
        #expect(throws: CacheEntry.DecodeError.badFooter) { try CacheEntry.decode(badFooter) }
        var hugeLength = bytes
        for offset in 16..<24 { hugeLength[offset] = 0xFF }
        #expect(throws: CacheEntry.DecodeError.self) { try CacheEntry.decode(hugeLength) }
    }
}
