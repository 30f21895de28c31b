import ArgumentParser
import EpisodeData
import Foundation
import Graphs
import MetaIR
import MetaLearning
import Runtime

extension TrainCommand {
    /// `metajit train protonet-wordnet-5w5s|maml-wordnet-5w5s|metasgd-wordnet-5w5s|protonet-langid-5w5s`:
    /// text episodes from the meta-train classes (or, with `--episodes-file`, exactly the
    /// train episodes of a `metajit text-episodes` export), validated on the validation classes.
    ///
    /// `--meta-batch`, `--queries`, `--inner-steps`, `--inner-lr`, `--outer-lr` and `--data`
    /// (the folder of the source's files) override the recipe; other episode flags do not apply.
    func runText(_ recipe: Recipe, setup base: TextRecipe) throws {
        for (flag, given) in [("--ways", ways != nil), ("--train-ways", trainWays != nil), ("--shots", shots != nil),
                              ("--algorithm", algorithm != nil), ("--backbone", backbone != nil), ("--width", width != nil),
                              ("--sources", sources != nil), ("--fce", fce)] where given {
            throw ValidationError("\(flag) does not apply to the text recipe \(recipe.name) (its shape is 5-way 5-shot; see `metajit list`)")
        }
        var setup = base
        if let metaBatch { setup.step.metaBatch = metaBatch }
        if let queries { setup.step.queries = queries }
        if let innerSteps { setup.step.innerSteps = innerSteps }
        if let innerLR { setup.step.innerLR = innerLR }
        if let optimizer { setup.step.optimizer = optimizer }
        let source = try TextData.source(setup)
        let memoryLimit = try limit.resolve()
        // Data first: a missing dictionary or WordNet fails before compiling.
        let corpus = try TextCorpus.load(source, directory: data)
        setup.step.vocabulary = corpus.tokenizer.vocabularySize
        let c = setup.step
        let file = try episodesFile.map { try TextData.EpisodeFile(path: $0, split: "train") }
        if let file {
            let f = file.config
            guard f.ways == c.ways, f.shots == c.shots, f.queries == c.queries, f.length == c.length,
                  file.metadata["vocabulary"] == String(c.vocabulary) else {
                throw ValidationError("\(file.path) holds \(f.ways)-way \(f.shots)-shot \(f.queries)-query length-\(f.length) episodes over a vocabulary of \(file.metadata["vocabulary"] ?? "?"); \(recipe.name) needs \(c.ways)-way \(c.shots)-shot \(c.queries)-query length-\(c.length) over \(c.vocabulary)")
            }
        }
        let sampler = try TextData.sampler(corpus, .train, c, seed: seed)
        let record = RunRecord(
            recipe: recipe.name, evalStep: recipe.step, trainWays: c.ways, trainQueries: c.queries,
            outerLR: outerLR ?? recipe.outerLR, halveEvery: halveEvery ?? recipe.halveEvery, evalInnerSteps: setup.evalInnerSteps,
            data: data ?? "", trainSplit: corpus.train.names, valSplit: corpus.validation.names, testSplit: corpus.test.names,
            rotations: [0], seed: seed, text: TextRecord(setup: setup, episodesFile: episodesFile))
        let start = Date()
        let trainGraph = try TextSteps.trainStep(c)
        let step = try ProgramFactory.make(trainGraph.graph, backend: backend, threads: threads, memoryLimit: memoryLimit)
        var evaluate: ((ParameterStore) throws -> EvalResult)?
        if evalEvery > 0 {
            var e = c
            e.innerSteps = record.evalInnerSteps
            e.metaBatch = min(5, evalEpisodes)
            let evalGraph = try TextSteps.evalStep(e)
            let evalStep = try ProgramFactory.make(evalGraph.graph, backend: backend, threads: threads, memoryLimit: memoryLimit)
            let validation = try TextData.sampler(corpus, .validation, e, seed: 12345)
            let names = Set(evalGraph.parameters.map(\.name)), episodes = evalEpisodes, batch = e.metaBatch
            evaluate = { store in
                var subset = ParameterStore(specs: evalGraph.parameters, seed: 0)
                for (n, v) in store.values where names.contains(n) { try subset.set(n, v) }
                return try Evaluator.evaluate(step: evalStep, signature: evalGraph.signature, store: subset, episodes: episodes) { i in
                    TextData.feeds(validation.batch(at: i, batchSize: batch))
                }
            }
        }
        log(String(format: "compiled %@ in %.1f s (vocabulary %d, E=%d, H=%d, T=%d)", trainGraph.graph.name,
                   Date().timeIntervalSince(start), c.vocabulary, c.embedding, c.hidden, c.length))
        let store = try initialStore(trainGraph.parameters, seed: seed, memoryLimit: memoryLimit)
        let lr0 = record.outerLR
        let options = TrainerOptions(
            iterations: iterations, outputDirectory: URL(fileURLWithPath: out), checkpointEvery: max(checkpointEvery, 1),
            evaluateEvery: evalEvery, learningRate: { _ in lr0 }, tasksPerBatch: c.metaBatch, progress: !quiet)
        let trainer = try Trainer(step: step, signature: trainGraph.signature, store: store, options: options,
                                  metadata: ["run": try record.encoded(), "format": "metajit-checkpoint-1"], resume: resume)
        let batchSize = c.metaBatch
        let loader: StreamingLoader<TextBatch>
        if let file {
            loader = try StreamingLoader(threads: 1, capacity: 4, start: trainer.iteration) { i in file.batch(at: i, batchSize: batchSize) }
            if iterations * batchSize > file.count {
                log("note: \(iterations * batchSize) training episodes from a file of \(file.count): the file's episodes repeat")
            }
        } else {
            loader = try sampler.makeLoader(batchSize: batchSize, threads: 2, capacity: 8, start: trainer.iteration)
        }
        defer { loader.stop() }
        log("training \(recipe.name) (\(c.learner.rawValue) on a masked LSTM, \(c.ways)-way \(c.shots)-shot, meta-batch \(batchSize)) on \(corpus.train.names.count) \(source == .wordnet ? "lexicographer files" : "languages")\(file.map { " from the episodes of \($0.path)" } ?? ""), backend \(backend.rawValue), from iteration \(trainer.iteration)")
        let first = trainer.iteration, started = Date()
        try trainer.run(batch: { _ in try loader.next().map(TextData.feeds) }, evaluate: evaluate)
        let seconds = Date().timeIntervalSince(started)
        log(String(format: "trained %d iterations in %.1f s (%.2f episodes/s, loader included)", trainer.iteration - first, seconds,
                   Double((trainer.iteration - first) * batchSize) / max(seconds, 1e-9)))
        log("checkpoint: \(trainer.checkpointURL.path)")
    }
}

