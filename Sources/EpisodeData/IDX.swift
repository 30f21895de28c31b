import Foundation

/// Images read from an IDX3 (`idx3-ubyte`) file: `count` images of `rows × cols` bytes.
public struct IDXImages: Sendable, Equatable {
    /// Number of images.
    public let count: Int
    /// Rows per image.
    public let rows: Int
    /// Columns per image.
    public let cols: Int
    /// `count * rows * cols` raw bytes, image-major, row-major within an image.
    public let pixels: [UInt8]

    /// Image `index` scaled to `[0, 1]` (`byte / 255`).
    public func image(_ index: Int) throws -> [Float] {
        guard index >= 0, index < count else {
            throw DataError(.invalidArgument, path: "", "image \(index) out of range 0..<\(count)")
        }
        let n = rows * cols
        return pixels[(index * n)..<((index + 1) * n)].map { Float($0) / 255 }
    }
}

/// Reader for the IDX format of MNIST and Fashion-MNIST, plain or gzip-compressed
/// (detected by the gzip magic `1f 8b`).
///
/// Only unsigned-byte data is accepted: magic `0x00000803` for images (3 dims) and
/// `0x00000801` for labels (1 dim). The (decompressed) file size must equal the header
/// size plus the product of the dimensions exactly.
public enum IDXReader {
    /// Reads an `idx3-ubyte` images file.
    /// - Throws: ``DataError`` `.missingFile`, `.unreadable`, `.truncated`/`.corruptData` (bad
    ///   gzip), `.badIDXMagic` or `.badIDXSize`.
    public static func readImages(path: String) throws -> IDXImages {
        let (dims, payload) = try read(path: path, expectedDims: 3)
        return IDXImages(count: dims[0], rows: dims[1], cols: dims[2], pixels: payload)
    }

    /// Reads an `idx1-ubyte` labels file.
    /// - Throws: as ``readImages(path:)``.
    public static func readLabels(path: String) throws -> [UInt8] {
        try read(path: path, expectedDims: 1).payload
    }

    /// Reads the file, gunzipping if needed.
    public static func contents(path: String) throws -> [UInt8] {
        let raw = try readFileBytes(path)
        if raw.count >= 2 && raw[0] == 0x1F && raw[1] == 0x8B {
            return try Zlib.inflate(raw, container: .gzip, path: path)
        }
        return raw
    }

    /// Parses an unsigned-byte IDX file with `expectedDims` dimensions.
    static func read(path: String, expectedDims: Int) throws -> (dims: [Int], payload: [UInt8]) {
        let bytes = try contents(path: path)
        return try parse(bytes, path: path, expectedDims: expectedDims)
    }

    /// Parses IDX bytes (already decompressed). `path` is used in error messages.
    static func parse(_ bytes: [UInt8], path: String, expectedDims: Int) throws -> (dims: [Int], payload: [UInt8]) {
        let expectedMagic = 0x0800 | UInt32(expectedDims)
        let what = expectedDims == 3 ? "idx3-ubyte images" : "idx\(expectedDims)-ubyte"
        guard bytes.count >= 4 else {
            throw DataError(.badIDXMagic, path: path,
                            "file has only \(bytes.count) bytes, too short for an IDX magic number")
        }
        let magic = readBE32(bytes, 0)
        guard magic == expectedMagic else {
            throw DataError(.badIDXMagic, path: path,
                            String(format: "wrong magic number 0x%08X, expected 0x%08X (%@)",
                                   magic, expectedMagic, what))
        }
        let header = 4 + 4 * expectedDims
        guard bytes.count >= header else {
            throw DataError(.badIDXSize, path: path,
                            "file has \(bytes.count) bytes, shorter than its \(header)-byte header")
        }
        let dims = (0..<expectedDims).map { Int(readBE32(bytes, 4 + 4 * $0)) }
        let (product, overflow) = dims.reduce((1, false)) { acc, d in
            let m = acc.0.multipliedReportingOverflow(by: d)
            return (m.partialValue, acc.1 || m.overflow)
        }
        guard !overflow, bytes.count - header == product else {
            throw DataError(.badIDXSize, path: path,
                            "file has \(bytes.count) bytes but its header (dims \(dims.map(String.init).joined(separator: "x"))) "
                            + "requires \(overflow ? "an impossible number of" : String(header + product)) bytes")
        }
        return (dims, Array(bytes[header...]))
    }

    @inline(__always)
    static func readBE32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }
}

