import Foundation

/// Something that turns a text into `length` token ids (-1 at padding) and a mask.
public protocol TextEncoding: Sendable {
    /// Rows of the embedding table the ids index (unknown token included).
    var vocabularySize: Int { get }
    /// `text`'s ids, cut or padded to `length`, and the mask (1 for a token, 0 for padding).
    func encode(_ text: String, length: Int) -> (ids: [Int32], mask: [Float])
}

extension WordTokenizer: TextEncoding {}
extension CharacterTokenizer: TextEncoding {}

/// The two few-shot text sources.
public enum TextSource: String, Sendable, Codable, CaseIterable {
    /// WordNet glosses (sentences, word tokens), one class per lexicographer file.
    case wordnet
    /// Hunspell words (character tokens), one class per language.
    case langid
}

/// The classes of one split of a text source: a name and the texts of each class.
public struct TextClasses: Sendable {
    /// Class names (`"26"` for WordNet's lexicographer file 26, `"pl"` for Polish).
    public var names: [String]
    /// The texts of each class, in ``names`` order.
    public var examples: [[String]]

    /// Creates a class pool.
    public init(names: [String], examples: [[String]]) {
        self.names = names
        self.examples = examples
    }
}

/// A text source read once: its three splits and the tokeniser built from meta-train text.
public struct TextCorpus: Sendable {
    /// Which source.
    public var source: TextSource
    /// Meta-train classes.
    public var train: TextClasses
    /// Validation classes.
    public var validation: TextClasses
    /// Meta-test classes.
    public var test: TextClasses
    /// The tokeniser (vocabulary or alphabet from ``train`` only).
    public var tokenizer: any TextEncoding

    /// The classes of `split`.
    public func classes(_ split: WordNetGlosses.Split) -> TextClasses {
        switch split {
        case .train: return train
        case .validation: return validation
        case .test: return test
        }
    }

    /// The WordNet vocabulary rule: words seen at least this often in meta-train glosses.
    public static let wordMinCount = 2
    /// The WordNet vocabulary rule: at most this many words (the most frequent).
    public static let wordMaxVocabulary = 8000

    /// Reads `source` from `directory` (nil: its Debian location) and builds the tokeniser.
    /// Deterministic: the same files always give the same classes and token ids, so
    /// `metajit eval` rebuilds exactly the training vocabulary.
    /// - Throws: ``DataError`` of the reader (missing files name the install command).
    public static func load(_ source: TextSource, directory: String? = nil) throws -> TextCorpus {
        switch source {
        case .wordnet:
            let wn = try WordNetGlosses(directory: directory ?? WordNetGlosses.defaultDirectory)
            func pool(_ s: WordNetGlosses.Split) -> TextClasses {
                let by = wn.byCategory(in: s)
                let keys = by.keys.sorted()
                return TextClasses(names: keys.map(String.init), examples: keys.map { by[$0] ?? [] })
            }
            let train = pool(.train)
            let tokenizer = WordTokenizer(corpus: train.examples.flatMap { $0 }, minCount: wordMinCount, maxSize: wordMaxVocabulary)
            return TextCorpus(source: source, train: train, validation: pool(.validation), test: pool(.test), tokenizer: tokenizer)
        case .langid:
            let lw = try LanguageWords(directory: directory ?? LanguageWords.defaultDirectory)
            func pool(_ s: WordNetGlosses.Split) -> TextClasses {
                let by = lw.byLanguage(in: s)
                let keys = by.keys.sorted()
                return TextClasses(names: keys.map { lw.languages[$0] }, examples: keys.map { by[$0] ?? [] })
            }
            let train = pool(.train)
            let tokenizer = CharacterTokenizer(corpus: train.examples.flatMap { $0 })
            return TextCorpus(source: source, train: train, validation: pool(.validation), test: pool(.test), tokenizer: tokenizer)
        }
    }
}

/// The shape of a text episode.
public struct TextEpisodeConfig: Sendable, Codable, Equatable {
    /// Classes per episode.
    public var ways: Int
    /// Support texts per class.
    public var shots: Int
    /// Query texts per class.
    public var queries: Int
    /// Tokens per text (cut or padded).
    public var length: Int

    /// Creates a configuration.
    public init(ways: Int, shots: Int, queries: Int, length: Int) {
        self.ways = ways
        self.shots = shots
        self.queries = queries
        self.length = length
    }
}

/// Episodes stacked on axis 0: `support` `[B, N·K, T]` class-major (row `r` has label
/// `r / K`), `query` `[B, N·Q, T]` class-major, masks alike, `queryLabels` `[B, N·Q]`.
public struct TextBatch: Sendable, Equatable {
    /// Index of the batch in its stream.
    public var index: Int
    /// Episodes in the batch.
    public var batchSize: Int
    /// Episode shape.
    public var config: TextEpisodeConfig
    /// Support token ids, -1 at padding.
    public var support: [Int32]
    /// Support mask (1 token, 0 padding).
    public var supportMask: [Float]
    /// Query token ids.
    public var query: [Int32]
    /// Query mask.
    public var queryMask: [Float]
    /// Query labels (`0..<N`).
    public var queryLabels: [Int32]
    /// The class (index into the pool) of each way of each episode, `[B, N]`.
    public var classes: [Int]
    /// The raw texts, support then query per episode, in row order (for baselines).
    public var supportTexts: [String]
    /// Query texts in row order.
    public var queryTexts: [String]

