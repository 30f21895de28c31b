import ArgumentParser
import EpisodeData
import Foundation
import MetaLearning
import Runtime

/// `metajit eval`: mean held-out accuracy with a 95% confidence interval.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Evaluate a checkpoint on held-out episodes (mean accuracy ± 95% CI).")

    @Argument(help: "A checkpoint file, or the training output folder holding checkpoint.safetensors.")
    var checkpoint: String

    @Option(help: "fashion-mnist, mnist, digits or an Omniglot path (default: the one used in training).") var data: String?
    @Option(help: "Alphabets to evaluate on (default: the held-out split recorded in training; ignored with --manifest).") var split: String?
    @Option(help: "Classes per episode (default: as trained).") var ways: Int?
    @Option(help: "Support examples per class.") var shots: Int?
    @Option(help: "Query examples per class.") var queries: Int?
    @Option(help: "Episodes to evaluate (default: 600, or all of the --manifest).") var episodes: Int?
    @Option(name: .customLong("inner-steps"), help: "Inner steps at test time (default: the recipe's).") var innerSteps: Int?
    @Option(help: "A fixed episode manifest (JSON, e.g. from `metajit episodes`) to evaluate instead of sampled episodes; its ways, shots, queries and images are used.") var manifest: String?
    @Option(help: "Seed of the sampled test episodes.") var seed: UInt64 = 2024
    @Option(name: .customLong("meta-batch"), help: "Episodes per compiled evaluation call.") var metaBatch: Int = 5
    @Option(help: "Execution back end (jit or interp).") var backend: BackendKind = .jit
    @Flag(name: .customLong("nearest-neighbour"), help: "Also score nearest neighbour (pixels, and the trained embedding) on the same episodes.")
    var nearestNeighbour = false
    @Flag(name: .customLong("per-source"), help: "Multi-source checkpoints: one line per test source, then a JSON table.")
    var perSource = false
    @Flag(help: "Text checkpoints: also score the nearest-centroid baseline (bag of words / character 1-3-grams) on the same episodes.")
    var baseline = false
    @OptionGroup var limit: MemoryLimitOptions

    func validate() throws {
        for (flag, value) in [("--ways", ways), ("--shots", shots), ("--queries", queries), ("--episodes", episodes),
                              ("--meta-batch", metaBatch)] {
            try FlagCheck.atLeast(1, value, flag)
        }
        try FlagCheck.atLeast(0, innerSteps, "--inner-steps")
    }

    func run() throws {
        let memoryLimit = try limit.resolve()
        let url = Trainer.checkpointURL(checkpoint)
        let meta = try ParameterStore.metadata(of: url)
        let record = try RunRecord.decode(meta["run"], path: url.path)
        if let ms = record.multiSource { return try runMultiSource(record, ms, checkpoint: url, memoryLimit: memoryLimit) }
        if let text = record.text { return try runText(record, text, checkpoint: url, memoryLimit: memoryLimit) }
        guard !baseline else { throw ValidationError("--baseline applies to text checkpoints (protonet-wordnet-5w5s, maml-wordnet-5w5s, metasgd-wordnet-5w5s, protonet-langid-5w5s); \(url.path) is \(record.recipe ?? "conv4")") }
        if let seq = record.sequence { return try runSequence(record, seq, checkpoint: url, memoryLimit: memoryLimit) }
        guard !perSource else {
            throw ValidationError("--per-source applies to multi-source checkpoints (protonet-multisource, protomaml-multisource); \(url.path) is \(record.recipe ?? "conv4")")
        }
        var c = record.evalStep
        if let ways { c.ways = ways }
        if let shots { c.shots = shots }
        if let queries { c.queries = queries }
        let plan = try manifest.map(ManifestPlan.init(path:))
        try plan?.apply(to: &c, ways: ways, shots: shots, queries: queries)
        let total = plan?.episodeCount(limit: episodes) ?? episodes ?? 600
        c.innerSteps = innerSteps ?? record.evalInnerSteps
        if c.algorithm == .mamlpp || c.algorithm == .lrain, c.innerSteps > record.trainStep.innerSteps {
            throw ValidationError("\(c.algorithm.rawValue) learned its per-step rates for \(record.trainStep.innerSteps) inner steps; --inner-steps must be at most \(record.trainStep.innerSteps), got \(c.innerSteps)")
        }
        c.metaBatch = max(1, min(metaBatch, total))
        let graph = try StepBuilder.evalStep(c)
        var store = try ParameterStore(specs: graph.parameters, seed: 0, memoryLimit: memoryLimit)
        _ = try store.load(from: url)
        let alphabets = try plan?.alphabets(ignoring: split) ?? split.map(DataLocator.split) ?? record.testSplit
        let dataset = try EpisodeSource.load(data.map { try EpisodeSource.resolve($0) } ?? record.data, classes: alphabets,
                                             rotations: plan?.manifest.rotations ?? [0])
        let config = EpisodeConfig(ways: c.ways, shots: c.shots, queries: c.queries, metaBatchSize: c.metaBatch)
        let sampler = try plan.map { try EpisodeSampler(dataset: dataset, manifest: $0.manifest, metaBatchSize: c.metaBatch, path: $0.path) }
            ?? EpisodeSampler(dataset: dataset, config: config, seed: seed)
        let step = try ProgramFactory.make(graph.graph, backend: backend, memoryLimit: memoryLimit)
        let result = try Evaluator.evaluate(step: step, signature: graph.signature, store: store, episodes: total) { i in
            BatchFeeds.make(try ManifestPlan.fullBatch(sampler, at: i))
        }
        print(result)
        print(result.errorRateLine)
        let neighbours = try nearestNeighbour ? NearestNeighbourEval.run(c, checkpoint: url, backend: backend, memoryLimit: memoryLimit,
                                                                        episodes: total, batches: { BatchFeeds.make(try ManifestPlan.fullBatch(sampler, at: $0)) }) : nil
        if let neighbours { print(neighbours.line) }
        var json: [String: Any] = [
            "accuracy": result.accuracy, "error_rate": 1 - result.accuracy, "ci95": result.ci95, "episodes": result.episodes, "loss": result.loss,
            "ways": c.ways, "shots": c.shots, "queries": c.queries, "inner_steps": c.innerSteps,
            "algorithm": c.algorithm.rawValue, "split": alphabets, "seed": seed, "checkpoint": url.path]
        if let plan {
            json["manifest"] = plan.path
            json["seed"] = plan.manifest.seed.map { $0 as Any } ?? NSNull()
        }
        if let neighbours { json["nearest_neighbour"] = neighbours.json }
        let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
