import Foundation

/// What ``describeDataset(at:)`` found: structured counts plus printable text.
public struct DatasetSummary: Sendable, CustomStringConvertible {
    /// The kind of data set detected.
    public enum Kind: String, Sendable {
        /// Omniglot zip(s) or folder.
        case omniglot
        /// IDX (MNIST-style) files.
        case idx
    }

    /// One Omniglot alphabet.
    public struct Alphabet: Sendable, Equatable {
        /// Alphabet name.
        public let name: String
        /// Number of characters (classes).
        public let characters: Int
        /// Number of images.
        public let images: Int
    }

    /// One IDX images file (with its labels file when found).
    public struct IDXSplit: Sendable, Equatable {
        /// Images file path.
        public let imagesPath: String
        /// Labels file path, if one was found.
        public let labelsPath: String?
        /// Number of images, rows, columns.
        public let images: Int, rows: Int, cols: Int
        /// Images per label id, for label ids `0...max` (empty without labels).
        public let imagesPerClass: [Int]
    }

    /// Which kind of data set this is.
    public let kind: Kind
    /// The path that was described.
    public let path: String
    /// For Omniglot: the sources read.
    public let sources: [String]
    /// For Omniglot: the alphabets.
    public let alphabets: [Alphabet]
    /// For IDX: the images files.
    public let idxSplits: [IDXSplit]

    /// Total number of images.
    public var totalImages: Int {
        kind == .omniglot ? alphabets.reduce(0) { $0 + $1.images } : idxSplits.reduce(0) { $0 + $1.images }
    }

    /// A multi-line, human-readable report.
    public var description: String {
        var lines: [String] = []
        switch kind {
        case .omniglot:
            let chars = alphabets.reduce(0) { $0 + $1.characters }
            lines.append("Omniglot at \(path)")
            lines.append("sources: \(sources.joined(separator: ", "))")
            lines.append("\(alphabets.count) alphabets, \(chars) characters, \(totalImages) images")
            let width = alphabets.map(\.name.count).max() ?? 0
            for a in alphabets {
                lines.append("  \(a.name.padding(toLength: width, withPad: " ", startingAt: 0))  "
                             + "\(a.characters) characters, \(a.images) images")
            }
        case .idx:
            lines.append("IDX data at \(path)")
            for s in idxSplits {
                let name = (s.imagesPath as NSString).lastPathComponent
                lines.append("  \(name): \(s.images) images of \(s.rows)x\(s.cols)")
                if s.imagesPerClass.isEmpty {
                    lines.append("    (no labels file found)")
                } else {
                    let nonEmpty = s.imagesPerClass.enumerated().filter { $0.element > 0 }
                    lines.append("    \(nonEmpty.count) classes; images per class: "
                                 + nonEmpty.map { "\($0.offset): \($0.element)" }.joined(separator: ", "))
                }
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// Detects and summarises the data set at `path`:
/// - Omniglot: a `.zip`, a folder containing Omniglot zips (all are used, alphabets
///   de-duplicated by name), or an extracted folder: alphabets, characters per alphabet, images.
/// - IDX: an `*-images-idx3-ubyte[.gz]` file (its `*-labels-idx1-ubyte[.gz]` sibling is
///   used when present), a labels file, or a folder of such files: images and images per class.
///
/// - Throws: ``DataError`` (`.missingFile`, or whatever reading the data raises).
public func describeDataset(at path: String) throws -> DatasetSummary {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
        throw DataError(.missingFile, path: path, "no such file or folder")
    }
    if isDir.boolValue {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
        let idxImages = names.filter { $0.contains("idx3") }
        let hasZip = names.contains { $0.lowercased().hasSuffix(".zip") }
        if !hasZip && !idxImages.isEmpty {
            let splits = try idxImages.map { try describeIDX((path as NSString).appendingPathComponent($0)) }
            return DatasetSummary(kind: .idx, path: path, sources: [], alphabets: [], idxSplits: splits)
        }
        return try describeOmniglot(path)
    }
    guard let handle = FileHandle(forReadingAtPath: path) else {
        throw DataError(.unreadable, path: path, "cannot open file")
    }
    let head = [UInt8](handle.readData(ofLength: 4))
    try? handle.close()
    if head.starts(with: [0x50, 0x4B]) { return try describeOmniglot(path) }
    return DatasetSummary(kind: .idx, path: path, sources: [], alphabets: [], idxSplits: [try describeIDX(path)])
}

private func describeOmniglot(_ path: String) throws -> DatasetSummary {
    let catalog = try OmniglotCatalog(path: path)
    let alphabets = catalog.alphabets.map { name -> DatasetSummary.Alphabet in
        let chars = catalog.characters(inAlphabet: name)
        return DatasetSummary.Alphabet(name: name, characters: chars.count,
                                       images: chars.reduce(0) { $0 + $1.fileNames.count })
    }
    return DatasetSummary(kind: .omniglot, path: path, sources: catalog.sources.map(\.path),
                          alphabets: alphabets, idxSplits: [])
}

private func describeIDX(_ path: String) throws -> DatasetSummary.IDXSplit {
    let name = (path as NSString).lastPathComponent
    if name.contains("idx1") {
        let labels = try IDXReader.readLabels(path: path)
        return DatasetSummary.IDXSplit(imagesPath: path, labelsPath: path, images: labels.count, rows: 0, cols: 0,
                                       imagesPerClass: histogram(labels))
    }
    let images = try IDXReader.readImages(path: path)
    let dir = (path as NSString).deletingLastPathComponent
    let base = name.hasSuffix(".gz") ? String(name.dropLast(3)) : name
    let candidates = [base.replacingOccurrences(of: "images-idx3", with: "labels-idx1"),
                      base.replacingOccurrences(of: "images.idx3", with: "labels.idx1")]
        .filter { $0 != base }
        .flatMap { [$0, $0 + ".gz"] }
        .map { (dir as NSString).appendingPathComponent($0) }
    let labelsPath = candidates.first { FileManager.default.fileExists(atPath: $0) }
    var perClass: [Int] = []
    if let labelsPath {
        let labels = try IDXReader.readLabels(path: labelsPath)
        guard labels.count == images.count else {
            throw DataError(.badIDXSize, path: labelsPath,
                            "\(labels.count) labels for \(images.count) images in \(path)")
        }
        perClass = histogram(labels)
    }
    return DatasetSummary.IDXSplit(imagesPath: path, labelsPath: labelsPath, images: images.count,
                                   rows: images.rows, cols: images.cols, imagesPerClass: perClass)
}

private func histogram(_ labels: [UInt8]) -> [Int] {
    var counts = [Int](repeating: 0, count: 256)
    for l in labels { counts[Int(l)] += 1 }
    let last = counts.lastIndex { $0 > 0 } ?? -1
    return Array(counts[0...last])
}
