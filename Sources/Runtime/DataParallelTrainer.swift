import Foundation
import Interpreter
import MetaIR

/// Where the time of a data-parallel run went, summed over the iterations run.
public struct DataParallelTiming: Sendable, Equatable {
    /// Iterations timed (all but the first after a start).
    public var iterations = 0
    /// Waiting for this process's share of the batch.
    public var dataSeconds = 0.0
    /// The gradient step (forward and meta-gradient of the share).
    public var gradientSeconds = 0.0
    /// Packing, the allreduce, unpacking.
    public var allreduceSeconds = 0.0
    /// The compiled outer update and the parameter copy back into the gradient step.
    public var updateSeconds = 0.0
    /// Bytes of the flat buffer reduced every iteration (gradients, loss, accuracy).
    public var bufferBytes = 0

    /// Seconds of one iteration, on average (data excluded).
    public var stepSeconds: Double { (gradientSeconds + allreduceSeconds + updateSeconds) / Double(max(iterations, 1)) }
    /// The allreduce's fraction of a step (data excluded).
    public var allreduceShare: Double {
        let total = gradientSeconds + allreduceSeconds + updateSeconds
        return total > 0 ? allreduceSeconds / total : 0
    }
}

/// The meta-training loop of one process of a data-parallel run.
///
/// Every process runs the gradient step on its share of the meta-batch, the partial
/// gradients (with the loss and accuracy partials) are summed in place in one flat `f32`
/// buffer by `reducer`, and every process then runs the same compiled update step, so all
/// hold the same parameters. Rank 0 alone logs metrics, evaluates and writes checkpoints;
/// on resume it reads the checkpoint and broadcasts parameters, optimiser state and the
/// iteration, so any number of processes can continue any checkpoint.
public final class DataParallelTrainer {
    /// Parameters and optimiser state (current on every rank after `run`).
    public private(set) var store: ParameterStore
    /// Iterations done.
    public private(set) var iteration: Int
    /// Where the time went.
    public private(set) var timing = DataParallelTiming()
    private let gradientStep: Executable, updateStep: Executable
    private let gradientSignature: StepSignature, updateSignature: StepSignature
    private let learningRateInput: String
    private let reducer: GradientReducer
    private let options: TrainerOptions
    private let metadata: [String: String]
    private var metrics: MetricsLog?
    /// Offsets of each gradient in the flat buffer; the loss and accuracy partials follow.
    private let layout: [(gradient: String, input: String, offset: Int, count: Int)]
    private let gradientElements: Int

    /// Creates the loop. `gradientStep` and `updateStep` are the two halves built by
    /// `StepBuilder.gradientStep` / `updateStep`; `store` holds every parameter of the update
    /// step. With `resume`, rank 0 continues from the output folder's checkpoint.
    public init(gradientStep: Executable, gradientSignature: StepSignature, updateStep: Executable,
                updateSignature: StepSignature, store: ParameterStore, options: TrainerOptions,
                metadata: [String: String], resume: Bool, reducer: GradientReducer) throws {
        try gradientSignature.validate(against: gradientStep.graph)
        try updateSignature.validate(against: updateStep.graph)
        guard gradientSignature.kind == .gradient, updateSignature.kind == .update else {
            throw DistributedError.configuration("expected a gradient step and an update step")
        }
        guard let lr = updateSignature.learningRate else { throw TrainingError.missingOutput(StepSignature.learningRateName) }
        let outputs = Dictionary(gradientSignature.gradients.map { ($0.parameter, $0.name) }, uniquingKeysWith: { a, _ in a })
        let types = Dictionary(updateStep.graph.parameters.map { ($0.name, updateStep.graph.nodes[$0.node].type) },
                               uniquingKeysWith: { a, _ in a })
        var layout: [(String, String, Int, Int)] = [], offset = 0
        for g in updateSignature.gradients {
            guard let out = outputs[g.parameter], let t = types[g.parameter] else {
                throw DistributedError.configuration("the gradient step has no gradient of \(g.parameter)")
            }
            layout.append((out, g.name, offset, t.shape.count))
            offset += t.shape.count
        }
        guard layout.count == gradientSignature.gradients.count else {
            throw DistributedError.configuration("the gradient and update steps disagree on the parameters")
        }
        self.layout = layout
        gradientElements = offset
        self.gradientStep = gradientStep
        self.updateStep = updateStep
        self.gradientSignature = gradientSignature
        self.updateSignature = updateSignature
        learningRateInput = lr
        self.reducer = reducer
        self.options = options
        self.metadata = metadata
        var store = store
        var iteration: Int64 = 0
        let ckpt = options.outputDirectory.appendingPathComponent(Trainer.checkpointName)
        if reducer.rank == 0 {
            iteration = Int64(try Trainer.prepareCheckpoint(ckpt, store: &store, resume: resume))
        }
        // Rank 0's parameters and iteration for everyone (fresh runs agree already: same seed).
        var it = [iteration]
        try it.withUnsafeMutableBufferPointer { try reducer.broadcast($0, from: 0) }
        for s in store.specs {
            guard let v = store.values[s.name] else { continue }
            var f = v.data.map(Float.init)
            try f.withUnsafeMutableBufferPointer { try reducer.broadcast($0, from: 0) }
            try store.set(s.name, HostTensor(v.type, f.map(Double.init)))
        }
        self.store = store
        self.iteration = Int(it[0])
        timing.bufferBytes = (gradientElements + 2) * MemoryLayout<Float>.stride
        if reducer.rank == 0 {
            metrics = try MetricsLog(url: options.outputDirectory.appendingPathComponent(Trainer.metricsName),
                                     keepThrough: resume ? Int(it[0]) : 0)
        }
    }

