import EpisodeData
import Foundation
import Glyphs
import MetaIR
import MetaLearning
import Runtime

/// The sources of the Meta-Dataset-style benchmark (`protonet-multisource`,
/// `protomaml-multisource`), their class splits, the shape buckets and the step inputs.
///
/// | source | meta-train classes | meta-test classes |
/// | --- | --- | --- |
/// | `omniglot` | alphabets of ``OmniglotSplit/metaTrain`` (episodes within one alphabet) | ``OmniglotSplit/metaTest`` |
/// | `fashion-mnist`, `mnist`, `digits` | labels 0–4 | labels 5–9 (``ClassSplit/tenClass``) |
/// | `glyphs` | characters `i % 5 != 4` | characters `i % 5 == 4` (``GlyphDataset``) |
///
/// Every image is shown at 28×28 (digits' 8×8 by area resize).
enum MultiSourceData {
    /// Every source, in the order they are reported.
    static let allSources = ["omniglot", "fashion-mnist", "mnist", "digits", "glyphs"]
    /// The common image side.
    static let imageSize = 28

    /// The padded shapes steps are compiled for, smallest first: an episode runs in the
    /// smallest that holds its ways, support and query sets (the largest holds every
    /// Meta-Dataset episode: 50 ways, 500 support, 50 × 10 queries).
    static let buckets = [ShapeBucket(ways: 50, support: 100, query: 100),
                          ShapeBucket(ways: 50, support: 250, query: 250),
                          ShapeBucket(ways: 50, support: 500, query: 500)]

    /// Parses a comma-separated source list (nil: all), refusing unknown or repeated names.
    static func parse(_ spec: String?) throws -> [String] {
        guard let spec else { return allSources }
        let names = spec.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for n in names where !allSources.contains(n) {
            throw DataError(.invalidArgument, path: "", "unknown source '\(n)'; sources: \(allSources.joined(separator: ", "))")
        }
        guard !names.isEmpty, Set(names).count == names.count else {
            throw DataError(.invalidArgument, path: "", "--sources needs distinct source names, got '\(spec)'")
        }
        return names
    }

    /// Loads `names` on the meta-train (`test == false`) or meta-test side.
    /// - Throws: ``DataError``: a source that is not installed (naming its file and install
    ///   command), a corrupt file, or a source that cannot supply a Meta-Dataset episode.
    static func load(_ names: [String], omniglot: String, test: Bool) throws -> [EpisodeSourceData] {
        try names.map { try load($0, omniglot: omniglot, test: test) }
    }

    static func load(_ name: String, omniglot: String, test: Bool) throws -> EpisodeSourceData {
        let data: EpisodeSourceData
        switch name {
        case "omniglot":
            guard FileManager.default.fileExists(atPath: omniglot) else {
                throw DataError(.missingFile, path: omniglot, "data source 'omniglot' is not installed: pass --data PATH to Omniglot zips or a folder (the repository bundles data/omniglot)")
            }
            let d = try OmniglotDataset.load(path: omniglot, alphabets: test ? OmniglotSplit.metaTest : OmniglotSplit.metaTrain)
            var groups: [String: [Int]] = [:]
            for c in 0..<d.numClasses { groups[d.record(ofClass: c).alphabet, default: []].append(c) }
            data = EpisodeSourceData(name: name, dataset: d, groups: d.alphabets.compactMap { groups[$0] })
        case "glyphs":
            data = EpisodeSourceData(name: name, dataset: try GlyphDataset(characterIndices: GlyphDataset.characterIndices(test: test), side: imageSize))
        default:
            guard let source = MNISTSource(rawValue: name) else {
                throw DataError(.invalidArgument, path: "", "unknown source '\(name)'; sources: \(allSources.joined(separator: ", "))")
            }
            let (images, labels) = try MNISTFamily.load(source)
            let classes = test ? ClassSplit.tenClass.test : ClassSplit.tenClass.train
            let d = try IDXDataset(images: images, labels: labels, classes: classes, path: MNISTFamily.files(source)[0])
            data = EpisodeSourceData(name: name, dataset: try ResizedDataset(d, side: imageSize))
        }
        // Refuses a source that cannot supply an episode, naming it.
        _ = try MetaDatasetSampler(sources: [data], seed: 0)
        return data
    }

    /// The smallest bucket an episode fits.
    static func bucket(for e: VariableEpisode) -> ShapeBucket {
        buckets.first { e.ways <= $0.ways && e.support.count <= $0.support && e.query.count <= $0.query } ?? buckets[buckets.count - 1]
    }

    /// Episode `index` of `sampler`, padded to its bucket.
    static func padded(_ sampler: MetaDatasetSampler, at index: Int) throws -> PaddedEpisode {
        let e = try sampler.episode(at: index)
        let k = bucket(for: e)
        return try PaddedEpisode(e, dataset: sampler.sources[e.source].dataset,
                                 maxWays: k.ways, maxSupport: k.support, maxQuery: k.query)
    }

    /// The step inputs of a padded episode (one task).
    static func feeds(_ p: PaddedEpisode) -> [String: FeedValue] {
        let image = p.imageShape.dims
        return [StepSignature.supportX: .f32(p.supportX, [1, p.maxSupport] + image),
                StepSignature.supportY: .i32(p.supportY, [1, p.maxSupport]),
                StepSignature.queryX: .f32(p.queryX, [1, p.maxQuery] + image),
                StepSignature.queryY: .i32(p.queryY, [1, p.maxQuery]),
                MultiSourceStep.supportMask: .f32(p.supportMask, [1, p.maxSupport]),
                MultiSourceStep.queryMask: .f32(p.queryMask, [1, p.maxQuery]),
                MultiSourceStep.classMask: .f32(p.classMask, [1, p.maxWays])]
    }

    /// One executable over every bucket's step (`train` or eval), and its signature.
    static func program(_ c: StepConfig, learner: MultiSourceLearner, train: Bool, backend: BackendKind,
                        threads: Int, memoryLimit: MemoryLimit) throws -> (BucketedProgram, StepGraph) {
        var graphs: [StepGraph] = []
        var programs: [Executable] = []
        for k in buckets {
            let g = train ? try MultiSourceStep.trainStep(c, learner: learner, bucket: k)
                          : try MultiSourceStep.evalStep(c, learner: learner, bucket: k)
            let start = Date()
            programs.append(try ProgramFactory.make(g.graph, backend: backend, threads: threads, memoryLimit: memoryLimit))
            logger.debug("compiled \(g.graph.name) in \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
            graphs.append(g)
        }
        return (try BucketedProgram(programs), graphs[0])
    }
}

/// What a multi-source run used (in its run record).
struct MultiSourceRecord: Codable {
    var learner: MultiSourceLearner
    var sources: [String]
}
