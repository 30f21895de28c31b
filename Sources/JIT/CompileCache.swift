import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An on-disk cache of optimised object files, keyed by everything that determines them.
///
/// The key is the SHA-256 of the IR text, the LLVM version, the host triple, CPU name and
/// features, and the optimisation level, so a new LLVM or another CPU never reuses stale code.
/// Entries are `<directory>/<key>.o`, framed with a checksum (see `CacheEntry`), and written to
/// a temporary file that is then renamed into place, so readers never see a partial entry and
/// concurrent writers of the same key are harmless. A bad entry is deleted and rebuilt.
public struct CompileCache: Sendable, Equatable {
    /// The folder holding the entries; created on first write.
    public let directory: URL

    /// A cache in `directory`.
    public init(directory: URL) {
        self.directory = directory
    }

    /// A cache in the default folder: `$METAJIT_CACHE_DIR`, else `~/.cache/metajit`.
    public init() {
        self.init(directory: Self.defaultDirectory())
    }

    /// `$METAJIT_CACHE_DIR` when set and non-empty, else `~/.cache/metajit`.
    public static func defaultDirectory(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> URL {
        if let configured = environment["METAJIT_CACHE_DIR"], !configured.isEmpty {
            return URL(fileURLWithPath: configured, isDirectory: true)
        }
        let home = FileManager.default.homeDirectoryForCurrentUser
        return home.appendingPathComponent(".cache/metajit", isDirectory: true)
    }

    /// The cache key (64 hex digits) for compiling `irText` at `optLevel` on this host.
    public static func key(irText: String, optLevel: OptLevel) -> String {
        var hasher = SHA256()
        // Each field is NUL-terminated so that no two field lists hash the same bytes.
        let fields = [
            "metajit-compile-cache-v\(CacheEntry.formatVersion)", LLVMInfo.version, LLVMInfo.hostTriple,
            LLVMInfo.hostCPUName, LLVMInfo.hostCPUFeatures, "O\(optLevel.rawValue)",
        ]
        for field in fields {
            hasher.update(field)
            hasher.update([0])
        }
        hasher.update(irText)
        return SHA256.hex(hasher.finalize())
    }

    /// The file that holds (or would hold) the entry for `key`.
    public func fileURL(forKey key: String) -> URL {
        directory.appendingPathComponent("\(key).o", isDirectory: false)
    }

    /// Deletes every entry (and stray temporary file) in the cache folder.
    public func clear() throws {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names where name.hasSuffix(".o") || name.hasSuffix(".tmp") {
            do {
                try manager.removeItem(at: directory.appendingPathComponent(name))
            } catch {
                throw JITError.cache("cannot delete \(name): \(error.localizedDescription)")
            }
        }
    }

    /// What a lookup found.
    enum Lookup: Equatable {
        case missing
        case found(CacheEntry)
        case rejected(reason: String)
    }

    /// Reads and checks the entry for `key`; a rejected entry has already been deleted.
    func load(key: String) -> Lookup {
        let url = fileURL(forKey: key)
        guard let data = FileManager.default.contents(atPath: url.path) else { return .missing }
        do {
            return .found(try CacheEntry.decode([UInt8](data)))
        } catch {
            remove(key: key)
            return .rejected(reason: error.reason)
        }
    }

    /// Atomically writes `entry` under `key`.
    func store(_ entry: CacheEntry, key: String) throws {
        let manager = FileManager.default
        do {
            try manager.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw JITError.cache("cannot create \(directory.path): \(error.localizedDescription)")
        }
        let destination = fileURL(forKey: key)
        let temporary = directory.appendingPathComponent(".\(key).\(UUID().uuidString).tmp")
        do {
            try Data(entry.encoded()).write(to: temporary)
        } catch {
            try? manager.removeItem(at: temporary)
            throw JITError.cache("cannot write \(temporary.path): \(error.localizedDescription)")
        }
        // POSIX rename replaces an existing destination atomically (FileManager.moveItem refuses).
        if rename(temporary.path, destination.path) != 0 {
            let code = errno
            try? manager.removeItem(at: temporary)
            throw JITError.cache("cannot rename into \(destination.path): errno \(code)")
        }
    }

    /// Deletes the entry for `key`, if any.
    func remove(key: String) {
        try? FileManager.default.removeItem(at: fileURL(forKey: key))
    }
}
