import Foundation
import MetaIR

/// One tensor of a mixed-dtype safetensors file: `F32` or `I32` elements and a shape.
public enum TypedTensor: Equatable, Sendable {
    /// `F32` elements.
    case f32([Float], Shape)
    /// `I32` elements.
    case i32([Int32], Shape)

    /// The shape.
    public var shape: Shape {
        switch self {
        case .f32(_, let s), .i32(_, let s): return s
        }
    }
}

extension SafeTensors {
    /// Serialises `tensors` of `F32` and `I32` (written in name order) with string `metadata`;
    /// the format of ``encode(_:metadata:)`` with an `I32` dtype besides (episode exports).
    public static func encode(typed tensors: [String: TypedTensor], metadata: [String: String]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for n in names {
            guard let t = tensors[n] else { continue }
            let (dtype, count): (String, Int)
            switch t {
            case .f32(let v, _): (dtype, count) = ("F32", v.count)
            case .i32(let v, _): (dtype, count) = ("I32", v.count)
            }
            header[n] = ["dtype": dtype, "shape": t.shape.dims, "data_offsets": [offset, offset + 4 * count]] as [String: Any]
            offset += 4 * count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for n in names {
            switch tensors[n] {
            case .f32(let v, _)?: v.withUnsafeBufferPointer { out.append(contentsOf: UnsafeRawBufferPointer($0)) }
            case .i32(let v, _)?: v.withUnsafeBufferPointer { out.append(contentsOf: UnsafeRawBufferPointer($0)) }
            case nil: break
            }
        }
        return out
    }

    /// Parses a safetensors file of `F32` and `I32` tensors. Lengths, shapes and offsets come
    /// from the file, so each is checked against the file's size (with overflow-checked
    /// arithmetic) before anything is allocated or sliced: any input either decodes or throws.
    /// - Throws: ``CheckpointError`` naming `path` and what is wrong.
    public static func decode(typed data: Data, path: String) throws -> (tensors: [String: TypedTensor], metadata: [String: String]) {
        func fail(_ m: String) -> CheckpointError { CheckpointError(path: path, message: m) }
        guard data.count >= 8 else { throw fail("truncated: \(data.count) bytes, no header") }
        let start = data.startIndex  // a Data slice need not start at 0
        // Compared as UInt64: a length of 2^63 or more does not fit an Int.
        let rawLength = data[start..<(start + 8)].withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard rawLength > 0, rawLength <= UInt64(data.count - 8) else {
            throw fail("truncated or corrupt: header of \(rawLength) bytes in a \(data.count)-byte file")
        }
        let headerLength = Int(rawLength)
        guard let header = try? JSONSerialization.jsonObject(with: data.subdata(in: (start + 8)..<(start + 8 + headerLength))) as? [String: Any] else {
            throw fail("corrupt: header is not a JSON object")
        }
        let body = data.subdata(in: (start + 8 + headerLength)..<data.endIndex)
        var tensors: [String: TypedTensor] = [:], metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                metadata = (value as? [String: String]) ?? [:]
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw fail("corrupt: bad header entry for \"\(name)\"")
            }
            guard dtype == "F32" || dtype == "I32" else { throw fail("tensor \"\(name)\" has dtype \(dtype); only F32 and I32 are supported") }
            guard let count = elementCount(shape) else { throw fail("corrupt: tensor \"\(name)\" has invalid shape \(shape)") }
            let (first, end) = (offsets[0], offsets[1])
            guard first >= 0, first <= end, end <= body.count, end - first == 4 * count else {
                throw fail("truncated or corrupt: tensor \"\(name)\" of shape \(shape) needs \(4 * count) bytes, has \(first)..<\(end) of \(body.count)")
            }
            let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 * count, alignment: 4)
            defer { bytes.deallocate() }
            body.withUnsafeBytes { src in bytes.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[first..<end])) }
            tensors[name] = dtype == "F32" ? .f32(Array(bytes.bindMemory(to: Float.self)), Shape(shape))
                : .i32(Array(bytes.bindMemory(to: Int32.self)), Shape(shape))
        }
        return (tensors, metadata)
    }
}
