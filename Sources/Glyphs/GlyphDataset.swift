import EpisodeData
import Foundation

/// Printed glyphs rendered from Debian's `fonts-noto-core` (SIL Open Font License): a class is
/// one character, its instances the character in each font under a few seeded augmentations.
///
/// - Characters (``characters``, 122, fixed order): the digits; Latin capitals; Latin small
///   letters except `c o s v w x z` (their capitals look the same once centred); Greek small
///   letters except `ο` and the final `ς`; the Greek capitals without a Latin look-alike
///   (`Γ Δ Θ Λ Ξ Π Σ Φ Ψ Ω`); the Cyrillic capitals and small letters without a Latin or
///   Greek look-alike (`Б Д Ж З И Й Л Ц Ч Ш Щ Ъ Ы Ь Э Ю Я`, and small).
/// - Fonts (``fontNames``, 16): Noto Sans, Noto Serif, Noto Sans Display and Noto Serif
///   Display, each Regular, Bold, Italic and BoldItalic, from ``fontFolder``.
/// - Instances: ``augmentationsPerFont`` per font (``GlyphAugmentation/make(character:font:index:)``:
///   the plain rendering, then seeded size 18–22, rotation ±8°, shift ±2 px), so 48 per class.
/// - Split: character `i` (in ``characters`` order) is meta-test when `i % 5 == 4`, else meta-train.
///
/// Rendering is deterministic: the same fonts give the same pixels.
public struct GlyphDataset: ClassDataset {
    /// Where Debian installs the fonts.
    public static let fontFolder = "/usr/share/fonts/truetype/noto"
    /// How to install them, for error messages.
    public static let installHint = "apt-get install fonts-noto-core (or run scripts/install-deps.sh)"
    /// The font files used, in order.
    public static let fontNames: [String] = ["NotoSans", "NotoSerif", "NotoSansDisplay", "NotoSerifDisplay"].flatMap { family in
        ["Regular", "Bold", "Italic", "BoldItalic"].map { "\(family)-\($0).ttf" }
    }
    /// Augmented renderings per font.
    public static let augmentationsPerFont = 3
    /// The character set, in class order.
    public static let characters: [Unicode.Scalar] = {
        let text = "0123456789" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + "abdefghijklmnpqrtuy"
            + "αβγδεζηθικλμνξπρστυφχψω" + "ΓΔΘΛΞΠΣΦΨΩ"
            + "БДЖЗИЙЛЦЧШЩЪЫЬЭЮЯ" + "бджзийлцчшщъыьэюя"
        return text.unicodeScalars.map { $0 }
    }()

    /// Which side of the split a character index is on.
    public static func isTest(characterIndex i: Int) -> Bool { i % 5 == 4 }

    /// Character indices of a split (`train`: not test).
    public static func characterIndices(test: Bool) -> [Int] {
        characters.indices.filter { isTest(characterIndex: $0) == test }
    }

    /// Character index (into ``characters``) of each class.
    public let characterIndices: [Int]
    /// Image side.
    public let side: Int
    /// Images per class.
    public let instancesPerClass: Int
    /// All pixels, class-major then instance-major.
    private let pixels: [Float]

    /// Renders `characterIndices` (default: all) at `side × side` from the fonts in `folder`.
    /// - Throws: ``DataError`` `.missingFile` naming the first missing font and the install
    ///   command; `.invalidArgument` for a character index out of range; `.corruptData` when a
    ///   font lacks a character.
    public init(characterIndices: [Int]? = nil, side: Int = 28, folder: String = fontFolder) throws {
        let indices = characterIndices ?? Array(Self.characters.indices)
        if let bad = indices.first(where: { !Self.characters.indices.contains($0) }) {
            throw DataError(.invalidArgument, path: "", "glyph character index \(bad) out of range 0..<\(Self.characters.count)")
        }
        let renderer = try GlyphRenderer(fontPaths: Self.fontNames.map { folder + "/" + $0 })
        let perClass = Self.fontNames.count * Self.augmentationsPerFont
        var all: [Float] = []
        all.reserveCapacity(indices.count * perClass * side * side)
        for c in indices {
            for f in Self.fontNames.indices {
                for a in 0..<Self.augmentationsPerFont {
                    all += try renderer.render(Self.characters[c], font: f,
                                               augmentation: .make(character: c, font: f, index: a), side: side)
                }
            }
        }
        self.characterIndices = indices
        self.side = side
        self.instancesPerClass = perClass
        self.pixels = all
    }

    /// Whether every font is present in `folder`.
    public static func isInstalled(folder: String = fontFolder) -> Bool {
        fontNames.allSatisfy { FileManager.default.fileExists(atPath: folder + "/" + $0) }
    }

    /// Number of characters.
    public var numClasses: Int { characterIndices.count }
    /// `1 × side × side`.
    public var imageShape: ImageShape { ImageShape(channels: 1, height: side, width: side) }
    /// Fonts × augmentations.
    public func imageCount(ofClass classIndex: Int) -> Int { instancesPerClass }
    /// `glyph/U+0041 'A'`.
    public func className(_ classIndex: Int) -> String {
        let s = Self.characters[characterIndices[classIndex]]
        return "glyph/U+\(String(format: "%04X", s.value)) '\(Character(s))'"
    }

    /// Copies instance `imageIndex` (font `imageIndex / 3`, augmentation `imageIndex % 3`).
    public func copyImage(classIndex: Int, imageIndex: Int, into destination: UnsafeMutablePointer<Float>) {
        let n = side * side
        let offset = (classIndex * instancesPerClass + imageIndex) * n
        pixels.withUnsafeBufferPointer { p in
            if let b = p.baseAddress { destination.update(from: b + offset, count: n) }
        }
    }
}
