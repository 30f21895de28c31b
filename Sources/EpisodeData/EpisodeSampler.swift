/// Samples N-way K-shot episodes from a ``ClassDataset`` and assembles them into
/// ``MetaBatch``es, either at random (seeded) or from a fixed list (an ``EpisodeManifest``).
///
/// Random episode `i` is a pure function of `(seed, i)`: it uses its own
/// ``Xoshiro256`` stream, so any subset of episodes can be produced in any order, on any
/// thread, with identical results. The N classes are drawn without replacement in random
/// order, which is a random permutation of the chosen classes: label `l` is given to the
/// `l`-th class drawn. For each class, K + Q distinct images are drawn; the first K are
/// support examples, the rest queries.
///
/// Meta-batch `j` holds episodes `j*B ..< (j+1)*B`.
public struct EpisodeSampler<Dataset: ClassDataset>: Sendable {
    /// The class dataset episodes are drawn from.
    public let dataset: Dataset
    /// N, K, Q, B.
    public let config: EpisodeConfig
    /// The seed of random sampling (unused with fixed episodes).
    public let seed: UInt64
    /// Fixed episodes (from a manifest), used instead of random sampling when non-nil.
    public let fixedEpisodes: [Episode]?

    /// A random sampler.
    /// - Throws: ``DataError`` `.invalidArgument` if the configuration is invalid, the dataset
    ///   has fewer than N classes, or a class has fewer than K + Q images.
    public init(dataset: Dataset, config: EpisodeConfig, seed: UInt64) throws {
        try config.validate()
        try Self.checkBatchSize(config, dataset)
        guard dataset.numClasses >= config.ways else {
            throw DataError(.invalidArgument, path: "",
                            "\(config.ways)-way episodes need at least \(config.ways) classes; dataset has \(dataset.numClasses)")
        }
        let needed = config.shots + config.queries
        for c in 0..<dataset.numClasses where dataset.imageCount(ofClass: c) < needed {
            throw DataError(.invalidArgument, path: "",
                            "class \(dataset.className(c)) has \(dataset.imageCount(ofClass: c)) images; "
                            + "\(config.shots) shots + \(config.queries) queries need \(needed)")
        }
        self.dataset = dataset
        self.config = config
        self.seed = seed
        self.fixedEpisodes = nil
    }

    /// A sampler that replays `episodes` (which must match `config`'s N, K, Q and be class-major).
    /// - Throws: ``DataError`` `.invalidArgument` if an episode does not fit the configuration or dataset.
    public init(dataset: Dataset, config: EpisodeConfig, episodes: [Episode]) throws {
        try config.validate()
        try Self.checkBatchSize(config, dataset)
        for (e, episode) in episodes.enumerated() {
            guard episode.support.count == config.ways * config.shots,
                  episode.query.count == config.ways * config.queries else {
                throw DataError(.invalidArgument, path: "", "episode \(e) does not have the shape \(config)")
            }
            for item in episode.support + episode.query {
                guard item.classIndex >= 0, item.classIndex < dataset.numClasses,
                      item.imageIndex >= 0, item.imageIndex < dataset.imageCount(ofClass: item.classIndex),
                      item.label >= 0, item.label < config.ways else {
                    throw DataError(.invalidArgument, path: "", "episode \(e) has an item out of range: \(item)")
                }
            }
        }
        self.dataset = dataset
        self.config = config
        self.seed = 0
        self.fixedEpisodes = episodes
    }

    /// Number of meta-batches available: nil (unbounded) for random sampling; for fixed
    /// episodes `ceil(episodes / B)` (the last batch may hold fewer than B tasks).
    public var metaBatchCount: Int? {
        fixedEpisodes.map { ($0.count + config.metaBatchSize - 1) / config.metaBatchSize }
    }

    /// Episode `index` (random: any `index >= 0`; fixed: `0..<episodes.count`).
    /// - Throws: ``DataError`` `.invalidArgument` for an index out of range.
    public func episode(at index: Int) throws -> Episode {
        guard index >= 0 else {
            throw DataError(.invalidArgument, path: "", "episode index \(index) is negative")
        }
        if let fixed = fixedEpisodes {
            guard index < fixed.count else {
                throw DataError(.invalidArgument, path: "", "episode \(index) out of range 0..<\(fixed.count)")
            }
            return fixed[index]
        }
        var rng = Xoshiro256(seed: seed, stream: UInt64(index))
        let classes = rng.sample(config.ways, from: dataset.numClasses)
        var support: [EpisodeItem] = []
        var query: [EpisodeItem] = []
        support.reserveCapacity(config.ways * config.shots)
        query.reserveCapacity(config.ways * config.queries)
        for (label, c) in classes.enumerated() {
            let picks = rng.sample(config.shots + config.queries, from: dataset.imageCount(ofClass: c))
            for (j, image) in picks.enumerated() {
                let item = EpisodeItem(classIndex: c, imageIndex: image, label: label)
                if j < config.shots { support.append(item) } else { query.append(item) }
            }
        }
        return Episode(classes: classes, support: support, query: query)
    }

