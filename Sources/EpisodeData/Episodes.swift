/// Few-shot episode dimensions: N ways, K shots and Q queries per class, B tasks per meta-batch.
public struct EpisodeConfig: Sendable, Hashable, Codable, CustomStringConvertible {
    /// N: classes per episode.
    public var ways: Int
    /// K: support examples per class.
    public var shots: Int
    /// Q: query examples per class.
    public var queries: Int
    /// B: episodes (tasks) per meta-batch.
    public var metaBatchSize: Int

    /// Creates a configuration.
    public init(ways: Int, shots: Int, queries: Int, metaBatchSize: Int) {
        self.ways = ways
        self.shots = shots
        self.queries = queries
        self.metaBatchSize = metaBatchSize
    }

    /// `"N-way K-shot Q-query B-batch"`.
    public var description: String { "\(ways)-way \(shots)-shot \(queries)-query x\(metaBatchSize)" }

    /// Checks that all sizes are usable.
    /// - Throws: ``DataError`` `.invalidArgument`.
    public func validate() throws {
        guard ways >= 1, shots >= 1, queries >= 0, metaBatchSize >= 1 else {
            throw DataError(.invalidArgument, path: "",
                            "invalid episode configuration \(self): need ways, shots, batch >= 1 and queries >= 0")
        }
        guard batchElements(imageElements: 1) != nil else {
            throw DataError(.invalidArgument, path: "",
                            "invalid episode configuration \(self): a meta-batch would hold more images than fit in a 64-bit count")
        }
    }

    /// Floats in one meta-batch's support and query images together (B × N × (K + Q) ×
    /// `imageElements`), or `nil` when that overflows `Int`: the loader allocates buffers of
    /// this size, so it is checked before any is.
    public func batchElements(imageElements: Int) -> Int? {
        var total = 1
        let (perClass, o) = shots.addingReportingOverflow(queries)
        guard !o else { return nil }
        for factor in [metaBatchSize, ways, perClass, imageElements] {
            let (p, overflow) = total.multipliedReportingOverflow(by: factor)
            guard !overflow else { return nil }
            total = p
        }
        return total
    }
}

/// One example of an episode: which image, and the episode-local label it carries.
public struct EpisodeItem: Sendable, Hashable {
    /// Class index in the dataset.
    public var classIndex: Int
    /// Image index within the class.
    public var imageIndex: Int
    /// Episode label in `0..<ways`.
    public var label: Int

    /// Creates an item.
    public init(classIndex: Int, imageIndex: Int, label: Int) {
        self.classIndex = classIndex
        self.imageIndex = imageIndex
        self.label = label
    }
}

/// One few-shot task. Items are class-major: label 0's examples first, then label 1's, ...
public struct Episode: Sendable, Hashable {
    /// `classes[label]` is the dataset class behind episode label `label`.
    public var classes: [Int]
    /// `ways * shots` support items, class-major.
    public var support: [EpisodeItem]
    /// `ways * queries` query items, class-major.
    public var query: [EpisodeItem]

    /// Creates an episode.
    public init(classes: [Int], support: [EpisodeItem], query: [EpisodeItem]) {
        self.classes = classes
        self.support = support
        self.query = query
    }
}

/// A meta-batch of B image-classification episodes, in the layout the compiled step takes.
///
/// All arrays are flattened row-major:
/// - `supportX`: `[B, N*K, C, H, W]` Float, `supportY`: `[B, N*K]` Int32
/// - `queryX`: `[B, N*Q, C, H, W]` Float, `queryY`: `[B, N*Q]` Int32
///
/// Within a task, examples are class-major (label 0's K shots, then label 1's, ...).
public struct MetaBatch: Sendable, Equatable {
    /// Index of this meta-batch in its stream (meta-batch `i` holds episodes `i*B ..< i*B+batchSize`).
    public let index: Int
    /// B: number of tasks in this batch (the last batch of a manifest may be smaller).
    public let batchSize: Int
    /// N, K, Q.
    public let ways: Int, shots: Int, queries: Int
    /// C, H, W of one example.
    public let imageShape: ImageShape
    /// Support images `[B, N*K, C, H, W]`.
    public let supportX: [Float]
    /// Support labels `[B, N*K]`.
    public let supportY: [Int32]
    /// Query images `[B, N*Q, C, H, W]`.
    public let queryX: [Float]
    /// Query labels `[B, N*Q]`.
    public let queryY: [Int32]
    /// The episodes this batch was assembled from.
    public let episodes: [Episode]

    /// `[B, N*K, C, H, W]`.
    public var supportXShape: [Int] { [batchSize, ways * shots] + imageShape.dims }
    /// `[B, N*K]`.
    public var supportYShape: [Int] { [batchSize, ways * shots] }
    /// `[B, N*Q, C, H, W]`.
    public var queryXShape: [Int] { [batchSize, ways * queries] + imageShape.dims }
    /// `[B, N*Q]`.
    public var queryYShape: [Int] { [batchSize, ways * queries] }
}

/// A meta-batch of B sinusoid regression tasks (MAML's toy problem).
///
/// Layout (flattened row-major, Float): `supportX`/`supportY` `[B, K, 1]`,
/// `queryX`/`queryY` `[B, Q, 1]`.
public struct SinusoidBatch: Sendable, Equatable {
    /// Index of this batch in its stream.
    public let index: Int
    /// B, K, Q.
    public let batchSize: Int, shots: Int, queries: Int
    /// Inputs `[B, K, 1]`.
    public let supportX: [Float]
    /// Targets `[B, K, 1]`.
    public let supportY: [Float]
    /// Inputs `[B, Q, 1]`.
    public let queryX: [Float]
    /// Targets `[B, Q, 1]`.
    public let queryY: [Float]
    /// Amplitude of each task, `[B]`.
    public let amplitudes: [Float]
    /// Phase of each task, `[B]`.
    public let phases: [Float]
}
