import EpisodeData
import Foundation
import Testing

@Suite("IDX reading")
struct IDXTests {
    static func idx(magic: UInt32, dims: [UInt32], payload: [UInt8]) -> [UInt8] {
        PNGWriter.be32(magic) + dims.flatMap(PNGWriter.be32) + payload
    }

    @Test("small images/labels files, plain and gzip, with class splits")
    func small() throws {
        let dir = try Support.tempDir()
        defer { Support.remove(dir) }
        // 6 images of 2x3, pixel values encode the image index; labels 0,1,2,0,1,2.
        let pixels = (0..<6).flatMap { i in (0..<6).map { UInt8(i * 40 + $0) } }
        let images = Self.idx(magic: 0x0803, dims: [6, 2, 3], payload: pixels)
        let labels = Self.idx(magic: 0x0801, dims: [6], payload: [0, 1, 2, 0, 1, 2])
        try Support.write(images, to: dir + "/i-images-idx3-ubyte")
        try Support.write(try Zlib.deflate(labels, container: .gzip), to: dir + "/i-labels-idx1-ubyte.gz")
        let read = try IDXReader.readImages(path: dir + "/i-images-idx3-ubyte")
        #expect(read.count == 6 && read.rows == 2 && read.cols == 3)
        #expect(try read.image(1) == (0..<6).map { Float(40 + $0) / 255 })
        let train = try IDXDataset(imagesPath: dir + "/i-images-idx3-ubyte", labelsPath: dir + "/i-labels-idx1-ubyte.gz",
                                   classes: [2, 0])
        #expect(train.numClasses == 2 && train.imageShape == ImageShape(channels: 1, height: 2, width: 3))
        #expect(train.imageCount(ofClass: 0) == 2)  // label 2: records 2, 5
        #expect(try train.image(classIndex: 0, imageIndex: 1) == (0..<6).map { Float(200 + $0) / 255 })
        let ref = train.reference(classIndex: 0, imageIndex: 1)
        #expect(ref.path == "5")
        #expect(train.locate(ref)?.classIndex == 0 && train.locate(ref)?.imageIndex == 1)
        #expect(train.locate(ItemReference(path: "1")) == nil)  // label 1 not selected
        Support.expectDataError(.emptyClass) {
            _ = try IDXDataset(imagesPath: dir + "/i-images-idx3-ubyte", labelsPath: dir + "/i-labels-idx1-ubyte.gz", classes: [7])
        }
        let (a, b) = try IDXDataset.splits(imagesPath: dir + "/i-images-idx3-ubyte", labelsPath: dir + "/i-labels-idx1-ubyte.gz",
                                           trainClasses: [0, 1], testClasses: [2])
        #expect(a.numClasses == 2 && b.numClasses == 1 && b.classIDs == [2])
        Support.expectDataError(.invalidArgument) {
            _ = try IDXDataset.splits(imagesPath: dir + "/i-images-idx3-ubyte", labelsPath: dir + "/i-labels-idx1-ubyte.gz",
                                      trainClasses: [0, 1], testClasses: [1])
        }
        let summary = try describeDataset(at: dir)
        #expect(summary.kind == .idx && summary.idxSplits.first?.imagesPerClass == [2, 2, 2])
    }

    @Test("wrong magic and wrong size are named errors (plain and gzip)")
    func badFiles() throws {
        let dir = try Support.tempDir()
        defer { Support.remove(dir) }
        let pixels = [UInt8](repeating: 7, count: 2 * 4 * 4)
        try Support.write(Self.idx(magic: 0x0801, dims: [2, 4, 4], payload: pixels), to: dir + "/magic")
        let m = Support.expectDataError(.badIDXMagic) { _ = try IDXReader.readImages(path: dir + "/magic") }
        #expect(m?.path == dir + "/magic" && m?.detail.contains("0x00000801") == true)
        try Support.write(Array("PK\u{3}\u{4}garbage".utf8), to: dir + "/zipmagic")
        Support.expectDataError(.badIDXMagic) { _ = try IDXReader.readLabels(path: dir + "/zipmagic") }
        try Support.write(Self.idx(magic: 0x0803, dims: [3, 4, 4], payload: pixels), to: dir + "/short")
        let s = Support.expectDataError(.badIDXSize) { _ = try IDXReader.readImages(path: dir + "/short") }
        #expect(s?.detail.contains("3x4x4") == true)
        try Support.write(Self.idx(magic: 0x0803, dims: [2, 4, 4], payload: pixels + [1]), to: dir + "/long")
        Support.expectDataError(.badIDXSize) { _ = try IDXReader.readImages(path: dir + "/long") }
        try Support.write(try Zlib.deflate(Self.idx(magic: 0x0801, dims: [5], payload: [1, 2, 3]), container: .gzip),
                          to: dir + "/labels.gz")
        Support.expectDataError(.badIDXSize) { _ = try IDXReader.readLabels(path: dir + "/labels.gz") }
        let gz = try Zlib.deflate(Self.idx(magic: 0x0803, dims: [2, 4, 4], payload: pixels), container: .gzip)
        try Support.write(Array(gz.prefix(gz.count / 2)), to: dir + "/cut.gz")
        Support.expectDataError(.truncated) { _ = try IDXReader.readImages(path: dir + "/cut.gz") }
        Support.expectDataError(.missingFile) { _ = try IDXReader.readImages(path: dir + "/absent") }
        try Support.write([], to: dir + "/empty")
        Support.expectDataError(.badIDXMagic) { _ = try IDXReader.readImages(path: dir + "/empty") }
    }

    @Test("real Fashion-MNIST: 60000 train images, 10 classes", .enabled(if: Support.hasFashion))
    func fashion() throws {
        let dir = Support.fashionDir
        let images = try IDXReader.readImages(path: dir + "/train-images-idx3-ubyte.gz")
        #expect(images.count == 60000 && images.rows == 28 && images.cols == 28)
        let labels = try IDXReader.readLabels(path: dir + "/train-labels-idx1-ubyte.gz")
        let all = try IDXDataset(images: images, labels: labels, path: dir)
        #expect(all.numClasses == 10)
        #expect((0..<10).allSatisfy { all.imageCount(ofClass: $0) == 6000 })
        let train = try IDXDataset(images: images, labels: labels, classes: [0, 1, 2, 3, 4], path: dir)
        let test = try IDXDataset(images: images, labels: labels, classes: [5, 6, 7, 8, 9], path: dir)
        #expect(Set(train.classIDs).isDisjoint(with: test.classIDs))
        let sampler = try EpisodeSampler(dataset: test, config: EpisodeConfig(ways: 5, shots: 1, queries: 15, metaBatchSize: 2), seed: 0)
        let batch = try sampler.metaBatch(at: 0)
        #expect(batch.supportXShape == [2, 5, 1, 28, 28])
        #expect(batch.queryX.allSatisfy { $0 >= 0 && $0 <= 1 } && (batch.queryX.max() ?? 0) > 0.5)
        let summary = try describeDataset(at: dir)
        #expect(summary.idxSplits.count == 2)
        #expect(summary.description.contains("60000 images"))
    }
}
