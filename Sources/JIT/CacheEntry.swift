/// One compile-cache entry: the optimised object file plus the names of the functions it
/// exports, framed so that truncation and bit flips are detected before LLVM sees the bytes.
///
/// Layout (little-endian):
/// ```
/// "MJITOBJ1"  magic                     8 bytes
/// u32         format version            4
/// u32         symbol table length S     4
/// u64         object length O           8
/// [32]        SHA-256 of symbols+object 32
/// [S]         symbol names, "\n"-joined
/// [O]         ELF object file
/// "MJITEND1"  footer                    8
/// ```
struct CacheEntry: Equatable, Sendable {
    /// Exported function names; the first one is looked up to force linking on load.
    var functionNames: [String]
    /// The relocatable object file emitted by the host target machine.
    var object: [UInt8]

    static let magic = Array("MJITOBJ1".utf8)
    static let footer = Array("MJITEND1".utf8)
    static let formatVersion: UInt32 = 1
    static let headerSize = 8 + 4 + 4 + 8 + 32

    /// Why a file is not a usable entry.
    enum DecodeError: Error, Equatable {
        case tooShort(Int)
        case badMagic
        case unsupportedVersion(UInt32)
        case wrongSize(expected: Int, actual: Int)
        case badFooter
        case checksumMismatch
        case badSymbolTable

        var reason: String {
            switch self {
            case .tooShort(let size): "file too short (\(size) bytes)"
            case .badMagic: "bad magic"
            case .unsupportedVersion(let version): "unsupported format version \(version)"
            case .wrongSize(let expected, let actual): "wrong size (expected \(expected), got \(actual))"
            case .badFooter: "bad footer"
            case .checksumMismatch: "checksum mismatch"
            case .badSymbolTable: "bad symbol table"
            }
        }
    }

    /// The framed bytes to write to disk.
    func encoded() -> [UInt8] {
        let symbols = Array(functionNames.joined(separator: "\n").utf8)
        var hasher = SHA256()
        hasher.update(symbols)
        hasher.update(object)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.headerSize + symbols.count + object.count + Self.footer.count)
        bytes += Self.magic
        Self.append(Self.formatVersion, to: &bytes)
        Self.append(UInt32(symbols.count), to: &bytes)
        Self.append(UInt64(object.count), to: &bytes)
        bytes += hasher.finalize()
        bytes += symbols
        bytes += object
        bytes += Self.footer
        return bytes
    }

    /// Parses and checks framed bytes read from disk.
    static func decode(_ bytes: [UInt8]) throws(DecodeError) -> CacheEntry {
        guard bytes.count >= headerSize + footer.count else { throw .tooShort(bytes.count) }
        guard Array(bytes[0..<8]) == magic else { throw .badMagic }
        let version = UInt32(truncatingIfNeeded: readInteger(bytes, at: 8, width: 4))
        guard version == formatVersion else { throw .unsupportedVersion(version) }
        let symbolCount = Int(readInteger(bytes, at: 12, width: 4))
        let objectLength = readInteger(bytes, at: 16, width: 8)
        // Compare in UInt64 first so a corrupt length cannot overflow Int arithmetic.
        let expected64 = UInt64(headerSize + footer.count + symbolCount) &+ objectLength
        guard objectLength <= UInt64(Int.max / 2), expected64 == UInt64(bytes.count) else {
            let expected = expected64 > UInt64(Int.max) ? Int.max : Int(expected64)
            throw .wrongSize(expected: expected, actual: bytes.count)
        }
        let objectCount = Int(objectLength)
        guard Array(bytes[(bytes.count - footer.count)...]) == footer else { throw .badFooter }
        let symbolStart = headerSize
        let objectStart = symbolStart + symbolCount
        let payload = bytes[symbolStart..<(objectStart + objectCount)]
        guard SHA256.hash(payload) == Array(bytes[24..<56]) else { throw .checksumMismatch }
        guard let table = String(validating: bytes[symbolStart..<objectStart], as: UTF8.self) else {
            throw .badSymbolTable
        }
        let names = table.isEmpty ? [] : table.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return CacheEntry(functionNames: names, object: Array(bytes[objectStart..<(objectStart + objectCount)]))
    }

    private static func append<Integer: FixedWidthInteger>(_ value: Integer, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private static func readInteger(_ bytes: [UInt8], at offset: Int, width: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in (0..<width).reversed() {
            value = value << 8 | UInt64(bytes[offset + index])
        }
        return value
    }
}
