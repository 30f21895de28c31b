import ArgumentParser
import EpisodeData
import Foundation
import Graphs
import MetaIR
import MetaLearning
import Runtime

/// `--labels onehot|one-hot|strings`: the episode encoding of a MANN run's labels.
extension SequenceLabelEncoding: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(rawValue: argument == "onehot" ? SequenceLabelEncoding.oneHot.rawValue : argument)
    }
}

/// What a sequence run (MANN, SNAIL) used, beside the shared ``RunRecord`` fields.
struct SequenceRecord: Codable {
    /// The step configuration (learner, episode shape, model sizes).
    var step: SequenceStepConfig
    /// The class curriculum the run trained with (absent: none).
    var curriculum: [SequenceCurriculumStage]? = nil
    /// The random rotation and translation of the training images (absent: none).
    var jitter: ImageJitter? = nil
}

/// Sequence episodes for the CLI: Omniglot at the learner's image size, the sampler
/// configuration a step configuration implies, and batches as step inputs.
enum SequenceData {
    /// The sampler configuration of `c`: delayed labels for MANN, support-then-query for SNAIL.
    static func episodes(_ c: SequenceStepConfig) -> SequenceEpisodeConfig {
        SequenceEpisodeConfig(ways: c.ways, samplesPerClass: c.samplesPerClass, batchSize: c.batchSize,
                              encoding: c.stringLabels ? .strings : .oneHot,
                              layout: c.learner == .mann ? .delayedLabels : .supportThenQuery)
    }

    /// The alphabets `alphabets` of the Omniglot at `path`, at `c`'s image size.
    /// - Throws: ``ValidationError`` for an MNIST-family `--data` (sequence recipes read
    ///   Omniglot), ``DataError`` for missing or unreadable data.
    static func load(_ path: String, alphabets: [String], rotations: [Int], _ c: SequenceStepConfig) throws -> OmniglotDataset {
        guard EpisodeSource.mnist(path) == nil else {
            throw ValidationError("sequence recipes (mann-*, snail-*) read Omniglot; --data \(path) names an MNIST-family source")
        }
        return try OmniglotDataset.load(path: path, alphabets: alphabets, rotations: rotations, imageSize: c.imageSize)
    }

    /// A batch as step inputs.
    static func feeds(_ b: SequenceBatch) -> [String: FeedValue] {
        let (n, t) = (b.config.batchSize, b.config.length)
        return [SequenceSteps.imagesName: .f32(b.images, [n, t] + b.imageShape.dims),
                SequenceSteps.labelInputsName: .f32(b.labelInputs, [n, t, b.config.labelWidth]),
                SequenceSteps.targetsName: .i32(b.targets, [n, t, b.config.labelGroups])]
    }

    /// The step configuration of a recipe with the command's overrides.
    static func config(_ recipe: Recipe, ways: Int?, shots: Int?, batch: Int?, optimizer: OuterOptimizer?,
                       labels: SequenceLabelEncoding? = nil) throws -> SequenceStepConfig {
        guard var c = Recipes.sequenceStep(recipe) else {
            throw ValidationError("\(recipe.name) is not a sequence recipe")
        }
        if let labels {
            let stringLabels = labels == .strings
            guard c.learner == .mann || !stringLabels else {
                throw ValidationError("--labels strings applies to MANN; SNAIL classifies its query into one-hot classes")
            }
            c.stringLabels = stringLabels
        }
        if let ways { c.ways = ways }
        if let shots { c.samplesPerClass = shots }
        if let batch { c.batchSize = batch }
        if let optimizer { c.optimizer = optimizer }
        do { try c.validate() } catch { throw ValidationError("\(recipe.name): \(error)") }
        return c
    }
}

