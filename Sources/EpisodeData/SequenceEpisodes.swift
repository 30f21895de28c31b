/// Mixed into the seed of the image jitter's streams, so they differ from the episodes'.
private let sequenceJitterSeedMask: UInt64 = 0x6A09_E667_F3BC_C909

/// 5⁰ … 5⁴, to read a string label's code as five base-5 digits (most significant first).
private let sequencePowersOf5 = [1, 5, 25, 125, 625]

/// How a sequence episode encodes class labels.
public enum SequenceLabelEncoding: String, Sendable, Hashable, Codable, CaseIterable {
    /// One group of `ways` one-hot entries: class `c` is entry `c`.
    case oneHot = "one-hot"
    /// Santoro et al.'s strings: each class of the episode gets a distinct random
    /// five-character string over {a, b, c, d, e}, encoded as five one-hot groups of five
    /// (25 values), so the model cannot bind classes to fixed output slots.
    case strings

    /// One-hot groups per label (1, or 5 for strings).
    public func groups(ways: Int) -> Int { self == .oneHot ? 1 : 5 }
    /// Entries per group (`ways`, or 5 for strings).
    public func alphabet(ways: Int) -> Int { self == .oneHot ? ways : 5 }
    /// Values per encoded label.
    public func width(ways: Int) -> Int { groups(ways: ways) * alphabet(ways: ways) }
}

/// Where a sequence episode shows each step's label.
public enum SequenceLayout: String, Sendable, Hashable, Codable, CaseIterable {
    /// Santoro et al. 2016: N classes × S samples shuffled; step `t` carries image `t` and
    /// the label of step `t − 1` (zeros at `t = 0`), and every step is scored.
    case delayedLabels = "delayed"
    /// Mishra et al. 2018: N·K labelled support steps in random order, each carrying its own
    /// label, then one unlabelled query (label input zeros) from one of the N classes,
    /// scored alone (`T = N·K + 1`).
    case supportThenQuery = "support-query"
}

/// The shape of a sequence episode batch.
public struct SequenceEpisodeConfig: Sendable, Hashable, Codable {
    /// Classes per episode.
    public var ways: Int
    /// Samples per class (delayed layout) or shots per class (support-then-query).
    public var samplesPerClass: Int
    /// Episodes per batch.
    public var batchSize: Int
    /// Label encoding.
    public var encoding: SequenceLabelEncoding
    /// Label layout.
    public var layout: SequenceLayout

    /// Creates a configuration.
    public init(ways: Int, samplesPerClass: Int, batchSize: Int, encoding: SequenceLabelEncoding = .oneHot,
                layout: SequenceLayout = .delayedLabels) {
        self.ways = ways
        self.samplesPerClass = samplesPerClass
        self.batchSize = batchSize
        self.encoding = encoding
        self.layout = layout
    }

    /// Steps per episode: `N·S`, or `N·K + 1` with a trailing query.
    public var length: Int { ways * samplesPerClass + (layout == .supportThenQuery ? 1 : 0) }
    /// Values per encoded label.
    public var labelWidth: Int { encoding.width(ways: ways) }
    /// Target indices per step (1, or 5 characters).
    public var labelGroups: Int { encoding.groups(ways: ways) }
}

/// One stage of a class curriculum: for `batches` batches, each episode shows only
/// `classes` distinct classes, spread over the episode's steps and over random label slots
/// of the full `ways`.
///
/// Why: a sequence learner must first discover that it can copy the label of the support
/// step that looks like the query. With 20 classes of one shot each, the matching support is
/// one step in 21 and the signal to find it is weak; SNAIL 20-way stayed at chance for
/// 128,000 episodes (see `Benchmarks/results/snail20-2026-12-04.md`). With 5 classes in the
/// same 21 steps, 4 supports match the query. Shapes do not change (T, the label width and
/// every parameter are the full task's), so the model trained in the easy stages is the
/// model of the hard one.
public struct SequenceCurriculumStage: Sendable, Hashable, Codable {
    /// Distinct classes per episode in this stage (at most the configuration's ways).
    public var classes: Int
    /// Batches this stage lasts.
    public var batches: Int

