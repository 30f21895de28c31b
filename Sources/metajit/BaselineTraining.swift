import EpisodeData
import Foundation
import Interpreter
import MetaIR
import MetaLearning
import Runtime

/// The non-episodic training of Baseline / Baseline++ (Chen et al. 2019): one classifier over
/// every training class, on mini-batches drawn by the episode sampler (each holds
/// `ways·(shots + queries)` images of `ways` classes, labelled with their global class).
extension TrainCommand {
    func runBaseline(_ record: RunRecord, memoryLimit: MemoryLimit) throws {
        let outDir = URL(fileURLWithPath: out)
        let trainData = try OmniglotDataset.load(path: record.data, alphabets: record.trainSplit, rotations: record.rotations)
        let tc = record.trainStep
        let batch = tc.ways * (tc.shots + tc.queries)
        let trainGraph = try BaselineStep.trainStep(tc, classes: trainData.numClasses, batch: batch)
        let step = try ProgramFactory.make(trainGraph.graph, backend: backend, memoryLimit: memoryLimit)
        let store = try initialStore(trainGraph.parameters, seed: record.seed, memoryLimit: memoryLimit)
        let halve = record.halveEvery, lr0 = record.outerLR
        let options = TrainerOptions(
            iterations: iterations, outputDirectory: outDir, checkpointEvery: max(checkpointEvery, 1),
            evaluateEvery: evalEvery, learningRate: { i in halve > 0 ? lr0 * pow(0.5, Double(i / halve)) : lr0 },
            tasksPerBatch: 1, progress: !quiet)
        let trainer = try Trainer(step: step, signature: trainGraph.signature, store: store, options: options,
                                  metadata: ["run": try record.encoded(), "format": "metajit-checkpoint-1"], resume: resume)
        let sampler = try EpisodeSampler(dataset: trainData, config: EpisodeConfig(
            ways: tc.ways, shots: tc.shots, queries: tc.queries, metaBatchSize: 1), seed: record.seed)
        let loader = try sampler.makeLoader(threads: 2, capacity: 4, start: trainer.iteration)
        defer { loader.stop() }
        let evaluate = try makeValidation(record, memoryLimit: memoryLimit)
        log("training \(record.recipe ?? "conv4") (\(tc.algorithm.rawValue): one classifier over \(trainData.numClasses) classes, mini-batches of \(batch)) on \(record.trainSplit.count) alphabets, backend \(backend.rawValue), from iteration \(trainer.iteration)")
        try trainer.run(batch: { i in
            guard let b = try loader.next() else { return nil }
            precondition(b.index == i, "loader out of order")
            return BaselineFeeds.make(b)
        }, evaluate: evaluate)
        log("checkpoint: \(trainer.checkpointURL.path)")
    }
}

/// A sampled episode as one labelled mini-batch: support then query images, global labels.
enum BaselineFeeds {
    static func make(_ b: MetaBatch) -> [String: FeedValue] {
        let items = b.episodes.flatMap { $0.support + $0.query }
        return [BaselineStep.imagesName: .f32(b.supportX + b.queryX, [items.count] + b.imageShape.dims),
                BaselineStep.labelsName: .i32(items.map { Int32($0.classIndex) }, [items.count])]
    }
}
