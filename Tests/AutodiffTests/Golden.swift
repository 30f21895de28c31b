import Foundation
import Testing

/// Compares with `Tests/Golden/<name>`, or rewrites it with `UPDATE_GOLDEN=1`.
func expectGoldenAutodiff(_ text: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    let url = root.appendingPathComponent("Golden/\(name)")
    if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
        try text.write(to: url, atomically: true, encoding: .utf8)
        return
    }
    let golden = try String(contentsOf: url, encoding: .utf8)
    #expect(text == golden, "differs from Tests/Golden/\(name)", sourceLocation: sourceLocation)
}
