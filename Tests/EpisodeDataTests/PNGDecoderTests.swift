import EpisodeData
import Foundation
import Testing

@Suite("PNG decoding")
struct PNGDecoderTests {
    /// A 6x5 8-bit gray pattern with values that make every filter non-trivial.
    static func byte(_ v: Int) -> UInt8 { UInt8(v % 256) }

    static func luma(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        let sum: Int = 299 * Int(r) + 587 * Int(g) + 114 * Int(b)
        return UInt8((sum + 500) / 1000)
    }

    static let gray8: [[UInt8]] = (0..<5).map { (y: Int) -> [UInt8] in
        (0..<6).map { (x: Int) -> UInt8 in byte(x * 37 + y * 91 + x * y * 13) }
    }

    @Test("8-bit gray with each filter type", arguments: [UInt8(0), 1, 2, 3, 4])
    func gray8EachFilter(filter: UInt8) throws {
        let bytes = try PNGWriter.png(width: 6, height: 5, bitDepth: 8, colorType: 0, rows: Self.gray8, filter: filter)
        let image = try PNGDecoder.decode(bytes, path: "gray8.png")
        #expect(image.width == 6 && image.height == 5)
        #expect(image.pixels == Self.gray8.flatMap { $0 })
    }

    @Test("8-bit RGB with each filter type (bpp = 3), converted to luma", arguments: [UInt8(0), 1, 2, 3, 4])
    func rgbEachFilter(filter: UInt8) throws {
        let rows: [[UInt8]] = (0..<4).map { (y: Int) -> [UInt8] in
            (0..<5).flatMap { (x: Int) -> [UInt8] in [Self.byte(x * 50 + y * 7), Self.byte(y * 60 + 3), Self.byte(x * y * 29)] }
        }
        let bytes = try PNGWriter.png(width: 5, height: 4, bitDepth: 8, colorType: 2, rows: rows, filter: filter)
        let image = try PNGDecoder.decode(bytes, path: "rgb.png")
        let expected: [UInt8] = rows.flatMap { (row: [UInt8]) -> [UInt8] in
            stride(from: 0, to: row.count, by: 3).map { (i: Int) -> UInt8 in Self.luma(row[i], row[i + 1], row[i + 2]) }
        }
        #expect(image.pixels == expected)
        // Pure colours map to the documented luma.
        let white = try PNGWriter.png(width: 1, height: 1, bitDepth: 8, colorType: 2, rows: [[255, 255, 255]])
        #expect(try PNGDecoder.decode(white, path: "w.png").pixels == [255])
    }

    @Test("mixed filters per row (cycling 0-4) on a tall image")
    func mixedFilters() throws {
        let rows: [[UInt8]] = (0..<12).map { (y: Int) -> [UInt8] in (0..<9).map { (x: Int) -> UInt8 in Self.byte(x * x * 7 + y * 31) } }
        let bytes = try PNGWriter.png(width: 9, height: 12, bitDepth: 8, colorType: 0, rows: rows, filter: nil)
        #expect(try PNGDecoder.decode(bytes, path: "mixed.png").pixels == rows.flatMap { $0 })
    }

    @Test("1-bit gray: known pixels, every filter", arguments: [UInt8(0), 1, 2, 3, 4])
    func oneBit(filter: UInt8) throws {
        // 11 pixels wide so the last byte is partial.
        let ink: [[Bool]] = (0..<4).map { (y: Int) -> [Bool] in (0..<11).map { (x: Int) -> Bool in (x + y) % 3 == 0 } }
        let image = try PNGDecoder.decode(PNGWriter.bitmap(ink, filter: filter), path: "bits.png")
        #expect(image.width == 11 && image.height == 4)
        #expect(image.pixels == ink.flatMap { $0.map { $0 ? 0 : 255 } })
    }

    @Test("2-bit and 4-bit gray scale to 0...255")
    func lowBitDepths() throws {
        // 2-bit: values 0,1,2,3 -> 0,85,170,255 (5 px: one full byte + one partial).
        let two = try PNGWriter.png(width: 5, height: 1, bitDepth: 2, colorType: 0, rows: [[0b00_01_10_11, 0b1100_0000]])
        #expect(try PNGDecoder.decode(two, path: "2.png").pixels == [0, 85, 170, 255, 255])
        // 4-bit: 0x0, 0xF, 0x8 -> 0, 255, 136.
        let four = try PNGWriter.png(width: 3, height: 1, bitDepth: 4, colorType: 0, rows: [[0x0F, 0x80]], filter: 1)
        #expect(try PNGDecoder.decode(four, path: "4.png").pixels == [0, 255, 136])
    }

