import Foundation
import TestSupport
import Testing

@testable import JIT

/// Several compiles sharing one cache folder at once, as threads of one process and as
/// separate `metajit` processes: nobody sees a partial entry, nobody's result is disturbed,
/// and every entry left behind verifies.
@Suite("Compile cache under concurrency", .serialized)
struct CompileCacheConcurrencyTests {
    /// Results of parallel workers, under a lock.
    final class Results<Value: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Int: Value] = [:]

        func set(_ value: Value, at index: Int) {
            lock.lock()
            values[index] = value
            lock.unlock()
        }

        var all: [Int: Value] {
            lock.lock()
            defer { lock.unlock() }
            return values
        }
    }

    /// Every `.o` in `folder` decodes and verifies; no temporary file is left.
    static func expectIntactCache(_ folder: URL, entries: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(names.filter { $0.hasSuffix(".tmp") }.isEmpty, "temporaries left: \(names)", sourceLocation: sourceLocation)
        let objects = names.filter { $0.hasSuffix(".o") }
        #expect(objects.count == entries, "entries: \(objects)", sourceLocation: sourceLocation)
        let cache = CompileCache(directory: folder)
        for name in objects {
            let key = String(name.dropLast(2))
            guard case .found = cache.load(key: key) else {
                Issue.record("entry \(name) does not verify", sourceLocation: sourceLocation)
                continue
            }
        }
    }

    @Test("8 threads compiling the same two modules into a fresh folder all get correct code")
    func threadsShareOneFolder() throws {
        let folder = try TemporaryDirectory()
        defer { folder.cleanUp() }
        let cache = CompileCache(directory: folder.url.appendingPathComponent("not-yet-created"))
        for round in 0..<3 {
            let results = Results<Result<[Float], JITError>>()
            let labels = Results<String>()
            DispatchQueue.concurrentPerform(iterations: 8) { worker in
                do {
                    let module = try LLVMJIT(cache: cache).compile(
                        module: worker % 2 == 0 ? IRSamples.axpy : IRSamples.axpy + "\n; same code, other key\n")
                    labels.set(module.timings.cache.description, at: worker)
                    results.set(.success(try CompileCacheTests.runAxpy(module)), at: worker)
                } catch let error as JITError {
                    results.set(.failure(error), at: worker)
                } catch {
                    results.set(.failure(.cache("\(error)")), at: worker)
                }
            }
            #expect(results.all.count == 8)
            for (worker, result) in results.all {
                switch result {
                case .success(let y): #expect(allClose(y, CompileCacheTests.expectedAxpy, tolerance: 1e-6), "worker \(worker)")
                case .failure(let error): Issue.record("round \(round) worker \(worker): \(error)")
                }
            }
            // Nobody had to rebuild a damaged entry or failed to store one.
            #expect(labels.all.values.allSatisfy { $0 == "miss" || $0 == "hit" }, "\(labels.all)")
            if round > 0 { #expect(labels.all.values.allSatisfy { $0 == "hit" }, "\(labels.all)") }
            try Self.expectIntactCache(cache.directory, entries: 2)
        }
    }

    @Test("A reader that finds a bad entry leaves it for the rebuild to replace, and never deletes a good one")
    func rejectedEntriesAreReplacedNotDeleted() throws {
        let folder = try TemporaryDirectory()
        defer { folder.cleanUp() }
        let cache = CompileCache(directory: folder.url)
        let key = CompileCache.key(irText: IRSamples.axpy, optLevel: .O3)
        let url = cache.fileURL(forKey: key)
        try Data("MJITOBJ1 torn".utf8).write(to: url)
        guard case .rejected = cache.load(key: key) else {
            Issue.record("a torn entry was not rejected")
            return
        }
        #expect(FileManager.default.fileExists(atPath: url.path), "load deleted the entry")

        // `remove` deletes an entry only while it is still bad: here another process has just
        // installed a good one in its place.
        let good = CacheEntry(functionNames: ["axpy"], object: Array("object bytes".utf8))
        try cache.store(good, key: key)
        cache.remove(key: key)
        #expect(cache.load(key: key) == .found(good))
        try Data("MJITOBJ1 torn again".utf8).write(to: url)
        cache.remove(key: key)
        #expect(cache.load(key: key) == .missing)
        try Self.expectIntactCache(folder.url, entries: 0)

        // A compile over a bad entry rebuilds it and installs a good one.
        try Data("MJITOBJ1 torn".utf8).write(to: url)
        let rebuilt = try LLVMJIT(cache: cache).compile(module: IRSamples.axpy)
        #expect(rebuilt.timings.cache == .rebuilt(reason: "file too short (13 bytes)"))
        #expect(try LLVMJIT(cache: cache).compile(module: IRSamples.axpy).timings.cacheHit)
        try Self.expectIntactCache(folder.url, entries: 1)
    }

    @Test("4 metajit processes compiling the same graphs at once into one fresh cache folder", .timeLimit(.minutes(5)))
    func processesShareOneFolder() throws {
        let folder = try TemporaryDirectory()
        defer { folder.cleanUp() }
        let shared = ["METAJIT_CACHE_DIR": folder.url.appendingPathComponent("cache").path]
        // A folder that cannot be created: every compile goes through LLVM in memory.
        let uncached = ["METAJIT_CACHE_DIR": "/dev/null/no-cache"]
        for graph in ["mlp", "attention-block"] {
            let args = ["run", graph, "--seed", "7", "--verbose"]
            let reference = try runMetaJIT(args, environment: uncached)
            #expect(reference.status == 0, "\(reference.err)")
            #expect(reference.out.contains("loss") || reference.out.contains("graph \(graph)"))
            for round in 0..<3 {
                let runs = try (0..<4).map { _ in try startMetaJIT(args, environment: shared) }.map { $0.wait() }
                for (i, r) in runs.enumerated() {
                    #expect(r.status == 0, "\(graph) round \(round) process \(i): \(r.err)")
                    #expect(r.out == reference.out, "\(graph) round \(round) process \(i)")
                    #expect(!r.err.contains("rebuilt") && !r.err.contains("store failed"), "\(r.err)")
                    if round > 0 { #expect(r.err.contains("(hit)"), "\(graph) round \(round): \(r.err)") }
                }
            }
        }
        let entries = try FileManager.default.contentsOfDirectory(atPath: folder.url.appendingPathComponent("cache").path)
            .filter { $0.hasSuffix(".o") }.count
        #expect(entries >= 2)
        try Self.expectIntactCache(folder.url.appendingPathComponent("cache"), entries: entries)
    }
}
