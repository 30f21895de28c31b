import Foundation

/// The most memory a graph may ask for, and where that number came from.
///
/// Every back end compares what it is about to allocate (arena, parameters, feeds) with the
/// limit first, so a graph too large for the machine is refused with a message instead of
/// dying in the allocator. The default is half of physical memory: enough for any graph this
/// project trains, while leaving room for the data loader and the rest of the system.
public struct MemoryLimit: Sendable, Hashable, CustomStringConvertible {
    /// The limit in bytes.
    public var bytes: Int
    /// Where it came from, said so a user knows what to change.
    public var source: String

    /// The environment variable that overrides the default.
    public static let environmentVariable = "METAJIT_MEMORY_LIMIT"

    /// Creates a limit of `bytes`, explained by `source`.
    public init(bytes: Int, source: String) {
        self.bytes = bytes
        self.source = source
    }

    /// No limit at all (tests and callers that check elsewhere).
    public static let unlimited = MemoryLimit(bytes: Int.max, source: "no limit")

    /// The limit in effect: `flag` (a `--memory-limit` value) if given, else
    /// `METAJIT_MEMORY_LIMIT` from `environment`, else half of `physicalMemory`.
    public static func resolve(flag: String? = nil,
                               environment: [String: String] = ProcessInfo.processInfo.environment,
                               physicalMemory: UInt64 = ProcessInfo.processInfo.physicalMemory) throws -> MemoryLimit {
        if let flag {
            guard let b = parseBytes(flag) else { throw MemoryLimitError.badSetting(name: "--memory-limit", value: flag) }
            return MemoryLimit(bytes: b, source: "set by --memory-limit \(flag)")
        }
        if let text = environment[environmentVariable] {
            guard let b = parseBytes(text) else { throw MemoryLimitError.badSetting(name: environmentVariable, value: text) }
            return MemoryLimit(bytes: b, source: "set by \(environmentVariable)=\(text)")
        }
        let half = Int(clamping: physicalMemory / 2)
        return MemoryLimit(bytes: half, source: "half of physical memory; set \(environmentVariable) or --memory-limit")
    }

    /// Parses a byte count: digits, optionally followed by `K`, `M` or `G` (powers of 1024,
    /// with or without a trailing `B`); `nil` for anything else, zero, or an overflow.
    public static func parseBytes(_ text: String) -> Int? {
        var digits = text.trimmingCharacters(in: .whitespaces).uppercased()
        if digits.hasSuffix("B") { digits.removeLast() }
        var scale = 1
        switch digits.last {
        case "K": scale = 1 << 10
        case "M": scale = 1 << 20
        case "G": scale = 1 << 30
        case "T": scale = 1 << 40
        default: break
        }
        if scale > 1 { digits.removeLast() }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), let n = Int(digits), n > 0 else {
            return nil
        }
        let (b, overflow) = n.multipliedReportingOverflow(by: scale)
        return overflow ? nil : b
    }

    /// Throws `MemoryLimitError.exceeded` when `parts` (named byte counts) add up to more
    /// than the limit; `what` says what needs the memory ("the compiled step").
    public func check(_ what: String, parts: [(name: String, bytes: Int)]) throws {
        let total = Self.sum(parts.map(\.bytes))
        guard total > bytes else { return }
        throw MemoryLimitError.exceeded(what: what, needed: total, parts: parts.map { MemoryLimitError.Part(name: $0.name, bytes: $0.bytes) },
                                        limit: self)
    }

    /// Sum that saturates at `Int.max` instead of trapping: a saturated total is still above
    /// any limit, which is all a check needs.
    public static func sum(_ xs: [Int]) -> Int {
        xs.reduce(0) { a, x in
            let (s, o) = a.addingReportingOverflow(x)
            return o ? Int.max : s
        }
    }

    /// Bytes of one tensor of `type`, saturating at `Int.max`.
    public static func bytes(of type: TensorType, elementSize: Int? = nil) -> Int {
        guard let n = type.shape.checkedCount else { return Int.max }
        let (b, o) = n.multipliedReportingOverflow(by: elementSize ?? type.dtype.byteSize)
        return o ? Int.max : b
    }

    /// `12.0 GiB (half of physical memory; …)`.
    public var description: String { "\(Self.format(bytes)) (\(source))" }

    /// A byte count for people: `512 B`, `3.4 MiB`, `38.2 GiB`; with `unitOf`, in the unit
    /// that count would be written in.
    public static func format(_ bytes: Int, unitOf reference: Int? = nil) -> String {
        if bytes == Int.max { return "more than 8 EiB" }
        let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        let scale = reference ?? bytes
        guard scale >= 1024 else { return "\(bytes) B" }
        var value = Double(bytes) / 1024, size = Double(scale) / 1024, unit = 0
        while size >= 1024, unit < units.count - 1 {
            value /= 1024
            size /= 1024
            unit += 1
        }
        return String(format: "%.1f", value) + " " + units[unit]
    }
}

/// A request for more memory than the limit, or a limit that could not be read.
public enum MemoryLimitError: Error, CustomStringConvertible, Equatable {
    /// One named share of a request.
    public struct Part: Sendable, Hashable {
        /// What the bytes are for (`arena`).
        public var name: String
        /// How many.
        public var bytes: Int
    }

    /// `what` needs `needed` bytes (made of `parts`), above `limit`.
    case exceeded(what: String, needed: Int, parts: [Part], limit: MemoryLimit)
    /// A `--memory-limit` or `METAJIT_MEMORY_LIMIT` value that is not a byte count.
    case badSetting(name: String, value: String)

    /// Human-readable message.
    public var description: String {
        switch self {
        case .exceeded(let what, let needed, let parts, let limit):
            // Shares in the total's unit, so they read as parts of it ("0.3 GiB", not "307.2 MiB").
            // A share too small to show in that unit gets its own.
            let shares = parts.map { part -> String in
                let inUnit = MemoryLimit.format(part.bytes, unitOf: needed)
                return "\(part.name) " + (inUnit.hasPrefix("0.0 ") && part.bytes > 0 ? MemoryLimit.format(part.bytes) : inUnit)
            }.joined(separator: ", ")
            return "\(what) needs \(MemoryLimit.format(needed))" + (parts.count > 1 ? " (\(shares))" : "")
                + ", above the limit of \(limit)"
        case .badSetting(let name, let value):
            return "\(name): '\(value)' is not a byte count (expected e.g. 8000000000, 512M or 12G)"
        }
    }
}