    /// Creates a stage.
    public init(classes: Int, batches: Int) {
        self.classes = classes
        self.batches = batches
    }

    /// Parses `C:B[,C:B…]` (classes:batches per stage), e.g. `5:1500,10:1500`.
    /// - Throws: ``DataError`` `.invalidArgument` naming the stage that does not parse.
    public static func parse(_ text: String) throws -> [SequenceCurriculumStage] {
        guard !text.isEmpty else {
            throw DataError(.invalidArgument, path: "", "a curriculum needs at least one CLASSES:BATCHES stage (e.g. 5:1500,10:1500)")
        }
        return try text.split(separator: ",", omittingEmptySubsequences: false).map { part in
            let fields = part.split(separator: ":")
            guard fields.count == 2, let c = Int(fields[0]), let b = Int(fields[1]), c >= 1, b >= 1 else {
                throw DataError(.invalidArgument, path: "", "curriculum stage '\(part)' is not CLASSES:BATCHES with both at least 1 (e.g. 5:1500,10:1500)")
            }
            return SequenceCurriculumStage(classes: c, batches: b)
        }
    }
}

/// One batch of sequence episodes, flattened row-major with episodes on axis 0.
public struct SequenceBatch: Sendable, Equatable {
    /// Batch number (the loader's index).
    public var index: Int
    /// The configuration it was drawn with.
    public var config: SequenceEpisodeConfig
    /// The image shape of every step.
    public var imageShape: ImageShape
    /// Images `[B, T, C, H, W]`.
    public var images: [Float]
    /// The label input of every step `[B, T, labelWidth]` (the previous step's label in the
    /// delayed layout; the step's own label, zeros at the query, in support-then-query).
    public var labelInputs: [Float]
    /// The target of every step `[B, T, labelGroups]`: the class (one-hot) or the five
    /// characters (strings).
    public var targets: [Int32]
    /// The episode-local class (0..<N) of every step `[B, T]`.
    public var classes: [Int]
    /// Which presentation of its class each step is (1 = first) `[B, T]`.
    public var instances: [Int]
}

/// Draws sequence episodes from a ``ClassDataset``: seeded, reproducible, and independent of
/// how many loader threads make them (episode `i` is a pure function of `(seed, i)`).
public struct SequenceEpisodeSampler<Dataset: ClassDataset>: Sendable {
    /// The classes drawn from.
    public let dataset: Dataset
    /// Episode shape.
    public let config: SequenceEpisodeConfig
    /// The seed.
    public let seed: UInt64
    /// Easier stages before the full task (empty: the full task from the first batch).
    public let curriculum: [SequenceCurriculumStage]
    /// Random rotation and translation of every image (nil: none). Drawn from a stream of
    /// its own, so the episodes (classes, images, order, labels) are those drawn without it.
    public let jitter: ImageJitter?

    /// Checks that `dataset` can supply every episode.
    /// - Throws: ``DataError`` `.invalidArgument` for counts below 1, fewer classes than
    ///   ways, classes with too few images, more string-encoded ways than distinct strings,
    ///   or a curriculum stage with more classes than ways or more steps per class than a
    ///   class has images.
    public init(dataset: Dataset, config: SequenceEpisodeConfig, seed: UInt64,
                curriculum: [SequenceCurriculumStage] = [], jitter: ImageJitter? = nil) throws {
        guard config.ways >= 1, config.samplesPerClass >= 1, config.batchSize >= 1 else {
            throw DataError(.invalidArgument, path: "", "sequence episodes need ways, samples per class and batch size of at least 1, got \(config.ways), \(config.samplesPerClass), \(config.batchSize)")
        }
        guard dataset.numClasses >= config.ways else {
            throw DataError(.invalidArgument, path: "", "\(config.ways)-way sequence episodes need \(config.ways) classes; the dataset has \(dataset.numClasses)")
        }
        let needed = config.samplesPerClass + (config.layout == .supportThenQuery ? 1 : 0)
        guard dataset.minImagesPerClass >= needed else {
            throw DataError(.invalidArgument, path: "", "sequence episodes need \(needed) images in every class; the smallest class has \(dataset.minImagesPerClass)")
        }
        guard config.encoding == .oneHot || config.ways <= 3125 else {
            throw DataError(.invalidArgument, path: "", "string labels have 5⁵ = 3125 distinct values, fewer than \(config.ways) ways")
        }
        for stage in curriculum {
            guard stage.classes >= 1, stage.classes <= config.ways, stage.batches >= 1 else {
                throw DataError(.invalidArgument, path: "", "a curriculum stage needs 1 to \(config.ways) classes and at least 1 batch, got \(stage.classes) classes for \(stage.batches) batches")
            }
            let most = Self.steps(ofClass: 0, present: stage.classes, config) + (config.layout == .supportThenQuery ? 1 : 0)
            guard dataset.minImagesPerClass >= most else {
                throw DataError(.invalidArgument, path: "", "a curriculum stage of \(stage.classes) classes needs \(most) images in every class; the smallest class has \(dataset.minImagesPerClass)")
            }
        }
        _ = try dataset.imageShape.validated(path: "")
        self.dataset = dataset
        self.config = config
        self.seed = seed
        self.curriculum = curriculum
        self.jitter = jitter
    }

