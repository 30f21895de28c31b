import EpisodeData

/// An 8-bit RGB colour.
public struct RGB: Sendable, Hashable {
    /// Red, green, blue, 0…255.
    public var r: UInt8, g: UInt8, b: UInt8

    /// Creates a colour.
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    /// `#rrggbb`, for SVG.
    public var hex: String {
        "#" + [r, g, b].map { v in
            let s = String(v, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
    }

    /// White, the plot background.
    public static let white = RGB(255, 255, 255)
    /// Black, axes and text.
    public static let black = RGB(0, 0, 0)
}

/// A width × height RGB raster with the drawing operations a line chart needs: filled
/// rectangles, thick lines, and text in the built-in 5×7 font. Drawing outside the raster
/// is clipped.
public struct RGBImage: Sendable, Equatable {
    /// Size in pixels.
    public let width: Int, height: Int
    /// Row-major RGB bytes, 3 per pixel.
    public private(set) var pixels: [UInt8]

    /// A raster filled with `background`.
    public init(width: Int, height: Int, background: RGB = .white) {
        self.width = max(0, width)
        self.height = max(0, height)
        var p = [UInt8](repeating: 0, count: self.width * self.height * 3)
        for i in stride(from: 0, to: p.count, by: 3) {
            p[i] = background.r
            p[i + 1] = background.g
            p[i + 2] = background.b
        }
        pixels = p
    }

    /// The colour at (`x`, `y`), or nil outside the raster.
    public func pixel(_ x: Int, _ y: Int) -> RGB? {
        guard x >= 0, y >= 0, x < width, y < height else { return nil }
        let i = (y * width + x) * 3
        return RGB(pixels[i], pixels[i + 1], pixels[i + 2])
    }

    /// Sets one pixel (clipped).
    public mutating func set(_ x: Int, _ y: Int, _ c: RGB) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        pixels[i] = c.r
        pixels[i + 1] = c.g
        pixels[i + 2] = c.b
    }

    /// Fills the rectangle with corner (`x`, `y`) and size `w` × `h` (clipped).
    public mutating func fill(x: Int, y: Int, w: Int, h: Int, _ c: RGB) {
        let x0 = max(0, x), y0 = max(0, y), x1 = min(width, x + w), y1 = min(height, y + h)
        guard x0 < x1, y0 < y1 else { return }
        for yy in y0..<y1 { for xx in x0..<x1 { set(xx, yy, c) } }
    }

    /// A line from (`x0`, `y0`) to (`x1`, `y1`) drawn with a square brush `thickness` pixels wide
    /// (Bresenham on the rounded end points).
    public mutating func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, _ c: RGB, thickness: Int = 1) {
        guard x0.isFinite, y0.isFinite, x1.isFinite, y1.isFinite else { return }
        let limit = Double(4 * max(width, height) + 16)
        func clamp(_ v: Double) -> Int { Int(max(-limit, min(limit, v)).rounded()) }
        var x = clamp(x0), y = clamp(y0)
        let xe = clamp(x1), ye = clamp(y1)
        let dx = abs(xe - x), dy = -abs(ye - y)
        let sx = x < xe ? 1 : -1, sy = y < ye ? 1 : -1
        var err = dx + dy
        let t = max(1, thickness), off = (t - 1) / 2
        while true {
            fill(x: x - off, y: y - off, w: t, h: t, c)
            if x == xe && y == ye { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    /// `text` with its top-left corner at (`x`, `y`), each font pixel `scale` × `scale` pixels.
    public mutating func text(_ text: String, x: Int, y: Int, scale: Int = 1, _ c: RGB = .black) {
        var cx = x
        for ch in text {
            for (row, bits) in BitmapFont.glyph(ch).enumerated() {
                for col in 0..<BitmapFont.width where bits & (0x10 >> UInt8(col)) != 0 {
                    fill(x: cx + col * scale, y: y + row * scale, w: scale, h: scale, c)
                }
            }
            cx += BitmapFont.advance * scale
        }
    }

    /// Width in pixels of `text` at `scale`.
    public static func textWidth(_ text: String, scale: Int = 1) -> Int { BitmapFont.textWidth(text) * scale }
}

/// Writes ``RGBImage``s as PNG: 8-bit RGB (colour type 2), no interlace, filter 0 on every
/// row, the pixel data deflated with the system zlib (`EpisodeData.Zlib`), CRC-32 per chunk.
public enum PNGEncoder {
    /// The PNG file bytes of `image`.
    /// - Throws: ``PlotError`` if the image is empty or zlib fails.
    public static func encode(_ image: RGBImage) throws -> [UInt8] {
        guard image.width > 0, image.height > 0 else {
            throw PlotError(path: "", "cannot encode an empty \(image.width)x\(image.height) image")
        }
        let rowBytes = image.width * 3
        var raw = [UInt8]()
        raw.reserveCapacity(image.height * (rowBytes + 1))
        image.pixels.withUnsafeBufferPointer { p in
            for y in 0..<image.height {
                raw.append(0)
                raw.append(contentsOf: p[(y * rowBytes)..<((y + 1) * rowBytes)])
            }
        }
        let compressed: [UInt8]
        do {
            compressed = try Zlib.deflate(raw, level: 9, container: .zlib)
        } catch {
            throw PlotError(path: "", "deflate failed: \(error)")
        }
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header = be32(UInt32(image.width)) + be32(UInt32(image.height))
        header += [8, 2, 0, 0, 0]  // bit depth 8, RGB, deflate, filter method 0, no interlace
        chunk("IHDR", header, into: &out)
        chunk("IDAT", compressed, into: &out)
        chunk("IEND", [], into: &out)
        return out
    }

    private static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    private static func chunk(_ type: String, _ data: [UInt8], into out: inout [UInt8]) {
        let typed = Array(type.utf8) + data
        out += be32(UInt32(data.count))
        out += typed
        out += be32(Zlib.crc32(typed))
    }
}
