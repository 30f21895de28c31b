import Foundation
import Testing
import TestSupport
@testable import EpisodeData

/// Inputs that once trapped or over-allocated in the PNG, IDX and manifest readers must now
/// throw a `DataError`, and a short seeded mutation run over each fuzz corpus must never trap.
@Suite("Data readers: fuzz regressions")
struct DataFuzzTests {
    /// The fuzz harness's dataset: 20 one-pixel records with labels `i % 5`.
    static func dataset() throws -> IDXDataset {
        let images = IDXImages(count: 20, rows: 1, cols: 1, pixels: (0..<20).map { UInt8($0) })
        return try IDXDataset(images: images, labels: (0..<20).map { UInt8($0 % 5) })
    }

    @Test("a PNG header promising more pixels than its IDAT can hold is rejected before allocating")
    func hugePNG() throws {
        let bytes = try Mutator.regression("png", "huge-ihdr-tiny-idat.png")
        let e = Support.expectDataError(.corruptData) { _ = try PNGDecoder.decode(bytes, path: "huge.png") }
        #expect(e?.detail.contains("more than") == true, "\(String(describing: e))")
    }

    @Test("manifests whose ways*shots or ways*queries overflow are invalid, not a trap",
          arguments: ["ways-times-shots-overflow.json", "ways-times-queries-overflow.json"])
    func manifestOverflow(_ name: String) throws {
        let bytes = try Mutator.regression("manifest", name)
        let manifest = try EpisodeManifest.decode(Data(bytes), path: name)
        let dataset = try Self.dataset()
        let e = Support.expectDataError(.invalidManifest) { _ = try manifest.resolve(in: dataset, path: name) }
        #expect(e?.detail.contains("too many") == true, "\(String(describing: e))")
    }

    @Test("GrayImage rejects a size whose area overflows")
    func grayImageArea() {
        Support.expectDataError(.invalidArgument) { _ = try GrayImage(width: 1 << 62, height: 8, pixels: []) }
    }

    @Test("PNG seeds decode, and seeded mutations of them decode or throw")
    func pngMutations() throws {
        let corpus = try Mutator.corpus("png")
        for seed in corpus { _ = try PNGDecoder.decode(seed, path: "seed.png") }
        var mutator = Mutator(corpus: corpus, seed: 5)
        for _ in 0..<400 { _ = try? PNGDecoder.decode(mutator.next(), path: "mutant.png", verifyCRC: false) }
    }

    @Test("IDX seeds parse, and seeded mutations of them parse or throw")
    func idxMutations() throws {
        let corpus = try Mutator.corpus("idx")
        var mutator = Mutator(corpus: corpus, seed: 11)
        for _ in 0..<400 {
            var bytes = mutator.next()
            if bytes.count >= 2, bytes[0] == 0x1F, bytes[1] == 0x8B {
                guard let inflated = try? Zlib.inflate(bytes, container: .gzip, path: "mutant") else { continue }
                bytes = inflated
            }
            if let (dims, payload) = try? IDXReader.parse(bytes, path: "mutant", expectedDims: 3) {
                let images = IDXImages(count: dims[0], rows: dims[1], cols: dims[2], pixels: payload)
                _ = try? images.image(images.count - 1)
            }
            _ = try? IDXReader.parse(bytes, path: "mutant", expectedDims: 1)
        }
    }

    @Test("manifest seeds resolve, and seeded mutations of them decode and resolve or throw")
    func manifestMutations() throws {
        let corpus = try Mutator.corpus("manifest")
        let dataset = try Self.dataset()
        for seed in corpus { _ = try EpisodeManifest.decode(Data(seed), path: "seed").resolve(in: dataset, path: "seed") }
        var mutator = Mutator(corpus: corpus, seed: 3)
        for _ in 0..<400 {
            guard let manifest = try? EpisodeManifest.decode(Data(mutator.next()), path: "mutant") else { continue }
            _ = try? manifest.resolve(in: dataset, path: "mutant")
        }
    }
}