    /// Steps of the `i`-th of `present` classes in an episode of `c`: the `ways·samples` steps
    /// shared as evenly as they divide (the first `steps mod present` classes one more each).
    static func steps(ofClass i: Int, present: Int, _ c: SequenceEpisodeConfig) -> Int {
        let total = c.ways * c.samplesPerClass
        return total / present + (i < total % present ? 1 : 0)
    }

    /// Distinct classes per episode of batch `index`: its curriculum stage's, else `ways`.
    public func classes(atBatch index: Int) -> Int {
        var end = 0
        for stage in curriculum {
            end += stage.batches
            if index < end { return stage.classes }
        }
        return config.ways
    }

    /// One episode: `(class in dataset, image index, episode-local label)` per step, and the
    /// episode's label strings (one-hot: empty).
    ///
    /// With `present` < `ways` (a curriculum stage) only `present` classes appear: they get
    /// random distinct labels among the `ways`, and share the `ways·samples` steps as evenly
    /// as they divide (the first `steps mod present` one more each).
    func episode(_ rng: inout Xoshiro256, present: Int? = nil) -> (steps: [(Int, Int, Int)], strings: [[Int]]) {
        let c = config
        let present = min(present ?? c.ways, c.ways)
        let classes = rng.sample(present, from: dataset.numClasses)
        let labels = present == c.ways ? Array(0..<c.ways) : rng.sample(present, from: c.ways)
        var steps: [(Int, Int, Int)] = []
        var queries: [(Int, Int, Int)] = []
        for (i, cls) in classes.enumerated() {
            let label = labels[i]
            let extra = c.layout == .supportThenQuery ? 1 : 0
            let samples = Self.steps(ofClass: i, present: present, c)
            let picks = rng.sample(samples + extra, from: dataset.imageCount(ofClass: cls))
            for (j, image) in picks.enumerated() {
                if j < samples { steps.append((cls, image, label)) } else { queries.append((cls, image, label)) }
            }
        }
        rng.shuffle(&steps)
        if c.layout == .supportThenQuery { steps.append(queries[rng.nextInt(below: queries.count)]) }
        var strings: [[Int]] = []
        if c.encoding == .strings {
            // Distinct strings: a sample of codes in 0..<5⁵, each read as five base-5 digits.
            strings = rng.sample(c.ways, from: 3125).map { code in (0..<5).map { (code / sequencePowersOf5[4 - $0]) % 5 } }
        }
        return (steps, strings)
    }

