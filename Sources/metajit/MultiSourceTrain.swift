import ArgumentParser
import EpisodeData
import Foundation
import Graphs
import MetaIR
import MetaLearning
import Runtime

extension TrainCommand {
    /// `metajit train protonet-multisource|protomaml-multisource`: one padded episode per
    /// iteration from the Meta-Dataset sampler over every training source.
    func runMultiSource(_ recipe: Recipe, learner: MultiSourceLearner) throws {
        var c = recipe.step
        if let innerSteps { c.innerSteps = innerSteps }
        if let innerLR { c.innerLR = innerLR }
        if let backbone { c.backbone = backbone }
        if let optimizer { c.optimizer = optimizer }
        c.imageSize = MultiSourceData.imageSize
        let names = try MultiSourceData.parse(sources)
        let omniglot = try DataLocator.omniglot(data)
        let memoryLimit = try limit.resolve()
        // Data first: a missing source or one that cannot supply an episode fails before compiling.
        let train = try MultiSourceData.load(names, omniglot: omniglot, test: false)
        let sampler = try MetaDatasetSampler(sources: train, seed: seed)
        var validation: MetaDatasetSampler?
        if evalEvery > 0 {
            validation = try MetaDatasetSampler(sources: MultiSourceData.load(names, omniglot: omniglot, test: true), seed: 12345)
        }
        let record = RunRecord(
            recipe: recipe.name, evalStep: c, trainWays: c.ways, trainQueries: c.queries, outerLR: outerLR ?? recipe.outerLR,
            halveEvery: halveEvery ?? recipe.halveEvery, evalInnerSteps: innerSteps ?? recipe.evalInnerSteps, data: omniglot,
            trainSplit: OmniglotSplit.metaTrain, valSplit: OmniglotSplit.metaTest, testSplit: OmniglotSplit.metaTest,
            rotations: [0], seed: seed, multiSource: MultiSourceRecord(learner: learner, sources: names))
        let start = Date()
        let (step, graph) = try MultiSourceData.program(c, learner: learner, train: true, backend: backend,
                                                        threads: threads, memoryLimit: memoryLimit)
        var evaluate: ((ParameterStore) throws -> EvalResult)?
        if let validation {
            var e = c
            e.innerSteps = record.evalInnerSteps
            let (evalStep, evalGraph) = try MultiSourceData.program(e, learner: learner, train: false, backend: backend,
                                                                    threads: threads, memoryLimit: memoryLimit)
            let names = Set(evalGraph.parameters.map(\.name)), episodes = evalEpisodes
            evaluate = { store in
                var subset = ParameterStore(specs: evalGraph.parameters, seed: 0)
                for (n, v) in store.values where names.contains(n) { try subset.set(n, v) }
                return try Evaluator.evaluate(step: evalStep, signature: evalGraph.signature, store: subset, episodes: episodes) { i in
                    MultiSourceData.feeds(try MultiSourceData.padded(validation, at: i))
                }
            }
        }
        log("compiled \(MultiSourceData.buckets.count) shape buckets (\(MultiSourceData.buckets.map(\ShapeBucket.description).joined(separator: ", "))) in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
        let store = try initialStore(graph.parameters, seed: seed, memoryLimit: memoryLimit)
        let halve = record.halveEvery, lr0 = record.outerLR
        let options = TrainerOptions(
            iterations: iterations, outputDirectory: URL(fileURLWithPath: out), checkpointEvery: max(checkpointEvery, 1),
            evaluateEvery: evalEvery, learningRate: { i in halve > 0 ? lr0 * pow(0.5, Double(i / halve)) : lr0 },
            tasksPerBatch: 1, progress: !quiet)
        let trainer = try Trainer(step: step, signature: graph.signature, store: store, options: options,
                                  metadata: ["run": try record.encoded(), "format": "metajit-checkpoint-1"], resume: resume)
        let loader = try StreamingLoader<PaddedEpisode>(threads: 2, capacity: 8, start: trainer.iteration) { i in
            try MultiSourceData.padded(sampler, at: i)
        }
        defer { loader.stop() }
        log("training \(recipe.name) (\(learner.rawValue) on \(c.backbone)) on \(names.joined(separator: ", ")), backend \(backend.rawValue), from iteration \(trainer.iteration)")
        let first = trainer.iteration, started = Date()
        try trainer.run(batch: { _ in try loader.next().map(MultiSourceData.feeds) }, evaluate: evaluate)
        let seconds = Date().timeIntervalSince(started)
        log(String(format: "trained %d iterations in %.1f s (%.1f episodes/s, sampler and loader included)",
                   trainer.iteration - first, seconds, Double(trainer.iteration - first) / max(seconds, 1e-9)))
        log("checkpoint: \(trainer.checkpointURL.path)")
    }
}

extension EvalCommand {
    /// Evaluates a multi-source checkpoint: on every test source together, or with
    /// `--per-source` on each alone (the same sampler restricted to its test classes).
    func runMultiSource(_ record: RunRecord, _ ms: MultiSourceRecord, checkpoint url: URL, memoryLimit: MemoryLimit) throws {
        var c = record.evalStep
        c.innerSteps = innerSteps ?? record.evalInnerSteps
        let omniglot = try data.map { try DataLocator.omniglot($0) } ?? record.data
        let sources = try MultiSourceData.load(ms.sources, omniglot: omniglot, test: true)
        let (step, graph) = try MultiSourceData.program(c, learner: ms.learner, train: false, backend: backend,
                                                        threads: 2, memoryLimit: memoryLimit)
        var store = try ParameterStore(specs: graph.parameters, seed: 0, memoryLimit: memoryLimit)
        _ = try store.load(from: url)
        let total = episodes ?? 600
        let groups: [(String, [EpisodeSourceData])] = perSource ? sources.map { ($0.name, [$0]) } : [("all", sources)]
        var table: [String: Any] = [:]
        for (name, group) in groups {
            let sampler = try MetaDatasetSampler(sources: group, seed: seed)
            var sampling = 0.0, supportSizes = 0
            var shapes = Set<[Int]>(), bucketUse = [Int](repeating: 0, count: MultiSourceData.buckets.count)
            let start = Date()
            let result = try Evaluator.evaluate(step: step, signature: graph.signature, store: store, episodes: total) { i in
                let t = Date()
                let p = try MultiSourceData.padded(sampler, at: i)
                sampling += Date().timeIntervalSince(t)
                supportSizes += p.supportCount
                shapes.insert([p.ways, p.supportCount, p.queryCount])
                if let k = MultiSourceData.buckets.firstIndex(where: { $0.support == p.maxSupport && $0.query == p.maxQuery }) { bucketUse[k] += 1 }
                return MultiSourceData.feeds(p)
            }
            let wall = Date().timeIntervalSince(start)
            print("\(name): \(result)")
            table[name] = ["accuracy": result.accuracy, "ci95": result.ci95, "episodes": result.episodes, "loss": result.loss,
                           "sampler_episodes_per_s": Double(result.episodes) / max(sampling, 1e-9),
                           "eval_episodes_per_s": Double(result.episodes) / max(wall, 1e-9),
                           "mean_support": Double(supportSizes) / Double(max(result.episodes, 1)),
                           "distinct_shapes": shapes.count, "bucket_episodes": bucketUse]
        }
        var json: [String: Any] = [
            "learner": ms.learner.rawValue, "recipe": record.recipe.map { $0 as Any } ?? NSNull(),
            "inner_steps": c.innerSteps, "seed": seed, "checkpoint": url.path, "sampler": "meta-dataset"]
        json[perSource ? "per_source" : "sources"] = table
        print(String(decoding: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]), as: UTF8.self))
    }
}