    /// Creates a batch; the arrays default to empty, to be appended to.
    public init(index: Int, batchSize: Int, config: TextEpisodeConfig, support: [Int32] = [], supportMask: [Float] = [],
                query: [Int32] = [], queryMask: [Float] = [], queryLabels: [Int32] = [], classes: [Int] = [],
                supportTexts: [String] = [], queryTexts: [String] = []) {
        self.index = index
        self.batchSize = batchSize
        self.config = config
        self.support = support
        self.supportMask = supportMask
        self.query = query
        self.queryMask = queryMask
        self.queryLabels = queryLabels
        self.classes = classes
        self.supportTexts = supportTexts
        self.queryTexts = queryTexts
    }

    /// `[B, N·K, T]`.
    public var supportShape: [Int] { [batchSize, config.ways * config.shots, config.length] }
    /// `[B, N·Q, T]`.
    public var queryShape: [Int] { [batchSize, config.ways * config.queries, config.length] }
    /// `[B, N·Q]`.
    public var labelShape: [Int] { [batchSize, config.ways * config.queries] }
}

/// The seeded N-way K-shot sampler shared by both text sources.
///
/// Episode `e` is a pure function of `(seed, e)` (its own ``Xoshiro256`` stream): `N`
/// distinct classes in random order, then per class `K + Q` distinct texts, the first `K`
/// support and the rest query. Batch `i` holds episodes `i·B ..< (i+1)·B`, so any number of
/// loader threads gives the same stream. Classes with fewer than `K + Q` texts are left out
/// (WordNet's smallest lexicographer files); fewer than `N` usable classes is an error.
public struct TextEpisodeSampler: Sendable {
    /// The class pool.
    public let classes: TextClasses
    /// The tokeniser.
    public let tokenizer: any TextEncoding
    /// Episode shape.
    public let config: TextEpisodeConfig
    /// Stream seed.
    public let seed: UInt64
    /// Indices (into ``classes``) of the classes with enough texts.
    public let usable: [Int]

    /// Creates a sampler.
    /// - Throws: ``DataError`` `invalidArgument` for a non-positive shape or fewer than
    ///   `ways` classes with `shots + queries` texts.
    public init(classes: TextClasses, tokenizer: any TextEncoding, config: TextEpisodeConfig, seed: UInt64) throws {
        guard config.ways >= 1, config.shots >= 1, config.queries >= 1, config.length >= 1 else {
            throw DataError(.invalidArgument, path: "", "text episodes need ways, shots, queries and length >= 1, got \(config)")
        }
        let need = config.shots + config.queries
        usable = classes.examples.indices.filter { classes.examples[$0].count >= need }
        guard usable.count >= config.ways else {
            throw DataError(.invalidArgument, path: "",
                            "\(config.ways)-way episodes need \(config.ways) classes with \(need) texts each; only \(usable.count) of \(classes.names.count) have them")
        }
        self.classes = classes
        self.tokenizer = tokenizer
        self.config = config
        self.seed = seed
    }

    /// Episode `e`: its classes and its support and query texts, class-major.
    public func texts(ofEpisode e: Int) -> (classes: [Int], support: [String], query: [String]) {
        var rng = Xoshiro256(seed: seed, stream: UInt64(e))
        let picked = rng.sample(config.ways, from: usable.count).map { usable[$0] }
        var support: [String] = [], query: [String] = []
        for c in picked {
            let pool = classes.examples[c]
            let rows = rng.sample(config.shots + config.queries, from: pool.count)
            support += rows.prefix(config.shots).map { pool[$0] }
            query += rows.dropFirst(config.shots).map { pool[$0] }
        }
        return (picked, support, query)
    }

    /// Batch `index` of `batchSize` episodes.
    public func batch(at index: Int, batchSize: Int = 1) -> TextBatch {
        var b = TextBatch(index: index, batchSize: batchSize, config: config)
        for j in 0..<batchSize {
            let (picked, support, query) = texts(ofEpisode: index * batchSize + j)
            for s in support {
                let (ids, mask) = tokenizer.encode(s, length: config.length)
                b.support += ids
                b.supportMask += mask
            }
            for (r, s) in query.enumerated() {
                let (ids, mask) = tokenizer.encode(s, length: config.length)
                b.query += ids
                b.queryMask += mask
                b.queryLabels.append(Int32(r / config.queries))
            }
            b.classes += picked
            b.supportTexts += support
            b.queryTexts += query
        }
        return b
    }

    /// A background loader of batches `start, start+1, …` (see ``StreamingLoader``).
    public func makeLoader(batchSize: Int, threads: Int = 2, capacity: Int = 4, count: Int? = nil,
                           start: Int = 0) throws -> StreamingLoader<TextBatch> {
        let me = self
        return try StreamingLoader(threads: threads, capacity: capacity, count: count, start: start) { i in
            me.batch(at: i, batchSize: batchSize)
        }
    }
}
