import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An on-disk cache of optimised object files, keyed by everything that determines them.
///
/// The key is the SHA-256 of the IR text, the LLVM version, the host triple, CPU name and
/// features, the optimisation level and its LLVM pipeline, so a new LLVM,
/// another CPU or another pipeline never reuses stale code.
/// Entries are `<directory>/<key>.o`, framed with a checksum (see `CacheEntry`).
///
/// Several processes may share one folder. Each writer fills a temporary file of its own
/// (`.<key>.<uuid>.tmp`) and renames it into place, so readers see a whole entry or none and
/// concurrent writers of the same key each install a complete entry. A bad entry is rebuilt
/// and replaced by the same rename rather than deleted by the reader that found it: a plain
/// deletion could remove a good entry another process installed since the bad one was read.
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
            optLevel.pipeline,
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

    /// Deletes every entry (and stray temporary file) in the cache folder. A compile writing
    /// into the folder meanwhile loses its entry (`CompileTimings.cache` says `.storeFailed`)
    /// but still returns correct code.
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

    /// Reads and checks the entry for `key`. A rejected entry stays until `store` replaces it.
    func load(key: String) -> Lookup {
        let url = fileURL(forKey: key)
        guard let data = FileManager.default.contents(atPath: url.path) else { return .missing }
        do {
            return .found(try CacheEntry.decode([UInt8](data)))
        } catch {
            return .rejected(reason: error.reason)
        }
    }

    /// Atomically writes `entry` under `key`.
    func store(_ entry: CacheEntry, key: String) throws {
        let manager = FileManager.default
        do {
            try manager.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            // Another process may have created it between Foundation's existence check and mkdir.
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw JITError.cache("cannot create \(directory.path): \(error.localizedDescription)")
            }
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

    /// Deletes the entry for `key` if it is still unusable (fails its checks).
    ///
    /// The file is first renamed to a private name, which takes whatever entry is in place at
    /// that instant; if that turns out to be an intact entry (another process may have installed
    /// it since the caller looked), it is put back, since any intact entry of a key will do and
    /// a rebuild's `store` replaces it anyway.
    func remove(key: String) {
        let url = fileURL(forKey: key)
        let quarantine = directory.appendingPathComponent(".\(key).\(UUID().uuidString).tmp")
        guard rename(url.path, quarantine.path) == 0 else { return }
        if let data = FileManager.default.contents(atPath: quarantine.path),
           (try? CacheEntry.decode([UInt8](data))) != nil,
           rename(quarantine.path, url.path) == 0 {
            return
        }
        try? FileManager.default.removeItem(at: quarantine)
    }
}
