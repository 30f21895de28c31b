import EpisodeData
import Foundation
import Testing

@Suite("Omniglot reading and splits")
struct OmniglotTests {
    @Test("bundled zips: 8 alphabets, 242 characters, 4840 images, de-duplicated", .enabled(if: Support.hasOmniglot))
    func catalogCounts() throws {
        let catalog = try OmniglotCatalog(path: #require(Support.omniglotDir))
        #expect(catalog.sources.count == 2)
        #expect(catalog.alphabets == ["Balinese", "Early_Aramaic", "Greek", "Japanese_(katakana)",
                                      "Korean", "Latin", "Sanskrit", "Tagalog"])
        #expect(catalog.characters.count == 242)
        #expect(catalog.imageCount == 4840)
        #expect(catalog.characters(inAlphabet: "Greek").count == 24)
        #expect(catalog.characters.allSatisfy { $0.fileNames.count == 20 })
        let store = try Support.store.get()
        #expect(store.imageCount == 4840 && store.pixels.count == 4840 * 784)
        #expect(store.pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    @Test("decoded images: corners are background, strokes are 1-ish, ink fraction plausible",
          .enabled(if: Support.hasOmniglot))
    func decodedValues() throws {
        let data = try OmniglotDataset(store: Support.store.get())
        for c in stride(from: 0, to: data.numClasses, by: 37) {
            let image = try data.image(classIndex: c, imageIndex: 0)
            #expect(image[0] == 0 && image[27] == 0 && image[27 * 28] == 0 && image[783] == 0)
            #expect((image.max() ?? 0) > 0.5)
            let inkMass = image.reduce(0, +)
            #expect(inkMass > 5 && inkMass < 300, "class \(data.className(c)) ink \(inkMass)")
        }
    }

    @Test("meta-train and meta-test splits are disjoint by alphabet and character", .enabled(if: Support.hasOmniglot))
    func disjointSplits() throws {
        let store = try Support.store.get()
        let train = try OmniglotDataset(store: store, alphabets: OmniglotSplit.metaTrain, rotations: [0, 90, 180, 270])
        let test = try OmniglotDataset(store: store, alphabets: OmniglotSplit.metaTest)
        #expect(train.characterCount == 24 + 22 + 24 + 40 + 47 + 42)
        #expect(train.numClasses == train.characterCount * 4)
        #expect(test.numClasses == 26 + 17)
        let trainChars = Set((0..<train.numClasses).map { train.record(ofClass: $0).key })
        let testChars = Set((0..<test.numClasses).map { test.record(ofClass: $0).key })
        #expect(trainChars.isDisjoint(with: testChars))
        #expect(Set(train.alphabets).isDisjoint(with: test.alphabets))
        #expect(trainChars.count + testChars.count == 242)
        // No test image can be located in the training set.
        for c in 0..<test.numClasses {
            #expect(train.locate(test.reference(classIndex: c, imageIndex: 0)) == nil)
        }
    }

    @Test("split files: comments, blank lines, errors", .enabled(if: Support.hasOmniglot))
    func splitFiles() throws {
        let dir = try Support.tempDir()
        defer { Support.remove(dir) }
        let path = dir + "/test.split"
        try Support.write(Array("# meta-test alphabets\nLatin   # roman letters\n\n  Tagalog\n".utf8), to: path)
        let names = try OmniglotSplit.read(path: path)
        #expect(names == ["Latin", "Tagalog"])
        let data = try OmniglotDataset(store: Support.store.get(), alphabets: names)
        #expect(data.alphabets == ["Latin", "Tagalog"])

        let error = Support.expectDataError(.unknownAlphabet) {
            _ = try OmniglotDataset(store: Support.store.get(), alphabets: ["Latin", "Klingon"])
        }
        #expect(error?.detail.contains("Klingon") == true)
        #expect(error?.detail.contains("Balinese") == true && error?.detail.contains("Tagalog") == true)
        let catalog = try OmniglotCatalog(path: #require(Support.omniglotDir))
        Support.expectDataError(.unknownAlphabet) { _ = try catalog.decode(alphabets: ["Futhark"]) }
        Support.expectDataError(.invalidSplit) { _ = try OmniglotSplit.parse("# nothing\n\n", path: "empty.split") }
        Support.expectDataError(.invalidSplit) { _ = try OmniglotSplit.parse("Latin\nLatin\n", path: "dup.split") }
        Support.expectDataError(.missingFile) { _ = try OmniglotSplit.read(path: dir + "/absent.split") }
    }

    @Test("extracted folder layout decodes with known values; several sources merge by alphabet")
    func folderSource() throws {
        let dir = try Support.tempDir()
        defer { Support.remove(dir) }
        // A 105x105 image, black 15x15 block in the top-left corner -> 4x4 block of ones at 28x28.
        let block = (0..<105).map { y in (0..<105).map { x in y < 15 && x < 15 } }
        let blank = (0..<105).map { _ in (0..<105).map { _ in false } }
        let png = try PNGWriter.bitmap(block, filter: nil)
        for file in ["0001_01.png", "0002_01.png"] {
            try Support.write(png, to: dir + "/a/images_background_x/Runes/character01/\(file)")
            try Support.write(try PNGWriter.bitmap(blank), to: dir + "/a/images_background_x/Runes/character02/\(file)")
            try Support.write(try PNGWriter.bitmap(blank), to: dir + "/b/Runes/character07/\(file)")
            try Support.write(png, to: dir + "/b/Ogham/character01/\(file)")
        }
        try Support.write(Array("ignore me".utf8), to: dir + "/a/images_background_x/Runes/character01/notes.txt")
        let catalog = try OmniglotCatalog(sources: [.directory(dir + "/a"), .directory(dir + "/b")])
        #expect(catalog.alphabets == ["Ogham", "Runes"])
        #expect(catalog.characters(inAlphabet: "Runes").map(\.name) == ["character01", "character02"])
        let store = try catalog.decode(threads: 2)
        let data = try OmniglotDataset(store: store, alphabets: ["Runes"])
        let image = try data.image(classIndex: 0, imageIndex: 1)
        for y in 0..<28 { for x in 0..<28 {
            #expect(abs(image[y * 28 + x] - ((y < 4 && x < 4) ? 1 : 0)) < 1e-5)
        } }
        #expect(try data.image(classIndex: 1, imageIndex: 0).allSatisfy { $0 == 0 })
        #expect(data.reference(classIndex: 0, imageIndex: 1) == ItemReference(path: "Runes/character01/0002_01.png"))
    }

    @Test("dataset summary for the bundled zips", .enabled(if: Support.hasOmniglot))
    func summary() throws {
        let dir = try #require(Support.omniglotDir)
        let summary = try describeDataset(at: dir)
        #expect(summary.kind == .omniglot)
        #expect(summary.alphabets.count == 8 && summary.totalImages == 4840)
        #expect(summary.alphabets.first { $0.name == "Korean" }?.characters == 40)
        #expect(summary.description.contains("8 alphabets, 242 characters, 4840 images"))
        let one = try describeDataset(at: dir + "/images_background_small1.zip")
        #expect(one.alphabets.map(\.name) == ["Balinese", "Early_Aramaic", "Greek", "Korean", "Latin"])
    }
}
