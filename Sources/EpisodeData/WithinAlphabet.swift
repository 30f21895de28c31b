import Foundation

/// Within-alphabet few-shot episodes, the harder Omniglot protocol of Lake et al. (2015):
/// every episode draws its N classes from a single alphabet, and its support and query
/// images come from different drawers.
///
/// Every Omniglot character was drawn once by each of 20 people; an image's drawer is the
/// number after the last `_` of its file name (`0123_04.png` → drawer `04`). Episode `i` is a
/// pure function of `(seed, i)` (its own ``Xoshiro256`` stream):
///
/// 1. an alphabet, uniformly among the alphabets with at least N characters (smaller ones
///    cannot supply an N-way episode and are skipped);
/// 2. N distinct characters of it, in random order (label `l` is the `l`-th drawn);
/// 3. K + Q distinct drawers among those who drew all N characters: the first K draw the
///    support images, the other Q the query images, of every class of the episode (as in
///    Lake et al., where one drawer supplies the 20 training and another the 20 test images).
///
/// The episodes are class-major, the order ``MetaBatch`` and ``EpisodeManifest`` use.
public struct WithinAlphabetSampler: Sendable {
    /// The dataset (rotation 0 only: a class is a character).
    public let dataset: OmniglotDataset
    /// N, K, Q (and a meta-batch size, used when the episodes are replayed).
    public let config: EpisodeConfig
    /// The sampling seed.
    public let seed: UInt64
    /// The alphabets episodes are drawn from (those with at least N characters), sorted.
    public let eligibleAlphabets: [String]
    /// Alphabets of the dataset skipped for having fewer than N characters, with their counts.
    public let skippedAlphabets: [(name: String, characters: Int)]
    /// Class indices of each eligible alphabet, in dataset order.
    private let classesByAlphabet: [[Int]]
    /// For each class, drawer → image index.
    private let drawerImages: [[String: Int]]

    /// Prepares within-alphabet sampling from `dataset`.
    /// - Throws: ``DataError`` `.invalidArgument` if the configuration is invalid, the dataset
    ///   has rotations other than 0, a file name carries no drawer, a character has two
    ///   images by one drawer, or no alphabet has N characters (naming every alphabet and
    ///   its character count).
    public init(dataset: OmniglotDataset, config: EpisodeConfig, seed: UInt64) throws {
        try config.validate()
        guard dataset.rotations == [0] else {
            throw DataError(.invalidArgument, path: "",
                            "within-alphabet episodes use unrotated characters; dataset has rotations \(dataset.rotations)")
        }
        var byAlphabet: [String: [Int]] = [:]
        var drawers: [[String: Int]] = []
        for c in 0..<dataset.numClasses {
            let record = dataset.record(ofClass: c)
            byAlphabet[record.alphabet, default: []].append(c)
            var map: [String: Int] = [:]
            for (i, file) in record.fileNames.enumerated() {
                guard let drawer = Self.drawer(ofFile: file) else {
                    throw DataError(.invalidArgument, path: "\(record.key)/\(file)",
                                    "file name has no drawer number (expected <character>_<drawer>.png)")
                }
                guard map.updateValue(i, forKey: drawer) == nil else {
                    throw DataError(.invalidArgument, path: "\(record.key)/\(file)",
                                    "drawer \(drawer) has two images of character \(record.key)")
                }
            }
            drawers.append(map)
        }
        let names = dataset.alphabets
        let eligible = names.filter { (byAlphabet[$0]?.count ?? 0) >= config.ways }
        let skipped = names.filter { !eligible.contains($0) }.map { (name: $0, characters: byAlphabet[$0]?.count ?? 0) }
        guard !eligible.isEmpty else {
            let counts = names.map { "\($0) (\(byAlphabet[$0]?.count ?? 0) characters)" }.joined(separator: ", ")
            throw DataError(.invalidArgument, path: "",
                            "\(config.ways)-way within-alphabet episodes need an alphabet with at least \(config.ways) "
                            + "characters; the split has \(counts.isEmpty ? "no alphabets" : counts)")
        }
        self.dataset = dataset
        self.config = config
        self.seed = seed
        self.eligibleAlphabets = eligible
        self.skippedAlphabets = skipped
        self.classesByAlphabet = eligible.map { byAlphabet[$0] ?? [] }
        self.drawerImages = drawers
    }

