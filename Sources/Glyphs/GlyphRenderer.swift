import CFreeType
import EpisodeData
import Foundation

/// One small augmentation of a rendered glyph: pixel size, rotation and shift.
public struct GlyphAugmentation: Sendable, Hashable {
    /// FreeType pixel size (the em square), e.g. 20.
    public var pixelSize: Int
    /// Counter-clockwise rotation in degrees.
    public var degrees: Double
    /// Shift of the glyph's centre from the canvas centre, in pixels (x right, y down).
    public var dx: Int, dy: Int

    /// Creates an augmentation.
    public init(pixelSize: Int, degrees: Double, dx: Int, dy: Int) {
        self.pixelSize = pixelSize
        self.degrees = degrees
        self.dx = dx
        self.dy = dy
    }

    /// Augmentation `index` of a (character, font) pair: a pure function of the three numbers.
    /// Index 0 is the plain rendering (size 20, upright, centred); others draw size 18–22,
    /// rotation ±8° and shifts of up to ±2 pixels from a seeded stream.
    public static func make(character: Int, font: Int, index: Int) -> GlyphAugmentation {
        guard index > 0 else { return GlyphAugmentation(pixelSize: 20, degrees: 0, dx: 0, dy: 0) }
        var rng = Xoshiro256(seed: 0x61_7970_6853 ^ UInt64(character) << 20 ^ UInt64(font) << 8, stream: UInt64(index))
        return GlyphAugmentation(pixelSize: 18 + rng.nextInt(below: 5), degrees: rng.nextDouble(in: -8, 8),
                                 dx: rng.nextInt(below: 5) - 2, dy: rng.nextInt(below: 5) - 2)
    }
}

/// Renders characters of TrueType fonts to small grayscale images with FreeType: ink is
/// coverage (1 = glyph, 0 = background, Omniglot's and MNIST's polarity), the glyph's
/// bounding box centred on the canvas and clipped to it.
public final class GlyphRenderer {
    private var library: FT_Library?
    private var faces: [FT_Face] = []
    /// The font files, in face order.
    public let fontPaths: [String]

    /// Opens every font in `fontPaths`.
    /// - Throws: ``DataError`` `.missingFile` naming a missing font and the package that
    ///   installs it, `.unreadable` when FreeType cannot open one.
    public init(fontPaths: [String]) throws {
        self.fontPaths = fontPaths
        guard FT_Init_FreeType(&library) == 0 else {
            throw DataError(.unreadable, path: "", "FreeType could not be initialised")
        }
        for path in fontPaths {
            guard FileManager.default.fileExists(atPath: path) else {
                throw DataError(.missingFile, path: path, "data source 'glyphs' is not installed: font missing; \(GlyphDataset.installHint)")
            }
            var face: FT_Face?
            guard FT_New_Face(library, path, 0, &face) == 0, let face else {
                throw DataError(.unreadable, path: path, "FreeType cannot open this font")
            }
            faces.append(face)
        }
    }

    deinit {
        for f in faces { FT_Done_Face(f) }
        FT_Done_FreeType(library)
    }

    /// Whether font `font` has a glyph for `scalar`.
    public func hasGlyph(_ scalar: Unicode.Scalar, font: Int) -> Bool {
        FT_Get_Char_Index(faces[font], FT_ULong(scalar.value)) != 0
    }

    /// `scalar` in font `font` under `augmentation`, as `side × side` values in `[0, 1]`.
    /// - Throws: ``DataError`` `.corruptData` when the font has no such glyph or FreeType
    ///   cannot render it.
    public func render(_ scalar: Unicode.Scalar, font: Int, augmentation a: GlyphAugmentation, side: Int) throws -> [Float] {
        let face = faces[font]
        let index = FT_Get_Char_Index(face, FT_ULong(scalar.value))
        guard index != 0 else {
            throw DataError(.corruptData, path: fontPaths[font], "no glyph for U+\(String(scalar.value, radix: 16, uppercase: true))")
        }
        FT_Set_Pixel_Sizes(face, 0, FT_UInt(a.pixelSize))
        let r = a.degrees * .pi / 180
        var matrix = FT_Matrix(xx: FT_Fixed(cos(r) * 65536), xy: FT_Fixed(-sin(r) * 65536),
                               yx: FT_Fixed(sin(r) * 65536), yy: FT_Fixed(cos(r) * 65536))
        var delta = FT_Vector(x: 0, y: 0)
        FT_Set_Transform(face, &matrix, &delta)
        guard FT_Load_Glyph(face, index, FT_Int32(metajit_ft_load_render)) == 0, let slot = face.pointee.glyph else {
            throw DataError(.corruptData, path: fontPaths[font], "FreeType cannot render U+\(String(scalar.value, radix: 16, uppercase: true))")
        }
        let bitmap = slot.pointee.bitmap
        var out = [Float](repeating: 0, count: side * side)
        let rows = Int(bitmap.rows), width = Int(bitmap.width), pitch = Int(bitmap.pitch)
        guard let buffer = bitmap.buffer, rows > 0, width > 0 else { return out }
        let top = (side - rows) / 2 + a.dy, left = (side - width) / 2 + a.dx
        for y in 0..<rows {
            let ty = top + y
            guard ty >= 0, ty < side else { continue }
            let row = pitch >= 0 ? buffer + y * pitch : buffer + (rows - 1 - y) * (-pitch)
            for x in 0..<width {
                let tx = left + x
                guard tx >= 0, tx < side else { continue }
                out[ty * side + tx] = Float(row[x]) / 255
            }
        }
        return out
    }
}