    /// Assembles meta-batch `index` (episodes `index*B ..< index*B + B`).
    /// - Throws: ``DataError`` `.invalidArgument` if `index` is negative or past the fixed episodes.
    public func metaBatch(at index: Int) throws -> MetaBatch {
        try metaBatch(at: index, pool: nil)
    }

    /// Assembles meta-batch `index`, taking image buffers from `pool` when given
    /// (see ``FloatBufferPool``); the result is identical either way.
    /// - Throws: ``DataError`` `.invalidArgument` if `index` is negative or past the fixed episodes.
    public func metaBatch(at index: Int, pool: FloatBufferPool?) throws -> MetaBatch {
        let b = config.metaBatchSize
        guard index >= 0 else {
            throw DataError(.invalidArgument, path: "", "meta-batch index \(index) is negative")
        }
        let first = index * b
        var count = b
        if let fixed = fixedEpisodes {
            guard first < fixed.count else {
                throw DataError(.invalidArgument, path: "",
                                "meta-batch \(index) out of range 0..<\(metaBatchCount ?? 0)")
            }
            count = min(b, fixed.count - first)
        }
        let episodes = try (first..<(first + count)).map { try episode(at: $0) }
        return assemble(episodes, index: index, pool: pool)
    }

    /// Refuses a configuration whose meta-batch buffers would not have a countable size.
    static func checkBatchSize(_ config: EpisodeConfig, _ dataset: Dataset) throws {
        guard let imageElements = dataset.imageShape.checkedCount, imageElements > 0,
              config.batchElements(imageElements: imageElements) != nil else {
            throw DataError(.invalidArgument, path: "",
                            "\(config) episodes of \(dataset.imageShape) images need more floats than fit in a 64-bit count")
        }
    }

    /// Builds a ``MetaBatch`` from episodes of this sampler's shape, taking image buffers
    /// from `pool` when given.
    public func assemble(_ episodes: [Episode], index: Int, pool: FloatBufferPool? = nil) -> MetaBatch {
        let n = config.ways, k = config.shots, q = config.queries
        let shape = dataset.imageShape
        let (sx, sy) = gather(episodes.map(\.support), perTask: n * k, shape: shape, pool: pool)
        let (qx, qy) = gather(episodes.map(\.query), perTask: n * q, shape: shape, pool: pool)
        return MetaBatch(index: index, batchSize: episodes.count, ways: n, shots: k, queries: q,
                         imageShape: shape, supportX: sx, supportY: sy, queryX: qx, queryY: qy,
                         episodes: episodes)
    }

    private func gather(_ tasks: [[EpisodeItem]], perTask: Int, shape: ImageShape,
                        pool: FloatBufferPool?) -> ([Float], [Int32]) {
        let stride = shape.count
        let total = tasks.count * perTask
        var labels = [Int32](repeating: 0, count: total)
        func fill(_ base: UnsafeMutablePointer<Float>) {
            for (t, items) in tasks.enumerated() {
                for (i, item) in items.prefix(perTask).enumerated() {
                    let slot = t * perTask + i
                    dataset.copyImage(classIndex: item.classIndex, imageIndex: item.imageIndex,
                                      into: base + slot * stride)
                    labels[slot] = Int32(item.label)
                }
            }
        }
        if let pool {
            var images = pool.take(count: total * stride)
            images.withUnsafeMutableBufferPointer { buffer in
                if let base = buffer.baseAddress { fill(base) }
            }
            return (images, labels)
        }
        let images = [Float](unsafeUninitializedCapacity: total * stride) { buffer, initialized in
            guard let base = buffer.baseAddress else { initialized = 0; return }
            fill(base)
            initialized = total * stride
        }
        return (images, labels)
    }

    /// A streaming loader producing this sampler's meta-batches `0, 1, 2, ...` in order
    /// (bounded by ``metaBatchCount`` for fixed episodes, or by `count` if given).
    ///
    /// With a `pool`, batch buffers are taken from it; give them back with
    /// ``MetaBatch/recycle(into:)`` after use to avoid fresh allocations.
    public func makeLoader(threads: Int = 2, capacity: Int = 4, count: Int? = nil, start: Int = 0,
                           pool: FloatBufferPool? = nil) throws -> StreamingLoader<MetaBatch> {
        let limit: Int?
        switch (metaBatchCount, count) {
        case let (a?, b?): limit = min(a, b)
        case let (a?, nil): limit = a
        case let (nil, b): limit = b
        }
        let sampler = self
        return try StreamingLoader(threads: threads, capacity: capacity, count: limit, start: start) { index in
            try sampler.metaBatch(at: index, pool: pool)
        }
    }
}
