import Foundation
import Testing

/// Compares `text` with the golden file `Tests/Golden/<name>`; with `UPDATE_GOLDEN=1` in the
/// environment, rewrites the file instead, so intended changes are one command away and show
/// up in the diff.
public func expectGolden(_ text: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let url = TestPaths.repositoryRoot.appendingPathComponent("Tests/Golden/\(name)")
    if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
        try text.write(to: url, atomically: true, encoding: .utf8)
        return
    }
    guard let golden = try? String(contentsOf: url, encoding: .utf8) else {
        Issue.record("missing golden file \(url.path); run with UPDATE_GOLDEN=1", sourceLocation: sourceLocation)
        return
    }
    #expect(text == golden, "output differs from Tests/Golden/\(name)", sourceLocation: sourceLocation)
}
