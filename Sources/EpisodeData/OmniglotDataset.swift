import Foundation

/// Alphabet lists for splitting Omniglot so that test characters are never seen in training.
public enum OmniglotSplit {
    /// The suggested meta-training alphabets of the bundled data
    /// (Balinese, Early_Aramaic, Greek, Korean, Japanese_(katakana), Sanskrit).
    public static let metaTrain = ["Balinese", "Early_Aramaic", "Greek", "Korean", "Japanese_(katakana)", "Sanskrit"]
    /// The suggested meta-test alphabets of the bundled data (Latin, Tagalog).
    public static let metaTest = ["Latin", "Tagalog"]

    /// Parses a split file: one alphabet name per line; blank lines and everything after
    /// `#` are ignored; surrounding whitespace is trimmed.
    /// - Throws: ``DataError`` `.invalidSplit` if no names remain or a name repeats.
    public static func parse(_ text: String, path: String) throws -> [String] {
        var names: [String] = []
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let name = line.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !name.isEmpty else { continue }
            guard !names.contains(name) else {
                throw DataError(.invalidSplit, path: path, "line \(number + 1): alphabet '\(name)' listed twice")
            }
            names.append(name)
        }
        guard !names.isEmpty else {
            throw DataError(.invalidSplit, path: path, "split file lists no alphabets")
        }
        return names
    }

    /// Reads and parses the split file at `path` (see ``parse(_:path:)``).
    /// - Throws: ``DataError`` `.missingFile`, `.unreadable` or `.invalidSplit`.
    public static func read(path: String) throws -> [String] {
        let bytes = try readFileBytes(path)
        return try parse(String(decoding: bytes, as: UTF8.self), path: path)
    }
}

/// A view of an ``OmniglotImageStore`` restricted to some alphabets, optionally augmented
/// with rotations: each (character, rotation) pair is one class.
///
/// Classes are numbered character-major: class `c * rotations.count + r` is character
/// `c` (in store order among the selected alphabets) rotated by `rotations[r]` degrees
/// counter-clockwise. Copying an image applies the rotation on the fly, so the store is
/// decoded and held only once.
public struct OmniglotDataset: ManifestAddressable {
    /// The shared decoded store.
    public let store: OmniglotImageStore
    /// Selected alphabets, in store (sorted) order.
    public let alphabets: [String]
    /// Rotations in degrees (each a multiple of 90), one class per character and rotation.
    public let rotations: [Int]
    /// Indices into `store.records` of the selected characters.
    public let characterIndices: [Int]
    private let turns: [Int]
    private let firstImage: [Int]  // store image index of each selected character's first image
    private let index: [String: (character: Int, image: Int)]

    /// Selects `alphabets` (all of the store's if nil) with `rotations` (degrees).
    /// - Throws: ``DataError`` `.unknownAlphabet` listing the available alphabets, or
    ///   `.invalidArgument` for a rotation that is not a multiple of 90 or is repeated.
    public init(store: OmniglotImageStore, alphabets: [String]? = nil, rotations: [Int] = [0]) throws {
        let available = store.alphabets
        if let alphabets {
            for name in alphabets where !available.contains(name) {
                throw DataError(.unknownAlphabet, path: "",
                                "unknown alphabet '\(name)'; available: \(available.joined(separator: ", "))")
            }
        }
        let selected = Set(alphabets ?? available)
        let turns = try rotations.map { try ImageOps.quarterTurns(degrees: $0) }
        guard !rotations.isEmpty, Set(turns).count == turns.count else {
            throw DataError(.invalidArgument, path: "", "rotations must be non-empty and distinct, got \(rotations)")
        }
        self.store = store
        self.alphabets = available.filter { selected.contains($0) }
        self.rotations = rotations
        self.turns = turns
        self.characterIndices = store.records.indices.filter { selected.contains(store.records[$0].alphabet) }
        self.firstImage = characterIndices.map { store.records[$0].firstImage }
        var index: [String: (character: Int, image: Int)] = [:]
        for (position, recordIndex) in characterIndices.enumerated() {
            let record = store.records[recordIndex]
            for (i, file) in record.fileNames.enumerated() {
                index["\(record.key)/\(file)"] = (position, i)
            }
        }
        self.index = index
    }

    /// Loads (scans and decodes) only the given alphabets from the data at `path`.
    public static func load(path: String, alphabets: [String]? = nil, rotations: [Int] = [0],
                            imageSize: Int = 28, threads: Int = OmniglotImageStore.defaultThreads) throws -> OmniglotDataset {
        let store = try OmniglotImageStore(path: path, alphabets: alphabets, imageSize: imageSize, threads: threads)
        return try OmniglotDataset(store: store, alphabets: alphabets, rotations: rotations)
    }

    /// Number of selected characters (classes before rotation).
    public var characterCount: Int { characterIndices.count }

    /// `characterCount * rotations.count`.
    public var numClasses: Int { characterIndices.count * rotations.count }

    /// `1 × imageSize × imageSize`.
    public var imageShape: ImageShape { ImageShape(channels: 1, height: store.imageSize, width: store.imageSize) }

    /// The store record of the character behind class `classIndex`.
    public func record(ofClass classIndex: Int) -> OmniglotImageStore.Record {
        store.records[characterIndices[classIndex / rotations.count]]
    }

    /// Rotation in degrees of class `classIndex`.
    public func rotation(ofClass classIndex: Int) -> Int { rotations[classIndex % rotations.count] }

    /// Number of images of the character behind `classIndex`.
    public func imageCount(ofClass classIndex: Int) -> Int { record(ofClass: classIndex).fileNames.count }

    /// `<Alphabet>/<character>` plus `@<degrees>` when rotated.
    public func className(_ classIndex: Int) -> String {
        let rotation = rotation(ofClass: classIndex)
        let key = record(ofClass: classIndex).key
        return rotation == 0 ? key : "\(key)@\(rotation)"
    }

    /// Copies the (rotated) image into `destination`.
    public func copyImage(classIndex: Int, imageIndex: Int, into destination: UnsafeMutablePointer<Float>) {
        let side = store.imageSize
        let offset = (firstImage[classIndex / rotations.count] + imageIndex) * side * side
        store.pixels.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            ImageOps.copyRotated(base + offset, to: destination, width: side, height: side,
                                 turns: turns[classIndex % turns.count])
        }
    }

    /// `<Alphabet>/<character>/<file>.png` and the class rotation.
    public func reference(classIndex: Int, imageIndex: Int) -> ItemReference {
        let record = record(ofClass: classIndex)
        return ItemReference(path: "\(record.key)/\(record.fileNames[imageIndex])",
                             rotation: rotation(ofClass: classIndex))
    }

    /// Finds a `<Alphabet>/<character>/<file>.png` reference (a leading wrapper folder such
    /// as `images_background_small1/` is tolerated) with one of this dataset's rotations.
    public func locate(_ reference: ItemReference) -> (classIndex: Int, imageIndex: Int)? {
        guard let turn = try? ImageOps.quarterTurns(degrees: reference.rotation),
              let r = turns.firstIndex(of: turn) else { return nil }
        let parts = reference.path.split(separator: "/").map(String.init)
        guard parts.count >= 3, let hit = index[parts.suffix(3).joined(separator: "/")] else { return nil }
        return (hit.character * rotations.count + r, hit.image)
    }
}
