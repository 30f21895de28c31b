import Foundation

/// Where the tests find the repository and the data shared between worktrees.
public enum TestPaths {
    /// The repository root (this file is `Tests/TestSupport/Paths.swift`).
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `shared/<relativePath>` in the nearest folder at or above the repository root that has
    /// one, or `nil`. Worktrees such as /work/wt-x find the /work/shared data next to them.
    public static func shared(_ relativePath: String) -> URL? {
        var folder = repositoryRoot
        for _ in 0..<8 {
            let candidate = folder.appendingPathComponent("shared").appendingPathComponent(relativePath)
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return nil
    }

    /// A data set bundled with the repository (`data/<relativePath>`), else the same under a
    /// `shared/data` folder above it; `nil` when neither exists.
    public static func data(_ relativePath: String) -> URL? {
        let bundled = repositoryRoot.appendingPathComponent("data").appendingPathComponent(relativePath)
        if FileManager.default.fileExists(atPath: bundled.path) { return bundled }
        return shared("data/" + relativePath)
    }

    /// A new, empty folder under the system's temporary folder, named `<prefix>-<uuid>`.
    public static func makeTemporaryFolder(prefix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
