import Foundation
import MetaIR

/// Errors reading or writing checkpoints.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    /// The file.
    public var path: String
    /// What was wrong.
    public var message: String

    /// Creates an error.
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    /// `path: message`.
    public var description: String { "\(path): \(message)" }
}

/// Reads and writes the safetensors format (8-byte little-endian header length, JSON header
/// with `dtype`/`shape`/`data_offsets` per tensor and a `__metadata__` string map, then the raw
/// little-endian data), so checkpoints open in PyTorch, JAX and HF tooling.
public enum SafeTensors {
    /// Serialises `tensors` (written in name order) with string `metadata`: the `F32` case
    /// of ``encode(typed:metadata:)``, byte for byte.
    public static func encode(_ tensors: [String: (shape: Shape, values: [Float])], metadata: [String: String]) throws -> Data {
        try encode(typed: tensors.mapValues { .f32($0.values, $0.shape) }, metadata: metadata)
    }

    /// Parses a safetensors file of `F32` tensors (checkpoints); every length and offset is
    /// validated (see ``decode(typed:path:)``), and any other dtype is refused.
    /// - Throws: ``CheckpointError`` naming `path` and what is wrong.
    public static func decode(_ data: Data, path: String) throws -> (tensors: [String: (shape: Shape, values: [Float])], metadata: [String: String]) {
        let (typed, metadata) = try decode(typed: data, path: path)
        var tensors: [String: (shape: Shape, values: [Float])] = [:]
        for (name, t) in typed {
            guard case .f32(let values, let shape) = t else {
                throw CheckpointError(path: path, message: "tensor \"\(name)\" has dtype I32; only F32 is supported")
            }
            tensors[name] = (shape, values)
        }
        return (tensors, metadata)
    }

    /// The product of `dims`, or nil if a dimension is negative or the product (in bytes of
    /// a 4-byte element) overflows `Int`.
    static func elementCount(_ dims: [Int]) -> Int? {
        var count = 1
        for d in dims {
            guard d >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { return nil }
            count = product
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: 4)
        return overflow || bytes < 0 ? nil : count
    }

    /// Writes `data` to `url` atomically: a temporary file in the same folder, flushed to disk,
    /// then renamed over the target, so a crash at any moment leaves the old file or the new one.
    public static func writeAtomically(_ data: Data, to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tmp = temporaryURL(for: url, pid: getpid())
        guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else {
            throw CheckpointError(path: tmp.path, message: "cannot create file")
        }
        let handle = try FileHandle(forWritingTo: tmp)
        do {
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(at: tmp)
            throw CheckpointError(path: url.path, message: "write failed: \(error.localizedDescription)")
        }
        guard rename(tmp.path, url.path) == 0 else {
            try? FileManager.default.removeItem(at: tmp)
            throw CheckpointError(path: url.path, message: "rename failed (errno \(errno))")
        }
        // Make the rename itself durable.
        let fd = open(dir.path, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// The temporary file process `pid` fills while `writeAtomically` writes `url`.
    static func temporaryURL(for url: URL, pid: pid_t) -> URL {
        url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(pid)")
    }

    /// Deletes the temporary files that `writeAtomically(_:to:)` left beside `url` in processes
    /// that were killed mid-write (one per kill, so a restarted job would pile them up);
    /// files of processes still running are kept. Returns the names deleted.
    @discardableResult
    public static func removeStaleTemporaries(besides url: URL) -> [String] {
        let dir = url.deletingLastPathComponent()
        let prefix = ".\(url.lastPathComponent).tmp-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(prefix) {
            guard let pid = pid_t(name.dropFirst(prefix.count)), pid > 0, pid != getpid() else { continue }
            // kill(pid, 0) probes without signalling: ESRCH means no such process.
            guard kill(pid, 0) != 0, errno == ESRCH else { continue }
            if (try? FileManager.default.removeItem(at: dir.appendingPathComponent(name))) != nil {
                removed.append(name)
            }
        }
        return removed.sorted()
    }
}
