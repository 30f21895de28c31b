/// The shape of one example image, channels-first (`[C, H, W]`).
public struct ImageShape: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Number of channels (1 for Omniglot and Fashion-MNIST).
    public var channels: Int
    /// Height in pixels.
    public var height: Int
    /// Width in pixels.
    public var width: Int

    /// Creates a shape.
    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// `channels * height * width`, or `nil` when a dimension is negative or the product does
    /// not fit in an `Int` (a shape read from a malformed file).
    public var checkedCount: Int? {
        guard channels >= 0, height >= 0, width >= 0 else { return nil }
        let (hw, o1) = height.multipliedReportingOverflow(by: width)
        let (chw, o2) = channels.multipliedReportingOverflow(by: hw)
        return o1 || o2 ? nil : chw
    }

    /// `channels * height * width`; 0 for a shape without a countable size (see
    /// ``checkedCount``), so that no arithmetic on a malformed shape traps. Readers and the
    /// sampler refuse such shapes with ``validated(path:)`` before they size any buffer.
    public var count: Int { checkedCount ?? 0 }

    /// The shape itself, or an error naming `path` when its size is not countable.
    /// - Throws: ``DataError`` `.corruptData`.
    public func validated(path: String) throws -> ImageShape {
        guard let n = checkedCount, n > 0 else {
            throw DataError(.corruptData, path: path,
                            "image shape \(self) has no positive element count that fits in 64 bits")
        }
        return self
    }

    /// `[C, H, W]`.
    public var dims: [Int] { [channels, height, width] }

    /// `"CxHxW"`.
    public var description: String { "\(channels)x\(height)x\(width)" }
}

/// A labelled image collection organised by class, as the episode sampler needs it.
///
/// Conformers: ``OmniglotDataset`` (classes = characters × rotations) and
/// ``IDXDataset`` (classes = selected label ids).
public protocol ClassDataset: Sendable {
    /// Number of classes; classes are numbered `0..<numClasses`.
    var numClasses: Int { get }
    /// Shape of every image.
    var imageShape: ImageShape { get }
    /// Number of images in class `classIndex`.
    func imageCount(ofClass classIndex: Int) -> Int
    /// A human-readable name for class `classIndex` (e.g. `Latin/character01@90`).
    func className(_ classIndex: Int) -> String
    /// Writes image `imageIndex` of class `classIndex` (`imageShape.count` floats, row-major)
    /// to `destination`. Both indices must be in range (the sampler guarantees this;
    /// use ``image(classIndex:imageIndex:)`` for checked access).
    func copyImage(classIndex: Int, imageIndex: Int, into destination: UnsafeMutablePointer<Float>)
}

extension ClassDataset {
    /// Image `imageIndex` of class `classIndex` as a new array (checked access).
    /// - Throws: ``DataError`` `.invalidArgument` if an index is out of range.
    public func image(classIndex: Int, imageIndex: Int) throws -> [Float] {
        guard classIndex >= 0, classIndex < numClasses else {
            throw DataError(.invalidArgument, path: "", "class \(classIndex) out of range 0..<\(numClasses)")
        }
        let n = imageCount(ofClass: classIndex)
        guard imageIndex >= 0, imageIndex < n else {
            throw DataError(.invalidArgument, path: "",
                            "image \(imageIndex) out of range 0..<\(n) in class \(className(classIndex))")
        }
        let count = try imageShape.validated(path: "").count
        return [Float](unsafeUninitializedCapacity: count) { buf, initialized in
            if let base = buf.baseAddress {
                copyImage(classIndex: classIndex, imageIndex: imageIndex, into: base)
            }
            initialized = count
        }
    }

    /// The smallest number of images in any class (0 if there are no classes).
    public var minImagesPerClass: Int {
        (0..<numClasses).map { imageCount(ofClass: $0) }.min() ?? 0
    }
}

/// Identifies one example in a way that survives re-building the dataset: a path relative
/// to the dataset root plus a rotation. Used by ``EpisodeManifest``.
public struct ItemReference: Hashable, Sendable, Codable, CustomStringConvertible {
    /// For Omniglot: `<Alphabet>/<character>/<file>.png` (relative to the alphabet root);
    /// for IDX: the record number in the images file, as decimal text.
    public var path: String
    /// Counter-clockwise rotation in degrees (0, 90, 180 or 270).
    public var rotation: Int

    /// Creates a reference.
    public init(path: String, rotation: Int = 0) {
        self.path = path
        self.rotation = rotation
    }

    /// `path` or `path@rotation`.
    public var description: String { rotation == 0 ? path : "\(path)@\(rotation)" }
}

/// A ``ClassDataset`` whose items can be named by ``ItemReference`` and found again,
/// which is what fixed episode manifests need.
public protocol ManifestAddressable: ClassDataset {
    /// The stable reference of image `imageIndex` in class `classIndex`.
    func reference(classIndex: Int, imageIndex: Int) -> ItemReference
    /// The class and image index a reference denotes, or nil if this dataset has no such item
    /// (unknown path, or a rotation this dataset was not built with).
    func locate(_ reference: ItemReference) -> (classIndex: Int, imageIndex: Int)?
}
