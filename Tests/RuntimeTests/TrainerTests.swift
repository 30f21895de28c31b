import EpisodeData
import Foundation
import Interpreter
import MetaIR
import MetaLearning
import Runtime
import Testing

/// The metrics lines of a run without the wall-clock fields (`elapsed_s`, `episodes_per_s`).
private func metricsLines(_ dir: URL) throws -> [String] {
    let text = try String(contentsOf: dir.appendingPathComponent(Trainer.metricsName), encoding: .utf8)
    return try text.split(separator: "\n").map { line in
        var obj = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        obj["elapsed_s"] = nil
        obj["episodes_per_s"] = nil
        return String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self)
    }
}

@Suite("Trainer: resume and non-finite stop (JIT)")
struct TrainerTests {
    /// Interrupted after iteration 5 (checkpoint at 4), then resumed from the checkpoint by a
    /// new `Trainer` and a loader started at its iteration, as `metajit train --resume` does.
    @Test("resuming from a checkpoint gives the same parameters and metrics as an uninterrupted run",
          .enabled(if: RT.hasOmniglot, RT.noOmniglot))
    func resumeEquivalence() throws {
        let total = 8, every = 4, crashAfter = 5
        try #require(OmniglotFixture.steps[.anil]).use { s in
            let sampler = try EpisodeSampler(dataset: RT.trainData(), config: OmniglotFixture.episodes, seed: 21)
            func run(_ dir: URL, resume: Bool, stopAt: Int? = nil) throws -> Trainer {
                let trainer = try Trainer(step: s.program, store: ParameterStore(specs: s.step.parameters, seed: 9),
                                          options: RT.options(iterations: total, dir: dir, checkpointEvery: every, lr: 3e-3,
                                                              tasks: OmniglotFixture.metaBatch),
                                          metadata: ["format": "metajit-checkpoint-1"], resume: resume)
                let loader = try sampler.makeLoader(threads: 2, capacity: 4, start: trainer.iteration)
                defer { loader.stop() }
                try trainer.run(batch: { i in
                    if let stopAt, i == stopAt { return nil }
                    guard let b = try loader.next() else { return nil }
                    precondition(b.index == i, "loader out of order")
                    return RT.feeds(b)
                }, evaluate: nil)
                return trainer
            }
            let straightDir = try RT.tempDir("straight"), resumedDir = try RT.tempDir("resumed")
            defer { RT.remove(straightDir); RT.remove(resumedDir) }
            let straight = try run(straightDir, resume: false)

            #expect(throws: TrainingError.outOfData(iteration: crashAfter)) { _ = try run(resumedDir, resume: false, stopAt: crashAfter) }
            #expect(try metricsLines(resumedDir).count == crashAfter)
            #expect(try ParameterStore.metadata(of: resumedDir.appendingPathComponent(Trainer.checkpointName))["iteration"] == "\(every)")
            let resumed = try run(resumedDir, resume: true)

            #expect(resumed.iteration == total && straight.iteration == total)
            #expect(resumed.store.specs == straight.store.specs)
            var worst = 0.0
            for spec in straight.store.specs {
                let a = try #require(straight.store.values[spec.name]), b = try #require(resumed.store.values[spec.name])
                for (x, y) in zip(a.data, b.data) { worst = max(worst, abs(x - y)) }
            }
            #expect(resumed.store == straight.store, "parameters differ by up to \(worst)")
            let lines = try metricsLines(straightDir), resumedLines = try metricsLines(resumedDir)
            #expect(lines.count == total)
            #expect(resumedLines == lines)
            // The checkpoints on disk match too.
            var a = ParameterStore(specs: s.step.parameters, seed: 0), b = a
            _ = try a.load(from: straightDir.appendingPathComponent(Trainer.checkpointName))
            _ = try b.load(from: resumedDir.appendingPathComponent(Trainer.checkpointName))
            #expect(a == b && a == straight.store)
            RT.note("resume: \(total) iterations straight vs \(crashAfter) + resume from \(every): max parameter difference \(worst)")
        }
    }

    /// Runs the sinusoid step from `seed`; `poison(i)` may spoil iteration `i`'s inputs.
    static func sinusoidRun(_ s: CompiledStep, dir: URL, iterations: Int, every: Int,
                            lr: @escaping @Sendable (Int) -> Double = { _ in 1e-3 },
                            poison: (Int, inout [String: FeedValue]) -> Void = { _, _ in }) throws -> Trainer {
        let tasks = try SinusoidFixture.generator(seed: 2)
        let options = TrainerOptions(iterations: iterations, outputDirectory: dir, checkpointEvery: every, evaluateEvery: 0,
                                     learningRate: lr, tasksPerBatch: SinusoidFixture.tasks, progress: false)
        let trainer = try Trainer(step: s.program, store: ParameterStore(specs: s.step.parameters, seed: 4),
                                  options: options, metadata: [:], resume: false)
        try trainer.run(batch: { i in
            var f = SinusoidFixture.feeds(tasks.batch(at: i))
            poison(i, &f)
            return f
        }, evaluate: nil)
        return trainer
    }

    static func checkStopped(_ error: TrainingError, dir: URL, goodIteration: Int, reference: ParameterStore,
                             specs: [ParameterSpec], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let ckpt = dir.appendingPathComponent(Trainer.checkpointName)
        guard case .nonFinite(_, _, let named) = error else {
            Issue.record("expected TrainingError.nonFinite, got \(error)", sourceLocation: sourceLocation)
            return
        }
        #expect(named == ckpt.path, sourceLocation: sourceLocation)
        #expect(error.description.contains("the last good checkpoint is \(ckpt.path)"), "\(error)", sourceLocation: sourceLocation)
        var onDisk = ParameterStore(specs: specs, seed: 0)
        let meta = try onDisk.load(from: ckpt)
        #expect(meta["iteration"] == "\(goodIteration)", sourceLocation: sourceLocation)
        #expect(onDisk.isFinite, sourceLocation: sourceLocation)
        #expect(onDisk == reference, "the checkpoint is not the state after iteration \(goodIteration)", sourceLocation: sourceLocation)
    }

    /// A NaN query target makes the loss NaN. A NaN query input does not: `relu` maps NaN to 0
    /// (its defined semantics, `ScalarSemantics`, on both back ends), so the loss stays finite
    /// and the NaN shows in the meta-gradient, caught by the check of the `update.*` outputs.
    @Test("a NaN in the inputs stops training with TrainingError.nonFinite naming the last good checkpoint",
          arguments: ["query_y", "query_x"])
    func nanInput(_ poisoned: String) throws {
        try SinusoidFixture.shared.use { s in
            let refDir = try RT.tempDir("nan-ref"), dir = try RT.tempDir("nan")
            defer { RT.remove(refDir); RT.remove(dir) }
            // The state after 3 good iterations, for comparison.
            let reference = try Self.sinusoidRun(s, dir: refDir, iterations: 3, every: 3).store
            var caught: TrainingError?
            do {
                _ = try Self.sinusoidRun(s, dir: dir, iterations: 10, every: 3, poison: { i, feeds in
                    guard i == 4, case .f32(var x, let shape) = feeds[poisoned] else { return }
                    x[1] = .nan
                    feeds[poisoned] = .f32(x, shape)
                })
                Issue.record("training did not stop")
            } catch let e as TrainingError {
                caught = e
            }
            let error = try #require(caught)
            guard case .nonFinite(let iteration, let what, _) = error else {
                Issue.record("expected nonFinite, got \(error)")
                return
            }
            #expect(iteration == 5)
            if poisoned == "query_y" {
                #expect(what == "the loss (nan)", "\(error)")
            } else {
                #expect(what.hasPrefix("parameter "), "\(error)")
            }
            try Self.checkStopped(error, dir: dir, goodIteration: 3, reference: reference, specs: s.step.parameters)
            #expect(try metricsLines(dir).count == 4, "metrics of iterations 1–4 only")
            RT.note("NaN in \(poisoned): \(error)")
        }
    }

    @Test("an absurd learning rate stops training with TrainingError.nonFinite; the checkpoint stays the last good one")
    func absurdLearningRate() throws {
        try SinusoidFixture.shared.use { s in
            let refDir = try RT.tempDir("lr-ref"), dir = try RT.tempDir("lr")
            defer { RT.remove(refDir); RT.remove(dir) }
            let reference = try Self.sinusoidRun(s, dir: refDir, iterations: 3, every: 3).store
            var caught: TrainingError?
            do {
                _ = try Self.sinusoidRun(s, dir: dir, iterations: 10, every: 3, lr: { $0 >= 3 ? 1e30 : 1e-3 })
                Issue.record("training did not stop")
            } catch let e as TrainingError {
                caught = e
            }
            let error = try #require(caught)
            guard case .nonFinite(let iteration, _, _) = error else {
                Issue.record("expected nonFinite, got \(error)")
                return
            }
            // Iteration 4 takes a 1e30 step (finite weights), the forward pass of iteration 5 overflows;
            // either way it stops before the next checkpoint (iteration 6).
            #expect((4...5).contains(iteration), "\(error)")
            try Self.checkStopped(error, dir: dir, goodIteration: 3, reference: reference, specs: s.step.parameters)
            RT.note("absurd learning rate: \(error)")
        }
    }
}
