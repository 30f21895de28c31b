import EpisodeData
import Foundation
import TestSupport
import Testing

/// `OmniglotCatalog.verify` and `metajit data --verify`: every bad image is reported, not
/// just the first, with its path and what is wrong.
@Suite("Data verification")
struct VerifyTests {
    /// Two alphabets, six images; `0002_01.png` of Runes is cut short and `0002_01.png` of
    /// Ogham is not a PNG. A `notes.txt` is not an image to the loader and is not checked.
    static func badFixture() throws -> String {
        let dir = try Support.tempDir()
        let png = try BadDataTests.goodPNG()
        try Support.write(png, to: dir + "/Runes/character01/0001_01.png")
        try Support.write(Array(png.prefix(png.count / 2)), to: dir + "/Runes/character01/0002_01.png")
        try Support.write(png, to: dir + "/Runes/character02/0001_02.png")
        try Support.write(png, to: dir + "/Ogham/character01/0001_01.png")
        try Support.write(Array("GIF89a, not a PNG".utf8), to: dir + "/Ogham/character01/0002_01.png")
        try Support.write(png, to: dir + "/Ogham/character02/0001_02.png")
        try Support.write(Array("drawn by hand".utf8), to: dir + "/Ogham/character02/notes.txt")
        return dir
    }

    static let zipAvailable = FileManager.default.isExecutableFile(atPath: "/usr/bin/zip")

    /// Runs the built `metajit` binary (built by `swift build`).
    static func metajit(_ args: [String]) throws -> CLIResult { try runMetaJIT(args) }

    static func expectBothReported(_ report: OmniglotVerification, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(report.imageCount == 6 && report.alphabetCount == 2, sourceLocation: sourceLocation)
        #expect(report.problems.map(\.kind) == [.notPNG, .truncated], "\(report)", sourceLocation: sourceLocation)
        #expect(report.problems.first?.path.hasSuffix("Ogham/character01/0002_01.png") == true, sourceLocation: sourceLocation)
        #expect(report.problems.last?.path.hasSuffix("Runes/character01/0002_01.png") == true, sourceLocation: sourceLocation)
        #expect(!report.isValid)
        #expect(report.summary == "verified 6 images in 2 alphabets: 2 bad", sourceLocation: sourceLocation)
    }

    @Test("a folder with a truncated PNG and a non-PNG: both are reported")
    func folderFixture() throws {
        let dir = try Self.badFixture()
        defer { Support.remove(dir) }
        Self.expectBothReported(try OmniglotCatalog(path: dir).verify(threads: 2))
    }

    @Test("the same files in a zip: both are reported as archive.zip:entry", .enabled(if: zipAvailable))
    func zipFixture() throws {
        let dir = try Self.badFixture()
        defer { Support.remove(dir) }
        let zip = Process()
        zip.executableURL = URL(fileURLWithPath: "/usr/bin/zip")
        zip.currentDirectoryURL = URL(fileURLWithPath: dir)
        zip.arguments = ["-q", "-r", "fixture.zip", "Runes", "Ogham"]
        try zip.run()
        zip.waitUntilExit()
        try #require(zip.terminationStatus == 0)
        let report = try OmniglotCatalog(path: dir + "/fixture.zip").verify(threads: 1)
        Self.expectBothReported(report)
        #expect(report.problems.allSatisfy { $0.path.hasPrefix(dir + "/fixture.zip:") }, "\(report)")
    }

    @Test("metajit data --verify lists every bad file and exits non-zero")
    func cliReportsBadFiles() throws {
        let dir = try Self.badFixture()
        defer { Support.remove(dir) }
        let r = try Self.metajit(["data", dir, "--verify"])
        #expect(r.status != 0)
        let lines = r.out.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("bad: ") && $0.contains("Runes/character01/0002_01.png") }, "\(r.out)")
        #expect(lines.contains { $0.hasPrefix("bad: ") && $0.contains("Ogham/character01/0002_01.png") && $0.contains("not a PNG") },
                "\(r.out)")
        #expect(lines.last == "verified 6 images in 2 alphabets: 2 bad", "\(r.out)")
    }

    @Test("metajit data --verify passes the bundled Omniglot", .enabled(if: Support.hasOmniglot))
    func cliPassesBundledData() throws {
        let dir = try #require(Support.omniglotDir)
        let r = try Self.metajit(["data", dir, "--verify", "--threads", "2"])
        #expect(r.status == 0, "\(r.out)\(r.err)")
        let catalog = try OmniglotCatalog(path: dir)
        let expected = "verified \(catalog.imageCount) images in \(catalog.alphabets.count) alphabets: 0 bad"
        #expect(r.out.split(separator: "\n").last.map(String.init) == expected, "\(r.out)")
        #expect(!r.out.contains("bad: "))
    }
}
