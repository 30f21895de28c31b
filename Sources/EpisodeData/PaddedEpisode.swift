import Foundation

/// A ``VariableEpisode`` laid out at a fixed padded shape, as a multi-source step takes it
/// (one task): real examples first, then zeros with mask 0.
///
/// - `supportX` `[S, C, H, W]`, `supportY` `[S]`, `supportMask` `[S]`
/// - `queryX` `[Q, C, H, W]`, `queryY` `[Q]`, `queryMask` `[Q]`
/// - `classMask` `[N]`: 1 for the episode's classes `0..<ways`, 0 for padded ones.
public struct PaddedEpisode: Sendable, Equatable {
    /// Padded class count N, support size S and query size Q.
    public let maxWays: Int, maxSupport: Int, maxQuery: Int
    /// The source the episode came from.
    public let source: Int
    /// Real classes, support and query examples.
    public let ways: Int, supportCount: Int, queryCount: Int
    /// Shape of one image.
    public let imageShape: ImageShape
    /// Support images, labels and mask.
    public let supportX: [Float], supportY: [Int32], supportMask: [Float]
    /// Query images, labels and mask.
    public let queryX: [Float], queryY: [Int32], queryMask: [Float]
    /// Class mask.
    public let classMask: [Float]

    /// Lays `episode` out at `maxWays × maxSupport × maxQuery`, copying images from `dataset`.
    /// - Throws: ``DataError`` `.invalidArgument` when the episode does not fit.
    public init(_ episode: VariableEpisode, dataset: any ClassDataset, maxWays: Int, maxSupport: Int, maxQuery: Int) throws {
        guard episode.ways <= maxWays, episode.support.count <= maxSupport, episode.query.count <= maxQuery else {
            throw DataError(.invalidArgument, path: "",
                            "episode of \(episode.ways) ways, \(episode.support.count) support and \(episode.query.count) query images does not fit \(maxWays)/\(maxSupport)/\(maxQuery)")
        }
        let shape = try dataset.imageShape.validated(path: "")
        self.maxWays = maxWays
        self.maxSupport = maxSupport
        self.maxQuery = maxQuery
        source = episode.source
        ways = episode.ways
        supportCount = episode.support.count
        queryCount = episode.query.count
        imageShape = shape
        let s = Self.gather(episode.support, slots: maxSupport, dataset: dataset, stride: shape.count)
        let q = Self.gather(episode.query, slots: maxQuery, dataset: dataset, stride: shape.count)
        supportX = s.0
        supportY = s.1
        supportMask = s.2
        queryX = q.0
        queryY = q.1
        queryMask = q.2
        classMask = (0..<maxWays).map { $0 < episode.ways ? 1 : 0 }
    }

    private static func gather(_ items: [EpisodeItem], slots: Int, dataset: any ClassDataset,
                               stride: Int) -> ([Float], [Int32], [Float]) {
        var x = [Float](repeating: 0, count: slots * stride)
        var y = [Int32](repeating: 0, count: slots)
        var mask = [Float](repeating: 0, count: slots)
        x.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            for (i, item) in items.enumerated() {
                dataset.copyImage(classIndex: item.classIndex, imageIndex: item.imageIndex, into: base + i * stride)
                y[i] = Int32(item.label)
                mask[i] = 1
            }
        }
        return (x, y, mask)
    }
}

/// A class dataset shown at another image size (area-averaging resize, ``ImageOps/resizeArea(_:width:height:toWidth:toHeight:)``),
/// so sources of different sizes (8×8 digits, 28×28 MNIST) share one input shape.
public struct ResizedDataset: ClassDataset {
    /// The dataset resized.
    public let base: any ClassDataset
    /// The output side.
    public let side: Int

    /// `base` at `side × side` (single-channel).
    /// - Throws: ``DataError`` `.invalidArgument` if `base` is not single-channel or `side` is not positive.
    public init(_ base: any ClassDataset, side: Int) throws {
        guard base.imageShape.channels == 1, side >= 1 else {
            throw DataError(.invalidArgument, path: "", "cannot resize \(base.imageShape) images to \(side)×\(side)")
        }
        self.base = base
        self.side = side
    }

    /// Number of classes of `base`.
    public var numClasses: Int { base.numClasses }
    /// `1 × side × side`.
    public var imageShape: ImageShape { ImageShape(channels: 1, height: side, width: side) }
    /// Images of class `classIndex` in `base`.
    public func imageCount(ofClass classIndex: Int) -> Int { base.imageCount(ofClass: classIndex) }
    /// The name in `base`.
    public func className(_ classIndex: Int) -> String { base.className(classIndex) }

    /// Writes the resized image.
    public func copyImage(classIndex: Int, imageIndex: Int, into destination: UnsafeMutablePointer<Float>) {
        let s = base.imageShape
        if s.height == side, s.width == side {
            return base.copyImage(classIndex: classIndex, imageIndex: imageIndex, into: destination)
        }
        let src = [Float](unsafeUninitializedCapacity: s.count) { buffer, initialized in
            if let b = buffer.baseAddress { base.copyImage(classIndex: classIndex, imageIndex: imageIndex, into: b) }
            initialized = s.count
        }
        let out = (try? ImageOps.resizeArea(src, width: s.width, height: s.height, toWidth: side, toHeight: side))
            ?? [Float](repeating: 0, count: side * side)
        out.withUnsafeBufferPointer { o in
            if let b = o.baseAddress { destination.update(from: b, count: side * side) }
        }
    }
}