    @Test("palette with transparency, gray+alpha and RGBA composite over white")
    func paletteAndAlpha() throws {
        let palette: [UInt8] = [0, 0, 0, 255, 255, 255, 255, 0, 0]
        let pal = try PNGWriter.png(width: 4, height: 1, bitDepth: 2, colorType: 3, rows: [[0b00_01_10_00]],
                                    palette: palette, transparency: [255, 255, 0])
        // Entry 2 (red) is fully transparent -> white.
        #expect(try PNGDecoder.decode(pal, path: "pal.png").pixels == [0, 255, 255, 0])
        let ga = try PNGWriter.png(width: 2, height: 1, bitDepth: 8, colorType: 4, rows: [[0, 255, 0, 0]], filter: 4)
        #expect(try PNGDecoder.decode(ga, path: "ga.png").pixels == [0, 255])
        let rgba = try PNGWriter.png(width: 2, height: 1, bitDepth: 8, colorType: 6,
                                     rows: [[0, 0, 0, 255, 0, 0, 0, 128]], filter: 3)
        #expect(try PNGDecoder.decode(rgba, path: "rgba.png").pixels == [0, 127])
    }

    @Test("interlaced PNG is rejected as unsupported")
    func interlaced() throws {
        let bytes = try PNGWriter.png(width: 2, height: 2, bitDepth: 8, colorType: 0, rows: [[1, 2], [3, 4]], interlace: 1)
        let error = Support.expectDataError(.unsupportedFormat) { _ = try PNGDecoder.decode(bytes, path: "adam7.png") }
        #expect(error?.path == "adam7.png")
        #expect(error?.description.contains("interlaced") == true)
    }

    @Test("bad signature, truncation, bad CRC and bad filter are named errors")
    func malformed() throws {
        let good = try PNGWriter.png(width: 6, height: 5, bitDepth: 8, colorType: 0, rows: Self.gray8)
        Support.expectDataError(.notPNG) { _ = try PNGDecoder.decode(Array("hello, world".utf8), path: "x.png") }
        Support.expectDataError(.truncated) { _ = try PNGDecoder.decode([], path: "empty.png") }
        Support.expectDataError(.truncated) { _ = try PNGDecoder.decode(Array(good.prefix(8)), path: "sig.png") }
        for cut in [20, 40, good.count - 20, good.count - 5] {
            let error = Support.expectDataError(.truncated) { _ = try PNGDecoder.decode(Array(good.prefix(cut)), path: "cut.png") }
            #expect(error?.path == "cut.png")
        }
        var badCRC = good
        badCRC[30] ^= 0xFF  // inside IHDR's CRC or data
        Support.expectDataError(.corruptData) { _ = try PNGDecoder.decode(badCRC, path: "crc.png") }
        var badLength = good
        badLength[8] = 0x7F  // IHDR length huge
        Support.expectDataError(.truncated) { _ = try PNGDecoder.decode(badLength, path: "len.png", verifyCRC: false) }
        var rows = Self.gray8
        rows[0][0] = 0
        let badFilterData = try PNGWriter.png(width: 6, height: 5, bitDepth: 8, colorType: 0, rows: rows, filter: 0)
        // Rewrite the first filter byte to 7 by re-encoding a raw stream.
        var raw = PNGWriter.filtered(rows, bpp: 1, filter: 0)
        raw[0] = 7
        var forged = Array(badFilterData.prefix(8 + 25))
        forged += PNGWriter.chunk("IDAT", try Zlib.deflate(raw)) + PNGWriter.chunk("IEND", [])
        let error = Support.expectDataError(.corruptData) { _ = try PNGDecoder.decode(forged, path: "filter.png") }
        #expect(error?.detail.contains("filter type 7") == true)
    }

    @Test("missing file is named")
    func missingFile() {
        let error = Support.expectDataError(.missingFile) { _ = try PNGDecoder.decode(fileAt: "/nonexistent/dir/a.png") }
        #expect(error?.description.contains("/nonexistent/dir/a.png") == true)
    }

    @Test("a real Omniglot image: 105x105, background corners, plausible stroke count",
          .enabled(if: Support.hasOmniglot))
    func realOmniglot() throws {
        let catalog = try OmniglotCatalog(path: #require(Support.omniglotDir))
        let index = try #require(catalog.characters.firstIndex { $0.key == "Latin/character01" })
        let image = try catalog.decodeImage(characterIndex: index, imageIndex: 0)
        #expect(image.width == 105 && image.height == 105)
        #expect(image[0, 0] == 255 && image[104, 104] == 255 && image[0, 104] == 255)
        #expect(Set(image.pixels).isSubset(of: [0, 255]))
        let black = image.pixels.filter { $0 == 0 }.count
        #expect(black > 100 && black < 3000, "stroke pixels: \(black)")
    }
}
