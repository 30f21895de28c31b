import ArgumentParser
import EpisodeData
import Foundation
import MetaLearning
import Runtime

/// What `metajit eval --manifest FILE` takes from the manifest: a manifest carries its own
/// N, K, Q and image paths, so the evaluation program is built for them and the data is
/// loaded from the alphabets (and rotations) its items name.
///
/// `--ways`, `--shots` and `--queries` may repeat the manifest's values; a different value is
/// an error (the manifest's episodes cannot be evaluated at another shape). `--split` is
/// ignored with a warning: the manifest names its images.
struct ManifestPlan {
    /// The manifest path.
    let path: String
    /// The parsed manifest.
    let manifest: EpisodeManifest

    /// Reads the manifest at `path`.
    /// - Throws: ``DataError`` naming the path for a missing or malformed file.
    init(path: String) throws {
        self.path = path
        self.manifest = try EpisodeManifest.read(path: path)
    }

    /// Sets N, K, Q of `step` from the manifest, refusing flags that disagree with it.
    /// - Throws: ``DataError`` `.invalidArgument` naming the manifest, the flag and both values.
    func apply(to step: inout StepConfig, ways: Int?, shots: Int?, queries: Int?) throws {
        for (flag, given, own) in [("--ways", ways, manifest.ways), ("--shots", shots, manifest.shots),
                                   ("--queries", queries, manifest.queries)] {
            if let given, given != own {
                throw DataError(.invalidArgument, path: path,
                                "\(flag) \(given) disagrees with this manifest's \(flag.dropFirst(2)) \(own); "
                                + "drop the flag (a manifest carries its own ways, shots and queries)")
            }
        }
        guard manifest.queries >= 1 else {
            throw DataError(.invalidArgument, path: path, "the manifest has 0 queries per class; evaluation needs at least 1")
        }
        step.ways = manifest.ways
        step.shots = manifest.shots
        step.queries = manifest.queries
    }

    /// The alphabets the manifest's items use (a `--split` is ignored, with a warning).
    /// - Throws: ``DataError`` `.invalidManifest` if no item names an alphabet.
    func alphabets(ignoring split: String?) throws -> [String] {
        if let split {
            logger.warning("--split \(split) is ignored: the manifest \(path) names its own images")
        }
        let names = manifest.alphabets
        guard !names.isEmpty else {
            throw DataError(.invalidManifest, path: path,
                            "no item path has the form <Alphabet>/<character>/<file>.png (an Omniglot manifest is needed)")
        }
        return names
    }

    /// Meta-batch `index` of `sampler` with exactly B tasks: the last batch of a manifest whose
    /// episode count is not a multiple of B is padded by repeating its last episode (the
    /// compiled program has a fixed batch size; the evaluator scores only the first tasks).
    static func fullBatch<D: ClassDataset>(_ sampler: EpisodeSampler<D>, at index: Int) throws -> MetaBatch {
        let batch = try sampler.metaBatch(at: index)
        let size = sampler.config.metaBatchSize
        guard batch.batchSize < size, let last = batch.episodes.last else { return batch }
        let padded = batch.episodes + Array(repeating: last, count: size - batch.batchSize)
        return sampler.assemble(padded, index: index)
    }

    /// Episodes to evaluate: all of the manifest's, or the first `limit`.
    func episodeCount(limit: Int?) -> Int {
        min(limit ?? manifest.episodes.count, manifest.episodes.count)
    }
}

extension EvalResult {
    /// `error rate 6.59% ± 0.52% (600 episodes)`: one minus the accuracy, same interval.
    var errorRateLine: String {
        String(format: "error rate %.2f%% ± %.2f%% (%d episodes)", (1 - accuracy) * 100, ci95 * 100, episodes)
    }
}
