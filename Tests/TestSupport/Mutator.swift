import Foundation
import MetaIR

/// A seeded byte mutator over a corpus, for the quick fuzz runs inside `swift test`: the
/// long runs use libFuzzer (`scripts/fuzz.sh`), this keeps every reader's "throw, never trap"
/// contract checked on each test run with reproducible inputs.
public struct Mutator {
    /// Values that tend to hit boundaries in length and count fields.
    static let interesting: [UInt64] = [0, 1, 2, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0xFFFF,
                                        0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 1 << 32, .max >> 1, .max]
    /// Text fragments that matter to the text IR and JSON (digits, separators, keywords).
    static let tokens: [String] = ["%", "-", "9223372036854775807", "99999999999", "-1", "0", "[", "]",
                                   ",", "=", "\"", "\n", "{", "}", ":", "1e308", "null", "true"]

    private var rng: SplitMix64
    private let corpus: [[UInt8]]

    /// Creates a mutator drawing from `corpus` (which must not be empty) with `seed`.
    public init(corpus: [[UInt8]], seed: UInt64) {
        precondition(!corpus.isEmpty, "the mutator needs at least one seed input")
        self.corpus = corpus
        self.rng = SplitMix64(seed: seed)
    }

    /// Reads every regular file of `Tests/Fuzz/<target>/` (not its subfolders) as a seed.
    public static func corpus(_ target: String) throws -> [[UInt8]] {
        let dir = TestPaths.repositoryRoot.appendingPathComponent("Tests/Fuzz/\(target)")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        return try names.compactMap { name in
            let url = dir.appendingPathComponent(name)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue else { return nil }
            return [UInt8](try Data(contentsOf: url))
        }
    }

    /// Reads `Tests/Fuzz/<target>/regressions/<name>`.
    public static func regression(_ target: String, _ name: String) throws -> [UInt8] {
        let url = TestPaths.repositoryRoot.appendingPathComponent("Tests/Fuzz/\(target)/regressions/\(name)")
        return [UInt8](try Data(contentsOf: url))
    }

    private mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(rng.next() % UInt64(n)) }

    /// The next input: a corpus entry with one to four mutations applied.
    public mutating func next() -> [UInt8] {
        var bytes = corpus[below(corpus.count)]
        for _ in 0...below(4) { mutate(&bytes) }
        return bytes
    }

    private mutating func mutate(_ b: inout [UInt8]) {
        switch below(8) {
        case 0 where !b.isEmpty:  // bit flip
            b[below(b.count)] ^= 1 << UInt8(below(8))
        case 1 where !b.isEmpty:  // random byte
            b[below(b.count)] = UInt8(truncatingIfNeeded: rng.next())
        case 2:  // insert bytes
            b.insert(contentsOf: (0...below(4)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: below(b.count + 1))
        case 3 where !b.isEmpty:  // delete a run
            let start = below(b.count)
            b.removeSubrange(start..<min(b.count, start + 1 + below(8)))
        case 4:  // splice in a piece of another seed
            let other = corpus[below(corpus.count)]
            guard !other.isEmpty else { return }
            let from = below(other.count)
            b.insert(contentsOf: other[from..<min(other.count, from + 1 + below(32))], at: below(b.count + 1))
        case 5 where b.count >= 4:  // interesting integer, 4 or 8 bytes, either byte order
            let v = Self.interesting[below(Self.interesting.count)]
            let width = b.count >= 8 && below(2) == 0 ? 8 : 4
            let at = below(b.count - width + 1)
            let bigEndian = below(2) == 0
            for k in 0..<width {
                let shift = UInt64(8 * (bigEndian ? width - 1 - k : k))
                b[at + k] = UInt8(truncatingIfNeeded: v >> shift)
            }
        case 6:  // text token
            b.insert(contentsOf: Array(Self.tokens[below(Self.tokens.count)].utf8), at: below(b.count + 1))
        default:  // truncate
            if !b.isEmpty { b.removeSubrange(below(b.count)...) }
        }
    }
}