    /// Batch `index` (episodes `index·B ..< index·B + B`).
    /// - Throws: ``DataError`` `.invalidArgument` for a negative index.
    public func batch(at index: Int) throws -> SequenceBatch {
        guard index >= 0 else { throw DataError(.invalidArgument, path: "", "sequence batch index \(index) is negative") }
        let c = config, t = c.length, shape = dataset.imageShape, pixels = shape.count
        let (width, groups) = (c.labelWidth, c.labelGroups), alphabet = c.encoding.alphabet(ways: c.ways)
        var images = [Float](repeating: 0, count: c.batchSize * t * pixels)
        var labelInputs = [Float](repeating: 0, count: c.batchSize * t * width)
        var targets = [Int32](repeating: 0, count: c.batchSize * t * groups)
        var classes = [Int](repeating: 0, count: c.batchSize * t)
        var instances = [Int](repeating: 0, count: c.batchSize * t)
        var scratch: [Float] = []   // the jitter's source copy, reused for every image
        for e in 0..<c.batchSize {
            var rng = Xoshiro256(seed: seed, stream: UInt64(index) &* UInt64(c.batchSize) &+ UInt64(e))
            let (steps, strings) = episode(&rng, present: self.classes(atBatch: index))
            var seen = [Int](repeating: 0, count: c.ways)
            var jitterRNG = jitter.map { _ in
                Xoshiro256(seed: seed ^ sequenceJitterSeedMask, stream: UInt64(index) &* UInt64(c.batchSize) &+ UInt64(e))
            }
            for (s, (cls, image, label)) in steps.enumerated() {
                let row = e * t + s
                images.withUnsafeMutableBufferPointer { buf in
                    guard let base = buf.baseAddress else { return }
                    dataset.copyImage(classIndex: cls, imageIndex: image, into: base + row * pixels)
                    if let jitter, var rng = jitterRNG {
                        let (a, dx, dy) = jitter.draw(&rng)
                        jitterRNG = rng
                        for plane in 0..<shape.channels {
                            ImageOps.affine(base + row * pixels + plane * shape.height * shape.width,
                                            width: shape.width, height: shape.height, radians: a, dx: dx, dy: dy,
                                            scratch: &scratch)
                        }
                    }
                }
                let code = c.encoding == .oneHot ? [label] : strings[label]
                for g in 0..<groups { targets[row * groups + g] = Int32(code[g]) }
                classes[row] = label
                seen[label] += 1
                instances[row] = seen[label]
                // Where this step's label is shown: one step later (delayed), or at the step
                // itself for support steps (support-then-query); the query's stays zero.
                let shownAt: Int? = c.layout == .delayedLabels ? (s + 1 < t ? row + 1 : nil) : (s < t - 1 ? row : nil)
                if let shownAt { for g in 0..<groups { labelInputs[shownAt * width + g * alphabet + code[g]] = 1 } }
            }
        }
        return SequenceBatch(index: index, config: c, imageShape: shape, images: images, labelInputs: labelInputs,
                             targets: targets, classes: classes, instances: instances)
    }

    /// A streaming loader of batches `start, start + 1, …` (see ``StreamingLoader``).
    /// - Throws: ``DataError`` `.invalidArgument` for bad thread or capacity counts.
    public func makeLoader(threads: Int = 2, capacity: Int = 4, count: Int? = nil, start: Int = 0) throws -> StreamingLoader<SequenceBatch> {
        let sampler = self
        return try StreamingLoader(threads: threads, capacity: capacity, count: count, start: start) { try sampler.batch(at: $0) }
    }
}

/// Accuracy at the k-th presentation of a class within an episode (Santoro et al.'s
/// per-instance accuracy), accumulated over batches.
public struct PerInstanceAccuracy: Sendable, Equatable {
    /// Correct predictions per instance number (index 0 = first presentation).
    public private(set) var correct: [Int] = []
    /// Scored steps per instance number.
    public private(set) var total: [Int] = []

    /// An empty tally.
    public init() {}

    /// Adds one batch's per-step correctness (`[B·T]`, 1 = correct) against its instances.
    public mutating func add(correct flags: [Double], instances: [Int]) {
        for (flag, k) in zip(flags, instances) where k >= 1 {
            while total.count < k { total.append(0); correct.append(0) }
            total[k - 1] += 1
            if flag > 0.5 { correct[k - 1] += 1 }
        }
    }

    /// Accuracy at the k-th presentation (1-based), or nil when none was scored.
    public func accuracy(instance k: Int) -> Double? {
        guard k >= 1, k <= total.count, total[k - 1] > 0 else { return nil }
        return Double(correct[k - 1]) / Double(total[k - 1])
    }
}
