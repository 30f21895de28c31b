import Foundation
import TestSupport
import Testing

/// FileCheck-style matching: each pattern must occur in `text`, in order, each after the end
/// of the previous match. Returns `nil` on success, else a description of the first miss.
func firstMismatch(_ text: String, _ patterns: [String]) -> String? {
    var searchStart = text.startIndex
    for (index, pattern) in patterns.enumerated() {
        guard let found = text.range(of: pattern, range: searchStart..<text.endIndex) else {
            let context = text[searchStart...].prefix(400)
            return "CHECK #\(index + 1) '\(pattern)' not found after the previous match; text from there:\n\(context)"
        }
        searchStart = found.upperBound
    }
    return nil
}

/// Asserts, like a list of FileCheck `CHECK:` lines, that `patterns` occur in `text` in order.
func checkMatches(_ text: String, _ patterns: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    if let mismatch = firstMismatch(text, patterns) {
        Issue.record(Comment(rawValue: mismatch), sourceLocation: sourceLocation)
    }
}

/// A fresh, empty temporary folder, removed by `cleanUp`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = try TestPaths.makeTemporaryFolder(prefix: "metajit-jit-tests")
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: url)
    }
}

/// An LLVM IR float literal for `value`: the hexadecimal bit pattern of the (exact) double.
func llvmFloatLiteral(_ value: Float) -> String {
    let hex = String(Double(value).bitPattern, radix: 16, uppercase: true)
    return "0x" + String(repeating: "0", count: 16 - hex.count) + hex
}

/// Whether `a` and `b` agree element-wise within a relative-plus-absolute tolerance.
func allClose(_ a: [Float], _ b: [Float], tolerance: Float = 1e-5) -> Bool {
    guard a.count == b.count else { return false }
    return zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * (1 + max(abs($0), abs($1))) }
}
