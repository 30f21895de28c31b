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
    /// Serialises `tensors` (written in name order) with string `metadata`.
    public static func encode(_ tensors: [String: (shape: Shape, values: [Float])], metadata: [String: String]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for n in names {
            guard let t = tensors[n] else { continue }
            let bytes = t.values.count * 4
            header[n] = ["dtype": "F32", "shape": t.shape.dims, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }  // pad with spaces so data is 8-aligned
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for n in names {
            guard let t = tensors[n] else { continue }
            t.values.withUnsafeBufferPointer { buf in
                out.append(contentsOf: UnsafeRawBufferPointer(buf))  // x86-64 and arm64 are little-endian
            }
        }
        return out
    }

    /// Parses a safetensors file's bytes; every length and offset is validated.
    ///
    /// Lengths, shapes and offsets come from the file, so each is checked against the file's
    /// size (with overflow-checked arithmetic) before anything is allocated or sliced: any
    /// input either decodes or throws.
    /// - Throws: ``CheckpointError`` naming `path` and what is wrong.
    public static func decode(_ data: Data, path: String) throws -> (tensors: [String: (shape: Shape, values: [Float])], metadata: [String: String]) {
        func fail(_ m: String) -> CheckpointError { CheckpointError(path: path, message: m) }
        guard data.count >= 8 else { throw fail("truncated: \(data.count) bytes, no header") }
        let start = data.startIndex  // a Data slice need not start at 0
        let rawLength = data[start..<(start + 8)].withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        // Compare as UInt64: a length of 2^63 or more does not fit an Int.
        guard rawLength > 0, rawLength <= UInt64(data.count - 8) else {
            throw fail("truncated or corrupt: header of \(rawLength) bytes in a \(data.count)-byte file")
        }
        let headerLength = Int(rawLength)
        let headerData = data.subdata(in: (start + 8)..<(start + 8 + headerLength))
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw fail("corrupt: header is not a JSON object")
        }
        let body = data.subdata(in: (start + 8 + headerLength)..<data.endIndex)
        var tensors: [String: (shape: Shape, values: [Float])] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                metadata = (value as? [String: String]) ?? [:]
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw fail("corrupt: bad header entry for \"\(name)\"")
            }
            guard dtype == "F32" else { throw fail("tensor \"\(name)\" has dtype \(dtype); only F32 is supported") }
            guard let count = elementCount(shape) else {
                throw fail("corrupt: tensor \"\(name)\" has invalid shape \(shape)")
            }
            let (first, end) = (offsets[0], offsets[1])
            // `end - first` cannot overflow once both are known to lie in 0...body.count.
            guard first >= 0, first <= end, end <= body.count, end - first == 4 * count else {
                throw fail("truncated or corrupt: tensor \"\(name)\" of shape \(shape) needs \(count) floats, "
                           + "has bytes \(first)..<\(end) of \(body.count)")
            }
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBytes { dst in
                body.withUnsafeBytes { src in
                    dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[first..<end]))
                }
            }
            tensors[name] = (Shape(shape), values)
        }
        return (tensors, metadata)
    }

    /// The product of `dims`, or nil if a dimension is negative or the product (in bytes of
    /// F32) overflows `Int`.
    private static func elementCount(_ dims: [Int]) -> Int? {
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
