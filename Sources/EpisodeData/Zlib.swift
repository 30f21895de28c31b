import CMetaZlib
import Foundation

/// Thin, safe wrappers around the system zlib (via the `CMetaZlib` module):
/// inflate of zlib and gzip streams, deflate (used by tests and tools to write PNG/IDX
/// fixtures), and CRC-32.
public enum Zlib {
    /// The container of a deflate stream.
    public enum Container: Sendable {
        /// RFC 1950 zlib stream (as in PNG `IDAT`).
        case zlib
        /// RFC 1952 gzip member (as in `.gz` files).
        case gzip
        /// zlib or gzip, detected from the header.
        case automatic

        var windowBits: Int32 {
            switch self {
            case .zlib: return 15
            case .gzip: return 15 + 16
            case .automatic: return 15 + 32
            }
        }
    }

    /// Inflates `input` (a zlib or gzip stream) and returns the decompressed bytes.
    ///
    /// - Parameters:
    ///   - input: compressed bytes.
    ///   - container: which header to expect.
    ///   - expectedSize: if known, the exact output size; used to size the buffer and to
    ///     detect truncated or oversized streams.
    ///   - path: the file the bytes came from, for error messages.
    /// - Throws: ``DataError`` `.truncated` if the stream ends early, `.corruptData` if it is malformed.
    public static func inflate(
        _ input: [UInt8], container: Container, expectedSize: Int? = nil, path: String
    ) throws -> [UInt8] {
        var stream = z_stream()
        let initStatus = inflateInit2_(&stream, container.windowBits, zlibVersion(),
                                       Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else {
            throw DataError(.corruptData, path: path, "zlib inflateInit failed (code \(initStatus))")
        }
        defer { inflateEnd(&stream) }

        // With a known size, one spare byte lets us detect streams that hold too much.
        let capacity = expectedSize.map { $0 + 1 } ?? max(gzipSizeHint(input) ?? input.count * 4, 64)
        var output = [UInt8](repeating: 0, count: capacity)
        var produced = 0
        var finished = false
        try input.withUnsafeBufferPointer { inBuf in
            stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
            stream.avail_in = uInt(inBuf.count)
            while !finished {
                if produced == output.count {
                    if let expected = expectedSize {
                        throw DataError(.corruptData, path: path,
                                        "compressed data holds more than the expected \(expected) bytes")
                    }
                    output.append(contentsOf: [UInt8](repeating: 0, count: output.count))
                }
                let status = output.withUnsafeMutableBufferPointer { outBuf -> Int32 in
                    stream.next_out = outBuf.baseAddress.map { $0 + produced }
                    stream.avail_out = uInt(outBuf.count - produced)
                    let before = stream.avail_out
                    let st = CMetaZlib.inflate(&stream, Z_NO_FLUSH)
                    produced += Int(before - stream.avail_out)
                    return st
                }
                switch status {
                case Z_STREAM_END:
                    finished = true
                case Z_OK:
                    continue
                case Z_BUF_ERROR:
                    if stream.avail_in == 0 {
                        throw DataError(.truncated, path: path,
                                        "compressed data ends early after \(produced) decompressed bytes")
                    }
                    continue
                default:
                    throw DataError(.corruptData, path: path, zlibMessage(status, &stream))
                }
            }
        }
        if let expected = expectedSize, produced != expected {
            throw DataError(.truncated, path: path,
                            "decompressed \(produced) bytes, expected \(expected)")
        }
        output.removeSubrange(produced...)
        return output
    }

    /// Compresses `input` with deflate in a zlib (default) or gzip container.
    ///
    /// - Parameters:
    ///   - input: bytes to compress.
    ///   - level: compression level 0...9 (`-1` for zlib's default).
    ///   - container: `.zlib` or `.gzip` (`.automatic` is treated as `.zlib`).
    /// - Returns: the compressed stream.
    /// - Throws: ``DataError`` `.invalidArgument` if zlib refuses the parameters.
    public static func deflate(_ input: [UInt8], level: Int = -1, container: Container = .zlib) throws -> [UInt8] {
        var stream = z_stream()
        let bits: Int32 = container == .gzip ? 15 + 16 : 15
        let initStatus = deflateInit2_(&stream, Int32(level), Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY,
                                       zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else {
            throw DataError(.invalidArgument, path: "", "zlib deflateInit failed (code \(initStatus))")
        }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(input.count))) + 32
        var output = [UInt8](repeating: 0, count: bound)
        var status: Int32 = Z_OK
        input.withUnsafeBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
                stream.avail_in = uInt(inBuf.count)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = uInt(outBuf.count)
                status = CMetaZlib.deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else {
            throw DataError(.invalidArgument, path: "", "zlib deflate failed (code \(status))")
        }
        output.removeSubrange(Int(stream.total_out)...)
        return output
    }

    /// CRC-32 (as used by PNG and gzip) of `bytes`, continuing from `initial`.
    public static func crc32(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return initial }
        return UInt32(CMetaZlib.crc32(uLong(initial), base.assumingMemoryBound(to: Bytef.self), uInt(bytes.count)))
    }

    /// CRC-32 of an array of bytes.
    public static func crc32(_ bytes: [UInt8], initial: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { crc32($0, initial: initial) }
    }

    /// The uncompressed size stored in a gzip trailer (ISIZE, modulo 2^32), used only as a
    /// buffer-size hint; nil if `input` is not gzip.
    private static func gzipSizeHint(_ input: [UInt8]) -> Int? {
        guard input.count >= 18, input[0] == 0x1F, input[1] == 0x8B else { return nil }
        let n = input.count
        let size = Int(input[n - 4]) | Int(input[n - 3]) << 8 | Int(input[n - 2]) << 16 | Int(input[n - 1]) << 24
        // A truncated file has garbage here: only trust plausible values (<= 64:1).
        return size <= 64 * n ? size + 1 : nil
    }

    private static func zlibMessage(_ status: Int32, _ stream: inout z_stream) -> String {
        if let msg = stream.msg {
            return "invalid compressed data: \(String(cString: msg)) (zlib code \(status))"
        }
        return "invalid compressed data (zlib code \(status))"
    }
}
