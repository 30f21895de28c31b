import Foundation

/// One source of a multi-source benchmark: a class dataset and, where classes form a
/// hierarchy (Omniglot's alphabets), the groups an episode's classes are drawn within.
public struct EpisodeSourceData: Sendable {
    /// The source's name (`omniglot`, `fashion-mnist`, …).
    public var name: String
    /// Its classes (already resized to the benchmark's image size).
    public var dataset: any ClassDataset
    /// Class groups an episode stays within (Omniglot: one per alphabet); nil: all classes.
    public var groups: [[Int]]?

    /// Creates a source.
    public init(name: String, dataset: any ClassDataset, groups: [[Int]]? = nil) {
        self.name = name
        self.dataset = dataset
        self.groups = groups
    }
}

/// A variable-shape episode: its source, and per-class support and query items (class-major).
public struct VariableEpisode: Sendable, Hashable {
    /// Index of the source in the sampler's `sources`.
    public var source: Int
    /// `classes[label]` is the dataset class behind episode label `label`.
    public var classes: [Int]
    /// Support items, class-major; class `l` has `shots[l]` of them.
    public var support: [EpisodeItem]
    /// Query items, class-major, `queriesPerClass` per class.
    public var query: [EpisodeItem]
    /// Support examples of each class.
    public var shots: [Int]
    /// Query examples per class (the same for every class).
    public var queriesPerClass: Int

    /// Classes in the episode.
    public var ways: Int { classes.count }
}

/// The episode sampler of Meta-Dataset (Triantafillou et al. 2020, §3.2 and appendix):
///
/// 1. a source, uniformly per episode; for a source with groups (Omniglot), a group
///    uniformly among those with at least ``minimumWays`` classes;
/// 2. ways N uniform in `[5, min(50, classes available)]`, N distinct classes;
/// 3. queries per class `q = min(10, ⌊min_c n_c / 2⌋)` over the chosen classes;
/// 4. support size `S = min(500, Σ_c ⌈β·min(100, n_c − q)⌉)`, β ~ U(0, 1);
/// 5. shots `k_c = min(⌊R_c·(S − N)⌋ + 1, n_c − q)` with `R_c ∝ n_c·e^{α_c}`,
///    α_c ~ U(log 0.5, log 2): proportional to the class size, perturbed, at least 1;
/// 6. each class's images shuffled: the first `k_c` support, the next `q` queries.
///
/// Episode `i` is a pure function of `(seed, i)` (its own ``Xoshiro256`` stream).
public struct MetaDatasetSampler: Sendable {
    /// Fewest classes in an episode.
    public static let minimumWays = 5
    /// Most classes in an episode.
    public static let maximumWays = 50
    /// Most queries per class.
    public static let maximumQueries = 10
    /// Largest support set.
    public static let maximumSupport = 500
    /// Most support images a class contributes to the support-size draw.
    public static let maximumShotsPerClass = 100

    /// The sources.
    public let sources: [EpisodeSourceData]
    /// The sampling seed.
    public let seed: UInt64
    /// For each source, the class groups eligible for an episode (at least 5 classes).
    private let eligibleGroups: [[[Int]]]

    /// Prepares sampling from `sources`.
    /// - Throws: ``DataError`` `.invalidArgument` naming the source when there are none, a
    ///   source (or every group of it) has fewer than 5 classes, or a class has fewer than 2
    ///   images (one support and one query); all before any episode is drawn.
    public init(sources: [EpisodeSourceData], seed: UInt64) throws {
        guard !sources.isEmpty else {
            throw DataError(.invalidArgument, path: "", "a multi-source sampler needs at least one source")
        }
        var eligible: [[[Int]]] = []
        for s in sources {
            let d = s.dataset
            for c in 0..<d.numClasses where d.imageCount(ofClass: c) < 2 {
                throw DataError(.invalidArgument, path: s.name,
                                "source '\(s.name)' cannot supply an episode: class \(d.className(c)) has \(d.imageCount(ofClass: c)) images; each class needs at least 2 (a support and a query image)")
            }
            let groups = (s.groups ?? [Array(0..<d.numClasses)]).filter { $0.count >= Self.minimumWays }
            guard !groups.isEmpty else {
                let sizes = (s.groups ?? [Array(0..<d.numClasses)]).map(\.count)
                throw DataError(.invalidArgument, path: s.name,
                                "source '\(s.name)' cannot supply an episode: episodes need at least \(Self.minimumWays) classes"
                                + (s.groups == nil ? ", it has \(d.numClasses)" : " in one group, its groups have \(sizes)"))
            }
            eligible.append(groups)
        }
        self.sources = sources
        self.seed = seed
        self.eligibleGroups = eligible
    }

    /// Episode `index` (any `index >= 0`).
    /// - Throws: ``DataError`` `.invalidArgument` for a negative index.
    public func episode(at index: Int) throws -> VariableEpisode {
        guard index >= 0 else {
            throw DataError(.invalidArgument, path: "", "episode index \(index) is negative")
        }
        var rng = Xoshiro256(seed: seed, stream: UInt64(index))
        let source = rng.nextInt(below: sources.count)
        let d = sources[source].dataset
        let groups = eligibleGroups[source]
        let pool = groups[rng.nextInt(below: groups.count)]
        let maxWays = min(Self.maximumWays, pool.count)
        let ways = Self.minimumWays + rng.nextInt(below: maxWays - Self.minimumWays + 1)
        let classes = rng.sample(ways, from: pool.count).map { pool[$0] }
        let sizes = classes.map { d.imageCount(ofClass: $0) }
        let q = min(Self.maximumQueries, (sizes.min() ?? 0) / 2)
        let beta = rng.nextUnit()
        let wanted = sizes.reduce(0) { $0 + Int((beta * Double(min(Self.maximumShotsPerClass, $1 - q))).rounded(.up)) }
        let supportSize = min(Self.maximumSupport, wanted)
        let weights = sizes.map { Double($0) * exp(rng.nextDouble(in: log(0.5), log(2))) }
        let total = weights.reduce(0, +)
        let spare = max(0, supportSize - ways)
        var support: [EpisodeItem] = [], query: [EpisodeItem] = [], shots: [Int] = []
        for (label, c) in classes.enumerated() {
            let k = min(Int(weights[label] / total * Double(spare)) + 1, sizes[label] - q)
            let picks = rng.sample(k + q, from: sizes[label])
            for (j, image) in picks.enumerated() {
                let item = EpisodeItem(classIndex: c, imageIndex: image, label: label)
                if j < k { support.append(item) } else { query.append(item) }
            }
            shots.append(k)
        }
        return VariableEpisode(source: source, classes: classes, support: support, query: query,
                               shots: shots, queriesPerClass: q)
    }

    /// The same sampler over source `index` alone (its own seed), for per-source evaluation.
    /// - Throws: ``DataError`` `.invalidArgument` for an index out of range.
    public func restricted(to index: Int, seed: UInt64) throws -> MetaDatasetSampler {
        guard sources.indices.contains(index) else {
            throw DataError(.invalidArgument, path: "", "source \(index) out of range 0..<\(sources.count)")
        }
        return try MetaDatasetSampler(sources: [sources[index]], seed: seed)
    }
}