    /// The drawer of an Omniglot image file name: the text between the last `_` and the
    /// extension (`0123_04.png` → `04`), or nil if there is none.
    public static func drawer(ofFile name: String) -> String? {
        let stem = name.split(separator: ".", omittingEmptySubsequences: false).first ?? ""
        guard let underscore = stem.lastIndex(of: "_") else { return nil }
        let drawer = stem[stem.index(after: underscore)...]
        return drawer.isEmpty ? nil : String(drawer)
    }

    /// The drawer of image `imageIndex` of class `classIndex`.
    public func drawer(classIndex: Int, imageIndex: Int) -> String? {
        Self.drawer(ofFile: dataset.record(ofClass: classIndex).fileNames[imageIndex])
    }

    /// Episode `index` (any `index >= 0`).
    /// - Throws: ``DataError`` `.invalidArgument` for a negative index, or when the chosen
    ///   characters have fewer than K + Q drawers in common.
    public func episode(at index: Int) throws -> Episode {
        guard index >= 0 else {
            throw DataError(.invalidArgument, path: "", "episode index \(index) is negative")
        }
        var rng = Xoshiro256(seed: seed, stream: UInt64(index))
        let a = rng.nextInt(below: classesByAlphabet.count)
        let pool = classesByAlphabet[a]
        let classes = rng.sample(config.ways, from: pool.count).map { pool[$0] }
        var common = Set(drawerImages[classes[0]].keys)
        for c in classes.dropFirst() { common.formIntersection(drawerImages[c].keys) }
        let needed = config.shots + config.queries
        let sortedDrawers = common.sorted()
        guard sortedDrawers.count >= needed else {
            throw DataError(.invalidArgument, path: "",
                            "episode \(index): the \(config.ways) characters drawn from \(eligibleAlphabets[a]) have "
                            + "\(sortedDrawers.count) drawers in common; \(config.shots) shots + \(config.queries) queries need \(needed)")
        }
        let picked = rng.sample(needed, from: sortedDrawers.count).map { sortedDrawers[$0] }
        let supportDrawers = picked.prefix(config.shots), queryDrawers = picked.dropFirst(config.shots)
        var support: [EpisodeItem] = [], query: [EpisodeItem] = []
        for (label, c) in classes.enumerated() {
            for d in supportDrawers {
                support.append(EpisodeItem(classIndex: c, imageIndex: drawerImages[c][d] ?? 0, label: label))
            }
            for d in queryDrawers {
                query.append(EpisodeItem(classIndex: c, imageIndex: drawerImages[c][d] ?? 0, label: label))
            }
        }
        return Episode(classes: classes, support: support, query: query)
    }

    /// A manifest of episodes `0..<count` (with this sampler's seed recorded).
    /// - Throws: ``DataError`` `.invalidArgument` if `count` is not positive or an episode cannot be drawn.
    public func manifest(count: Int, datasetName: String? = "omniglot") throws -> EpisodeManifest {
        guard count >= 1 else {
            throw DataError(.invalidArgument, path: "", "episode count must be at least 1, got \(count)")
        }
        let episodes = try (0..<count).map { try episode(at: $0) }
        let replay = try EpisodeSampler(dataset: dataset, config: config, episodes: episodes)
        var manifest = try replay.manifest(episodes: 0..<count, datasetName: datasetName)
        manifest.seed = seed
        return manifest
    }
}

extension EpisodeManifest {
    /// The alphabets (first path component of `<Alphabet>/<character>/<file>`, after any
    /// wrapper folder) of every item, sorted; for IDX manifests (numeric paths) empty.
    public var alphabets: [String] {
        var names = Set<String>()
        for entry in episodes {
            for item in entry.support + entry.query {
                let parts = item.path.split(separator: "/")
                if parts.count >= 3 { names.insert(String(parts[parts.count - 3])) }
            }
        }
        return names.sorted()
    }

    /// The distinct rotations the items use, sorted (0 first).
    public var rotations: [Int] {
        Set(episodes.flatMap { $0.support.map(\.rotation) + $0.query.map(\.rotation) }).sorted()
    }
}