extension EvalCommand {
    /// Evaluates a text checkpoint on the test classes (600 episodes by default), with
    /// `--baseline` also the nearest-centroid baseline on the same episodes.
    func runText(_ record: RunRecord, _ text: TextRecord, checkpoint url: URL, memoryLimit: MemoryLimit) throws {
        for (flag, given) in [("--ways", ways != nil), ("--shots", shots != nil), ("--queries", queries != nil), ("--manifest", manifest != nil),
                              ("--split", split != nil), ("--nearest-neighbour", nearestNeighbour), ("--per-source", perSource)] where given {
            throw ValidationError("\(flag) does not apply to the text checkpoint \(url.path)")
        }
        let source = try TextData.source(text.setup)
        let corpus = try TextCorpus.load(source, directory: data ?? (record.data.isEmpty ? nil : record.data))
        var c = text.setup.step
        guard corpus.tokenizer.vocabularySize == c.vocabulary else {
            throw ValidationError("the \(source.rawValue) data now gives a vocabulary of \(corpus.tokenizer.vocabularySize), the checkpoint was trained with \(c.vocabulary): not the same files")
        }
        let total = episodes ?? 600
        c.innerSteps = innerSteps ?? record.evalInnerSteps
        c.metaBatch = max(1, min(metaBatch, total))
        let graph = try TextSteps.evalStep(c)
        var store = try ParameterStore(specs: graph.parameters, seed: 0, memoryLimit: memoryLimit)
        _ = try store.load(from: url)
        let sampler = try TextData.sampler(corpus, .test, c, seed: seed)
        let step = try ProgramFactory.make(graph.graph, backend: backend, memoryLimit: memoryLimit)
        let batch = c.metaBatch, started = Date()
        let result = try Evaluator.evaluate(step: step, signature: graph.signature, store: store, episodes: total) { i in
            TextData.feeds(sampler.batch(at: i, batchSize: batch))
        }
        let wall = Date().timeIntervalSince(started)
        print(result)
        var json: [String: Any] = [
            "accuracy": result.accuracy, "ci95": result.ci95, "episodes": result.episodes, "loss": result.loss,
            "ways": c.ways, "shots": c.shots, "queries": c.queries, "length": c.length, "inner_steps": c.innerSteps,
            "learner": c.learner.rawValue, "recipe": record.recipe.map { $0 as Any } ?? NSNull(), "source": source.rawValue,
            "split": corpus.test.names, "seed": seed, "checkpoint": url.path, "vocabulary": c.vocabulary,
            "eval_episodes_per_s": Double(result.episodes) / max(wall, 1e-9)]
        if baseline {
            let b = EvalResult(accuracies: NearestCentroidBaseline.evaluate(sampler, source: source, episodes: total), losses: [])
            print(String(format: "baseline accuracy: %.2f%%", b.accuracy * 100))
            json["baseline"] = ["accuracy": b.accuracy, "ci95": b.ci95, "episodes": b.episodes,
                                "method": source == .wordnet ? "nearest centroid, cosine, bag of words" : "nearest centroid, cosine, character 1-3-grams"]
        }
        print(String(decoding: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]), as: UTF8.self))
    }
}