    /// The checkpoint path.
    public var checkpointURL: URL { options.outputDirectory.appendingPathComponent(Trainer.checkpointName) }

    /// Runs until `options.iterations`. `batch(i)` gives this process's share of iteration
    /// `i`'s meta-batch; `evaluate` (used on rank 0 only) scores the current parameters.
    public func run(batch: (Int) throws -> [String: FeedValue]?,
                    evaluate: ((ParameterStore) throws -> EvalResult)?) throws {
        let lead = reducer.rank == 0
        let bar = ProgressLine(total: options.iterations, enabled: options.progress && lead)
        let startIteration = iteration
        let recorder = IterationRecorder(options: options, bar: bar, startIteration: iteration)
        var lastCheckpoint: String? = lead && FileManager.default.fileExists(atPath: checkpointURL.path) ? checkpointURL.path : nil
        let counts = Dictionary(store.specs.map { ($0.name, $0.type.shape.count) }, uniquingKeysWith: { a, _ in a })
        // The learned parameters the gradient step reads, refreshed from the update step after each update.
        let gradientParameters = gradientStep.graph.parameters.map(\.name).compactMap { n in counts[n].map { (n, $0) } }
        for (n, v) in store.values { try updateStep.set(n, v) }
        for (n, _) in gradientParameters { guard let v = store.values[n] else { continue }; try gradientStep.set(n, v) }
        var scratch = [Float](repeating: 0, count: gradientParameters.map(\.1).max() ?? 0)
        var flat = [Float](repeating: 0, count: gradientElements + 2)
        let updateOutputs = updateSignature.updates.map(\.output)
        let parameterOf = Dictionary(updateSignature.updates.map { ($0.output, $0.parameter) }, uniquingKeysWith: { a, _ in a })
        while iteration < options.iterations {
            var t = Date()
            func lap() -> Double { let now = Date(); defer { t = now }; return now.timeIntervalSince(t) }
            guard let inputs = try batch(iteration) else { throw TrainingError.outOfData(iteration: iteration) }
            let dataSeconds = lap()
            for (n, v) in inputs { try gradientStep.feed(n, v) }
            try gradientStep.execute()
            let gradientSeconds = lap()
            try flat.withUnsafeMutableBufferPointer { buffer in
                for l in layout {
                    try gradientStep.readFloats(l.gradient, into: UnsafeMutableBufferPointer(rebasing: buffer[l.offset..<(l.offset + l.count)]))
                }
                buffer[gradientElements] = Float(try gradientStep.scalar(gradientSignature.loss))
                buffer[gradientElements + 1] = Float(try gradientSignature.accuracy.map { try gradientStep.scalar($0) } ?? 0)
                try reducer.allreduceSum(buffer)
                for l in layout {
                    try updateStep.writeFloats(l.input, from: UnsafeBufferPointer(rebasing: buffer[l.offset..<(l.offset + l.count)]))
                }
            }
            let allreduceSeconds = lap()
            let loss = Double(flat[gradientElements])
            let accuracy = gradientSignature.accuracy.map { _ in Double(flat[gradientElements + 1]) }
            guard loss.isFinite else {
                throw TrainingError.nonFinite(iteration: iteration + 1, what: "the loss (\(loss))", checkpoint: lastCheckpoint)
            }
            let lr = options.learningRate(iteration)
            try updateStep.set(learningRateInput, HostTensor(TensorType(.f32, .scalar), [lr]))
            try updateStep.execute()
            // Every rank reduced the same buffer and runs the same update: all agree here.
            if let bad = try updateStep.firstNonFinite(among: updateOutputs) {
                throw TrainingError.nonFinite(iteration: iteration + 1, what: "parameter \(parameterOf[bad] ?? bad)",
                                              checkpoint: lastCheckpoint)
            }
            try updateStep.apply(updateSignature.updates)
            for (n, count) in gradientParameters {
                try scratch.withUnsafeMutableBufferPointer { s in
                    let part = UnsafeMutableBufferPointer(rebasing: s[0..<count])
                    try updateStep.readFloats(n, into: part)
                    try gradientStep.writeFloats(n, from: UnsafeBufferPointer(part))
                }
            }
            let updateSeconds = lap()
            // The first iteration after start waits for the slowest rank's compile and data
            // load: the timings leave it out.
            if iteration > startIteration {
                timing.dataSeconds += dataSeconds
                timing.gradientSeconds += gradientSeconds
                timing.allreduceSeconds += allreduceSeconds
                timing.updateSeconds += updateSeconds
                timing.iterations += 1
            }
            iteration += 1
            guard lead else { continue }
            if try recorder.record(iteration: iteration, loss: loss, accuracy: accuracy, lr: lr,
                                   extra: ["ranks": Double(reducer.size), "allreduce_share": timing.allreduceShare],
                                   metrics: metrics, sync: syncStore, evaluate: evaluate.map { e in { try e(self.store) } },
                                   checkpoint: saveCheckpoint) {
                lastCheckpoint = checkpointURL.path
            }
        }
        try syncStore()
        bar.finish()
    }

    private func syncStore() throws {
        for s in store.specs { try store.set(s.name, try updateStep.value(s.name)) }
    }

    /// Writes parameters, optimiser state, iteration and run metadata atomically (rank 0's
    /// job; other ranks do nothing).
    public func saveCheckpoint() throws {
        guard reducer.rank == 0 else { return }
        var meta = metadata
        meta["iteration"] = String(iteration)
        try store.save(to: checkpointURL, metadata: meta)
    }
}