/// A class-organised view of an IDX images/labels pair, for few-shot episodes over a chosen
/// list of label ids (e.g. classes 0–4 for meta-training and 5–9 for meta-testing).
///
/// Class `k` of the dataset is label `classIDs[k]`; its images are the records with that
/// label, in file order. Pixels are scaled to `[0, 1]` when copied. Several views (splits)
/// can share one ``IDXImages`` without copying it.
public struct IDXDataset: ManifestAddressable {
    /// The images (shared, copy-on-write).
    public let images: IDXImages
    /// The label id of each class.
    public let classIDs: [Int]
    /// For each class, the record numbers of its images.
    public let members: [[Int32]]
    /// Where the images came from, for messages.
    public let path: String
    private let slot: [Int32]  // record -> position within its class, or -1

    /// Reads `imagesPath` and `labelsPath` and selects `classes` (all label ids present, sorted, if nil).
    public init(imagesPath: String, labelsPath: String, classes: [Int]? = nil) throws {
        let images = try IDXReader.readImages(path: imagesPath)
        let labels = try IDXReader.readLabels(path: labelsPath)
        try self.init(images: images, labels: labels, classes: classes, path: imagesPath)
    }

    /// Builds the view from already-read data.
    /// - Throws: ``DataError`` `.invalidArgument` if counts differ or a class id repeats,
    ///   `.emptyClass` if a requested class has no images.
    public init(images: IDXImages, labels: [UInt8], classes: [Int]? = nil, path: String = "") throws {
        guard labels.count == images.count else {
            throw DataError(.invalidArgument, path: path,
                            "\(images.count) images but \(labels.count) labels")
        }
        var byLabel = [[Int32]](repeating: [], count: 256)
        for (i, label) in labels.enumerated() { byLabel[Int(label)].append(Int32(i)) }
        let ids = classes ?? (0..<256).filter { !byLabel[$0].isEmpty }
        guard Set(ids).count == ids.count else {
            throw DataError(.invalidArgument, path: path, "class ids repeat: \(ids)")
        }
        var slot = [Int32](repeating: -1, count: images.count)
        var members: [[Int32]] = []
        for id in ids {
            guard id >= 0, id < 256, !byLabel[id].isEmpty else {
                throw DataError(.emptyClass, path: path, "class \(id) has no images")
            }
            for (position, record) in byLabel[id].enumerated() { slot[Int(record)] = Int32(position) }
            members.append(byLabel[id])
        }
        self.images = images
        self.classIDs = ids
        self.members = members
        self.path = path
        self.slot = slot
        self.labels = labels
    }

    private let labels: [UInt8]

    /// Reads an images/labels pair once and returns two views sharing it, e.g.
    /// `trainClasses: [0, 1, 2, 3, 4]`, `testClasses: [5, 6, 7, 8, 9]`.
    /// - Throws: ``DataError`` from reading, `.invalidArgument` if the class lists overlap.
    public static func splits(imagesPath: String, labelsPath: String, trainClasses: [Int],
                              testClasses: [Int]) throws -> (train: IDXDataset, test: IDXDataset) {
        guard Set(trainClasses).isDisjoint(with: testClasses) else {
            throw DataError(.invalidArgument, path: imagesPath,
                            "train classes \(trainClasses) and test classes \(testClasses) overlap")
        }
        let images = try IDXReader.readImages(path: imagesPath)
        let labels = try IDXReader.readLabels(path: labelsPath)
        return (try IDXDataset(images: images, labels: labels, classes: trainClasses, path: imagesPath),
                try IDXDataset(images: images, labels: labels, classes: testClasses, path: imagesPath))
    }

    /// Number of selected classes.
    public var numClasses: Int { classIDs.count }
    /// `1 × rows × cols`.
    public var imageShape: ImageShape { ImageShape(channels: 1, height: images.rows, width: images.cols) }
    /// Images with label `classIDs[classIndex]`.
    public func imageCount(ofClass classIndex: Int) -> Int { members[classIndex].count }
    /// `"label <id>"`.
    public func className(_ classIndex: Int) -> String { "label \(classIDs[classIndex])" }

    /// Copies the image scaled to `[0, 1]`.
    public func copyImage(classIndex: Int, imageIndex: Int, into destination: UnsafeMutablePointer<Float>) {
        let n = images.rows * images.cols
        let record = Int(members[classIndex][imageIndex])
        images.pixels.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            let src = base + record * n
            for i in 0..<n { destination[i] = Float(src[i]) / 255 }
        }
    }

    /// The record number (decimal) of the image; rotation is always 0.
    public func reference(classIndex: Int, imageIndex: Int) -> ItemReference {
        ItemReference(path: String(members[classIndex][imageIndex]), rotation: 0)
    }

    /// Finds a record-number reference among the selected classes.
    public func locate(_ reference: ItemReference) -> (classIndex: Int, imageIndex: Int)? {
        guard reference.rotation == 0, let record = Int(reference.path), record >= 0, record < images.count,
              slot[record] >= 0, let classIndex = classIDs.firstIndex(of: Int(labels[record])) else { return nil }
        return (classIndex, Int(slot[record]))
    }
}
