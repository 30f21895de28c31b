import EpisodeData
import Foundation
import Testing

/// A 1-channel dataset of 6×6 images, each a distinct asymmetric stroke pattern.
private struct StrokeDataset: ClassDataset {
    var numClasses: Int { 12 }
    var imageShape: ImageShape { ImageShape(channels: 1, height: 6, width: 6) }
    func imageCount(ofClass classIndex: Int) -> Int { 8 }
    func className(_ classIndex: Int) -> String { "class\(classIndex)" }
    func copyImage(classIndex: Int, imageIndex: Int, into destination: UnsafeMutablePointer<Float>) {
        for i in 0..<36 { destination[i] = 0 }
        for x in 1..<5 { destination[2 * 6 + x] = 1 }               // a bar on row 2
        destination[(classIndex % 6) * 6 + imageIndex % 6] = 0.5     // and a class/image mark
    }
}

/// Random rotation and translation of sequence-episode images (Santoro et al.'s augmentation).
@Suite struct ImageJitterTests {
    static let image: [Float] = (0..<25).map { Float(($0 * 7) % 11) / 10 }   // 5×5, asymmetric

    static func affine(_ src: [Float], radians: Double, dx: Double, dy: Double, side: Int = 5) -> [Float] {
        var out = src, scratch: [Float] = []
        out.withUnsafeMutableBufferPointer {
            ImageOps.affine($0.baseAddress!, width: side, height: side, radians: radians, dx: dx, dy: dy, scratch: &scratch)
        }
        return out
    }

    /// A whole-pixel shift moves every pixel (zeros come in at the edge); a quarter turn is
    /// `ImageOps.rotate` by 90° (counter-clockwise, as `numpy.rot90`); no jitter is the identity.
    @Test func affineMatchesShiftsAndQuarterTurns() throws {
        let shifted = Self.affine(Self.image, radians: 0, dx: 1, dy: -2)
        for y in 0..<5 {
            for x in 0..<5 {
                let (sx, sy) = (x - 1, y + 2)
                let expected: Float = sx >= 0 && sx < 5 && sy >= 0 && sy < 5 ? Self.image[sy * 5 + sx] : 0
                #expect(abs(shifted[y * 5 + x] - expected) < 1e-6, "(\(x), \(y))")
            }
        }
        let turned = Self.affine(Self.image, radians: .pi / 2, dx: 0, dy: 0)
        let reference = try ImageOps.rotate(Self.image, width: 5, height: 5, degrees: 90).pixels
        #expect(zip(turned, reference).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(Self.affine(Self.image, radians: 0, dx: 0, dy: 0) == Self.image)
        // Half a pixel: the mean of the two neighbours.
        let half = Self.affine(Self.image, radians: 0, dx: 0.5, dy: 0)
        #expect(abs(half[7] - (Self.image[6] + Self.image[7]) / 2) < 1e-6)
    }

    @Test func parsesAndRejects() throws {
        #expect(try ImageJitter.parse("10:2") == ImageJitter(maxDegrees: 10, maxShift: 2))
        #expect(try ImageJitter.parse("7.5:0").description == "7.5:0")
        for bad in ["10", "a:2", "-1:2", "10:-2", "200:1", "10:2:3", "nan:1"] {
            #expect(throws: DataError.self) { try ImageJitter.parse(bad) }
        }
    }

    /// Jitter changes only the images: the same classes, order, labels and instances as
    /// without it, reproducible for a seed, and different images from batch to batch.
    @Test func samplerJittersImagesOnly() throws {
        let config = SequenceEpisodeConfig(ways: 3, samplesPerClass: 2, batchSize: 4)
        let plain = try SequenceEpisodeSampler(dataset: StrokeDataset(), config: config, seed: 5)
        let jitter = ImageJitter(maxDegrees: 15, maxShift: 1.5)
        let jittered = try SequenceEpisodeSampler(dataset: StrokeDataset(), config: config, seed: 5, jitter: jitter)
        for index in [0, 3] {
            let (a, b) = (try plain.batch(at: index), try jittered.batch(at: index))
            #expect(a.targets == b.targets && a.labelInputs == b.labelInputs && a.classes == b.classes && a.instances == b.instances)
            #expect(a.images != b.images)
            #expect(b.images.allSatisfy { $0 >= 0 && $0 <= 1 }, "bilinear samples stay within the ink range")
            #expect(try jittered.batch(at: index) == b, "reproducible")
            // Every step of the batch got its own transform: no two jittered copies of the bar agree.
            let steps = b.images.count / 36
            let distinct = Set((0..<steps).map { Array(b.images[($0 * 36)..<($0 * 36 + 36)]) })
            #expect(distinct.count == steps)
        }
    }
}
