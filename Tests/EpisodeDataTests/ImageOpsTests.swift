import EpisodeData
import Foundation
import Testing

@Suite("Resize and rotation")
struct ImageOpsTests {
    @Test("integer-ratio resize is a block mean")
    func blockMean() throws {
        let src: [Float] = [1, 2, 3, 4,
                            5, 6, 7, 8,
                            9, 10, 11, 12,
                            13, 14, 15, 16]
        let out = try ImageOps.resizeArea(src, width: 4, height: 4, toWidth: 2, toHeight: 2)
        #expect(out == [3.5, 5.5, 11.5, 13.5])
    }

    @Test("non-integer ratio uses exact fractional coverage")
    func fractional() throws {
        // 3 -> 2: output 0 covers [0, 1.5) = a + b/2, output 1 covers [1.5, 3) = b/2 + c; divided by 1.5.
        let out = try ImageOps.resizeArea([3, 6, 9], width: 3, height: 1, toWidth: 2, toHeight: 1)
        let expected: [Float] = [6 / 1.5, 12 / 1.5]
        #expect(abs(out[0] - expected[0]) < 1e-5)
        #expect(abs(out[1] - expected[1]) < 1e-5)
    }

    @Test("105 -> 28: constant stays constant, mass is preserved, a 15x15 block maps to 4x4 ones")
    func omniglotRatio() throws {
        let constant = try ImageOps.resizeArea([Float](repeating: 0.25, count: 105 * 105),
                                               width: 105, height: 105, toWidth: 28, toHeight: 28)
        #expect(constant.allSatisfy { abs($0 - 0.25) < 1e-5 })
        var block = [Float](repeating: 0, count: 105 * 105)
        for y in 0..<15 { for x in 0..<15 { block[y * 105 + x] = 1 } }
        let out = try ImageOps.resizeArea(block, width: 105, height: 105, toWidth: 28, toHeight: 28)
        for y in 0..<28 { for x in 0..<28 {
            #expect(abs(out[y * 28 + x] - ((y < 4 && x < 4) ? 1 : 0)) < 1e-5)
        } }
        // Mass: sum(out) * 3.75^2 == sum(in).
        var bumpy = [Float](repeating: 0, count: 105 * 105)
        for i in bumpy.indices { bumpy[i] = Float((i * 7919) % 13) / 13 }
        let small = try ImageOps.resizeArea(bumpy, width: 105, height: 105, toWidth: 28, toHeight: 28)
        let outMass: Float = small.reduce(0, +) * 3.75 * 3.75
        let inMass: Float = bumpy.reduce(0, +)
        #expect(abs(outMass - inMass) < 0.5)
    }

    @Test("rotations are counter-clockwise quarter turns (numpy.rot90 convention)")
    func rotate() throws {
        // 2 rows x 3 cols:
        // 1 2 3
        // 4 5 6
        let src = [1, 2, 3, 4, 5, 6]
        let r90 = try ImageOps.rotate(src, width: 3, height: 2, degrees: 90)
        #expect(r90.width == 2 && r90.height == 3)
        #expect(r90.pixels == [3, 6, 2, 5, 1, 4])
        #expect(try ImageOps.rotate(src, width: 3, height: 2, degrees: 180).pixels == [6, 5, 4, 3, 2, 1])
        #expect(try ImageOps.rotate(src, width: 3, height: 2, degrees: 270).pixels == [4, 1, 5, 2, 6, 3])
        #expect(try ImageOps.rotate(src, width: 3, height: 2, degrees: 360).pixels == src)
        #expect(try ImageOps.rotate(src, width: 3, height: 2, degrees: -90).pixels == [4, 1, 5, 2, 6, 3])
        Support.expectDataError(.invalidArgument) { _ = try ImageOps.rotate(src, width: 3, height: 2, degrees: 45) }
    }

    @Test("ink conversion: black = 1, white = 0")
    func ink() throws {
        let image = try GrayImage(width: 3, height: 1, pixels: [0, 255, 51])
        let values = ImageOps.inkValues(image)
        #expect(values[0] == 1 && values[1] == 0 && abs(values[2] - 0.8) < 1e-6)
    }

    @Test("rotated classes serve rotated copies of the stored image", .enabled(if: Support.hasOmniglot))
    func rotatedClasses() throws {
        let store = try Support.store.get()
        let data = try OmniglotDataset(store: store, alphabets: ["Latin"], rotations: [0, 90, 180, 270])
        #expect(data.numClasses == 26 * 4)
        let base = try data.image(classIndex: 4, imageIndex: 3)  // character 1, rotation 0
        #expect(data.className(4) == "Latin/character02")
        for (r, degrees) in [0, 90, 180, 270].enumerated() {
            let rotated = try data.image(classIndex: 4 + r, imageIndex: 3)
            #expect(rotated == (try ImageOps.rotate(base, width: 28, height: 28, degrees: degrees)).pixels)
        }
        #expect(data.className(5) == "Latin/character02@90")
    }
}
