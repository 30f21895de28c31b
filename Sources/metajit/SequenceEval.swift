import ArgumentParser
import EpisodeData
import Foundation
import MetaIR
import MetaLearning
import Runtime

extension EvalCommand {
    /// Evaluates a sequence checkpoint on held-out episodes drawn as in training (same ways,
    /// samples per class and batch). MANN prints Santoro et al.'s per-instance accuracy line,
    /// SNAIL the query accuracy ± 95% CI over episodes; then the JSON.
    func runSequence(_ record: RunRecord, _ seq: SequenceRecord, checkpoint url: URL, memoryLimit: MemoryLimit) throws {
        for (flag, given) in [("--ways", ways != nil), ("--shots", shots != nil), ("--queries", queries != nil),
                              ("--inner-steps", innerSteps != nil), ("--manifest", manifest != nil),
                              ("--nearest-neighbour", nearestNeighbour), ("--per-source", perSource)] where given {
            throw ValidationError("\(flag) does not apply to the sequence checkpoint \(url.path) (\(record.recipe ?? seq.step.learner.rawValue)); it is evaluated on episodes shaped as in training")
        }
        let c = seq.step
        let alphabets = try split.map(DataLocator.split) ?? record.testSplit
        let dataset = try SequenceData.load(data ?? record.data, alphabets: alphabets, rotations: [0], c)
        let sampler = try SequenceEpisodeSampler(dataset: dataset, config: SequenceData.episodes(c), seed: seed)
        let graph = try SequenceSteps.evalStep(c)
        let step = try ProgramFactory.make(graph.graph, backend: backend, memoryLimit: memoryLimit)
        var store = try ParameterStore(specs: graph.parameters, seed: 0, memoryLimit: memoryLimit)
        _ = try store.load(from: url)
        for (n, v) in store.values { try step.set(n, v) }
        let total = episodes ?? 600
        var accuracies: [Double] = [], losses: [Double] = [], perInstance = PerInstanceAccuracy()
        let started = Date()
        var index = 0
        while accuracies.count < total {
            let batch = try sampler.batch(at: index)
            for (n, v) in SequenceData.feeds(batch) { try step.feed(n, v) }
            try step.execute()
            let taken = min(c.batchSize, total - accuracies.count)
            accuracies += try step.value(StepSignature.taskAccuracyName).data.prefix(taken)
            losses.append(try step.scalar(StepSignature.lossName))
            if c.learner == .mann {
                let steps = taken * c.length
                perInstance.add(correct: Array(try step.value(SequenceSteps.correctName).data.prefix(steps)),
                                instances: Array(batch.instances.prefix(steps)))
            }
            index += 1
        }
        let seconds = Date().timeIntervalSince(started)
        let result = EvalResult(accuracies: accuracies, losses: losses)
        var json: [String: Any] = [
            "learner": c.learner.rawValue, "recipe": record.recipe.map { $0 as Any } ?? NSNull(), "accuracy": result.accuracy,
            "ci95": result.ci95, "episodes": result.episodes, "loss": result.loss, "ways": c.ways,
            "samples_per_class": c.samplesPerClass, "length": c.length, "labels": c.stringLabels ? "strings" : "onehot", "split": alphabets, "seed": seed,
            "checkpoint": url.path, "eval_episodes_per_s": Double(result.episodes) / max(seconds, 1e-9)]
        switch c.learner {
        case .mann:
            let ks = [1, 2, 3, 5, 10], names = ["1st", "2nd", "3rd", "5th", "10th"]
            let parts = zip(names, ks).map { name, k in
                "\(name) " + (perInstance.accuracy(instance: k).map { String(format: "%.1f%%", $0 * 100) } ?? "n/a")
            }
            print("per-instance accuracy: " + parts.joined(separator: " "))
            var table: [String: Any] = [:]
            for k in 1...max(perInstance.total.count, 1) {
                if let a = perInstance.accuracy(instance: k) { table[String(k)] = a }
            }
            json["per_instance"] = table
        case .snail:
            print(result)
        }
        print(String(decoding: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]), as: UTF8.self))
    }
}