extension TrainCommand {
    /// `metajit train mann-omniglot-5way|snail-omniglot-5w1s|snail-omniglot-20w1s`: one batch
    /// of sequence episodes per iteration from the streaming loader, the whole unroll as one
    /// compiled step (BPTT), validation on the validation alphabets every `--eval-every`.
    func runSequence(_ recipe: Recipe, learner: SequenceLearner) throws {
        for (flag, given) in [("--algorithm", algorithm != nil), ("--queries", queries != nil), ("--train-ways", trainWays != nil),
                              ("--inner-steps", innerSteps != nil), ("--inner-lr", innerLR != nil), ("--width", width != nil),
                              ("--backbone", backbone != nil), ("--fce", fce), ("--sources", sources != nil)] where given {
            throw ValidationError("\(flag) does not apply to the sequence recipe \(recipe.name) (it takes --ways, --shots, --meta-batch, --outer-lr, --optimizer)")
        }
        let c = try SequenceData.config(recipe, ways: ways, shots: shots, batch: metaBatch, optimizer: optimizer,
                                        labels: labels)
        let stages: [SequenceCurriculumStage]
        let spec = curriculum ?? recipe.curriculum
        do { stages = try spec.map { $0 == "none" ? [] : try SequenceCurriculumStage.parse($0) } ?? [] } catch {
            throw ValidationError("--curriculum: \(error)")
        }
        let jitterSpec = jitter ?? recipe.jitter
        let imageJitter: ImageJitter?
        do { imageJitter = try jitterSpec.flatMap { $0 == "none" ? nil : try ImageJitter.parse($0) } } catch {
            throw ValidationError("--jitter: \(error)")
        }
        let omniglot = try DataLocator.omniglot(data)
        let memoryLimit = try limit.resolve()
        let testAlphabets = try testSplit.map(DataLocator.split) ?? OmniglotSplit.metaTest
        var step = recipe.step
        (step.ways, step.shots, step.metaBatch, step.optimizer) = (c.ways, c.samplesPerClass, c.batchSize, c.optimizer)
        let record = RunRecord(
            recipe: recipe.name, evalStep: step, trainWays: c.ways, trainQueries: 0, outerLR: outerLR ?? recipe.outerLR,
            halveEvery: halveEvery ?? recipe.halveEvery, evalInnerSteps: 0, data: omniglot,
            trainSplit: try trainSplit.map(DataLocator.split) ?? OmniglotSplit.metaTrain,
            valSplit: try valSplit.map(DataLocator.split) ?? testAlphabets, testSplit: testAlphabets,
            rotations: [0, 90, 180, 270], seed: seed,
            sequence: SequenceRecord(step: c, curriculum: stages.isEmpty ? nil : stages, jitter: imageJitter))
        // Data first: a missing alphabet or one that cannot supply an episode fails before compiling.
        let train = try SequenceData.load(omniglot, alphabets: record.trainSplit, rotations: record.rotations, c)
        let sampler = try SequenceEpisodeSampler(dataset: train, config: SequenceData.episodes(c), seed: seed, curriculum: stages,
                                                 jitter: imageJitter)
        let validation = try evalEvery > 0
            ? SequenceEpisodeSampler(dataset: SequenceData.load(omniglot, alphabets: record.valSplit, rotations: [0], c),
                                     config: SequenceData.episodes(c), seed: 12345) : nil
        let start = Date()
        let trainGraph = try SequenceSteps.trainStep(c)
        let program = try ProgramFactory.make(trainGraph.graph, backend: backend, threads: threads, memoryLimit: memoryLimit)
        var evaluate: ((ParameterStore) throws -> EvalResult)?
        if let validation {
            let evalGraph = try SequenceSteps.evalStep(c)
            let evalProgram = try ProgramFactory.make(evalGraph.graph, backend: backend, threads: threads, memoryLimit: memoryLimit)
            let names = Set(evalGraph.parameters.map(\.name)), episodes = evalEpisodes
            evaluate = { store in
                var subset = ParameterStore(specs: evalGraph.parameters, seed: 0)
                for (n, v) in store.values where names.contains(n) { try subset.set(n, v) }
                return try Evaluator.evaluate(step: evalProgram, signature: evalGraph.signature, store: subset, episodes: episodes) { i in
                    SequenceData.feeds(try validation.batch(at: i))
                }
            }
        }
        log(String(format: "compiled the %@ step (%d nodes, T = %d) in %.1f s", learner.rawValue, trainGraph.graph.nodes.count,
                   c.length, Date().timeIntervalSince(start)))
        let store = try initialStore(trainGraph.parameters, seed: seed, memoryLimit: memoryLimit)
        let lr0 = record.outerLR, halve = record.halveEvery
        let options = TrainerOptions(
            iterations: iterations, outputDirectory: URL(fileURLWithPath: out), checkpointEvery: max(checkpointEvery, 1),
            evaluateEvery: evalEvery, learningRate: { i in halve > 0 ? lr0 * pow(0.5, Double(i / halve)) : lr0 },
            tasksPerBatch: c.batchSize, progress: !quiet)
        let trainer = try Trainer(step: program, signature: trainGraph.signature, store: store, options: options,
                                  metadata: ["run": try record.encoded(), "format": "metajit-checkpoint-1"], resume: resume)
        let loader = try sampler.makeLoader(threads: 2, capacity: 4, start: trainer.iteration)
        defer { loader.stop() }
        log("training \(recipe.name) (\(learner.rawValue), \(c.ways)-way, \(c.samplesPerClass) per class, T = \(c.length), batch \(c.batchSize)) on \(record.trainSplit.count) alphabets, backend \(backend.rawValue), from iteration \(trainer.iteration)")
        if let imageJitter {
            log("image jitter: rotations up to ±\(imageJitter.maxDegrees)°, shifts up to ±\(imageJitter.maxShift) px")
        }
        if !stages.isEmpty {
            log("curriculum: " + stages.map { "\($0.classes) classes for \($0.batches) batches" }.joined(separator: ", ")
                + ", then all \(c.ways)")
        }
        let first = trainer.iteration, started = Date()
        try trainer.run(batch: { i in
            guard let b = try loader.next() else { return nil }
            precondition(b.index == i, "loader out of order")
            return SequenceData.feeds(b)
        }, evaluate: evaluate)
        let seconds = Date().timeIntervalSince(started), done = trainer.iteration - first
        log(String(format: "trained %d iterations in %.1f s (%.2f steps/s, %.1f episodes/s, sampler and loader included)",
                   done, seconds, Double(done) / max(seconds, 1e-9), Double(done * c.batchSize) / max(seconds, 1e-9)))
        log("checkpoint: \(trainer.checkpointURL.path)")
    }
}
