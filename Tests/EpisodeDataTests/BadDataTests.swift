import EpisodeData
import Foundation
import Testing

@Suite("Bad data gives clear errors")
struct BadDataTests {
    static func goodPNG() throws -> [UInt8] {
        try PNGWriter.bitmap((0..<10).map { y in (0..<10).map { x in x == y } })
    }

    @Test("missing folder, missing zip, not-a-zip")
    func missing() throws {
        let e1 = Support.expectDataError(.missingFile) { _ = try OmniglotCatalog(path: "/nonexistent/omniglot") }
        #expect(e1?.path == "/nonexistent/omniglot")
        Support.expectDataError(.missingFile) { _ = try OmniglotCatalog(sources: [.zip("/nonexistent/x.zip")]) }
        Support.expectDataError(.missingFile) { _ = try OmniglotCatalog(sources: [.directory("/nonexistent/dir")]) }
        Support.expectDataError(.missingFile) { _ = try describeDataset(at: "/nonexistent/data") }
        let dir = try Support.tempDir()
        defer { Support.remove(dir) }
        try Support.write(Array("not a zip at all".utf8), to: dir + "/fake.zip")
        let e2 = Support.expectDataError(.unreadable) { _ = try OmniglotCatalog(path: dir + "/fake.zip") }
        #expect(e2?.path == dir + "/fake.zip")
        try FileManager.default.createDirectory(atPath: dir + "/nothing/here", withIntermediateDirectories: true)
        Support.expectDataError(.noImages) { _ = try OmniglotCatalog(path: dir + "/nothing") }
    }

    @Test("empty class folder is named")
    func emptyClass() throws {
        let dir = try Support.tempDir()
        defer { Support.remove(dir) }
        try Support.write(try Self.goodPNG(), to: dir + "/Runes/character01/0001_01.png")
        try FileManager.default.createDirectory(atPath: dir + "/Runes/character02", withIntermediateDirectories: true)
        let error = Support.expectDataError(.emptyClass) { _ = try OmniglotCatalog(path: dir) }
        #expect(error?.path.hasSuffix("Runes/character02") == true)
    }

    @Test("truncated and non-PNG image files are named when decoding")
    func badImages() throws {
        let dir = try Support.tempDir()
        defer { Support.remove(dir) }
        let png = try Self.goodPNG()
        try Support.write(png, to: dir + "/Runes/character01/0001_01.png")
        try Support.write(Array(png.prefix(png.count / 2)), to: dir + "/Runes/character01/0002_01.png")
        try Support.write(png, to: dir + "/Ogham/character01/0001_01.png")
        try Support.write(Array("GIF89a....".utf8), to: dir + "/Ogham/character01/0002_01.png")
        let catalog = try OmniglotCatalog(path: dir)
        let t = Support.expectDataError(.truncated) { _ = try catalog.decode(alphabets: ["Runes"]) }
        #expect(t?.path.hasSuffix("Runes/character01/0002_01.png") == true)
        let n = Support.expectDataError(.notPNG) { _ = try catalog.decode(alphabets: ["Ogham"], threads: 2) }
        #expect(n?.path.hasSuffix("Ogham/character01/0002_01.png") == true)
        #expect(n?.description.contains("not a PNG") == true)
        // Errors are LocalizedError with the same text.
        #expect(n?.errorDescription == n?.description)
    }

    @Test("sampler rejects impossible configurations", .enabled(if: Support.hasOmniglot))
    func impossibleConfig() throws {
        let data = try OmniglotDataset(store: Support.store.get(), alphabets: ["Tagalog"])
        Support.expectDataError(.invalidArgument) {
            _ = try EpisodeSampler(dataset: data, config: EpisodeConfig(ways: 18, shots: 1, queries: 1, metaBatchSize: 1), seed: 0)
        }
        Support.expectDataError(.invalidArgument) {
            _ = try EpisodeSampler(dataset: data, config: EpisodeConfig(ways: 5, shots: 10, queries: 11, metaBatchSize: 1), seed: 0)
        }
        Support.expectDataError(.invalidArgument) {
            _ = try EpisodeSampler(dataset: data, config: EpisodeConfig(ways: 0, shots: 1, queries: 1, metaBatchSize: 1), seed: 0)
        }
        Support.expectDataError(.invalidArgument) { _ = try OmniglotDataset(store: Support.store.get(), rotations: [0, 45]) }
    }
}

/// A dataset whose images claim a shape no buffer can hold (as a malformed file could).
private struct HugeShapeDataset: ClassDataset {
    var imageShape: ImageShape
    var numClasses: Int { 5 }
    func imageCount(ofClass classIndex: Int) -> Int { 20 }
    func className(_ classIndex: Int) -> String { "class\(classIndex)" }
    func copyImage(classIndex: Int, imageIndex: Int, into destination: UnsafeMutablePointer<Float>) {}
}

@Suite("Malformed image shapes")
struct ImageShapeOverflowTests {
    @Test("an image shape whose size overflows is refused, never trapped on")
    func overflowingShape() throws {
        let huge = ImageShape(channels: 1 << 40, height: 1 << 20, width: 1 << 20)
        #expect(huge.checkedCount == nil)
        #expect(huge.count == 0)
        #expect(ImageShape(channels: 1, height: -3, width: 28).checkedCount == nil)
        #expect(ImageShape(channels: 1, height: 28, width: 28).checkedCount == 784)
        let e = Support.expectDataError(.corruptData) { _ = try huge.validated(path: "/data/x.idx") }
        #expect(e?.path == "/data/x.idx")
        let config = EpisodeConfig(ways: 5, shots: 1, queries: 1, metaBatchSize: 1)
        Support.expectDataError(.invalidArgument) {
            _ = try EpisodeSampler(dataset: HugeShapeDataset(imageShape: huge), config: config, seed: 1)
        }
        Support.expectDataError(.corruptData) {
            _ = try HugeShapeDataset(imageShape: huge).image(classIndex: 0, imageIndex: 0)
        }
    }
}
