import Foundation
import Interpreter
import MetaIR

/// Why training stopped early.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// The loss or an updated parameter was NaN or infinite.
    case nonFinite(iteration: Int, what: String, checkpoint: String?)
    /// The step graph lacks an output the loop needs.
    case missingOutput(String)
    /// The data source ran dry.
    case outOfData(iteration: Int)

    /// Human-readable message.
    public var description: String {
        switch self {
        case .nonFinite(let i, let what, let ckpt):
            return "training stopped at iteration \(i): \(what) is not finite; "
                + (ckpt.map { "the last good checkpoint is \($0)" } ?? "no checkpoint was written yet")
        case .missingOutput(let n): return "the step graph has no output \"\(n)\""
        case .outOfData(let i): return "the data loader stopped at iteration \(i)"
        }
    }
}

/// Options of the episode loop.
public struct TrainerOptions {
    /// Total meta-iterations (including those done before a resume).
    public var iterations: Int
    /// Output folder (checkpoint, metrics).
    public var outputDirectory: URL
    /// Write a checkpoint every this many iterations (and at the end).
    public var checkpointEvery: Int
    /// Evaluate on the validation split every this many iterations (0: never).
    public var evaluateEvery: Int
    /// Outer learning rate for an iteration (schedules such as ProtoNet's halving).
    public var learningRate: @Sendable (Int) -> Double
    /// Tasks per meta-batch (for episodes/s).
    public var tasksPerBatch: Int
    /// Show a progress line on stderr.
    public var progress: Bool

    /// Creates options.
    public init(iterations: Int, outputDirectory: URL, checkpointEvery: Int, evaluateEvery: Int,
                learningRate: @escaping @Sendable (Int) -> Double, tasksPerBatch: Int, progress: Bool = true) {
        self.iterations = iterations
        self.outputDirectory = outputDirectory
        self.checkpointEvery = checkpointEvery
        self.evaluateEvery = evaluateEvery
        self.learningRate = learningRate
        self.tasksPerBatch = tasksPerBatch
        self.progress = progress
    }
}

/// The meta-training episode loop: feed batches to the compiled step, write its `update.*`
/// outputs back into the parameters, log metrics as JSON lines, evaluate, checkpoint.
public final class Trainer {
    /// The checkpoint file name inside the output folder.
    public static let checkpointName = "checkpoint.safetensors"
    /// The metrics file name inside the output folder.
    public static let metricsName = "metrics.jsonl"

    /// Parameters and optimiser state.
    public private(set) var store: ParameterStore
    /// Iterations done.
    public private(set) var iteration: Int
    private let step: Executable
    private let signature: StepSignature
    /// The step's learning-rate input (a training signature always has one).
    private let learningRateInput: String
    private let options: TrainerOptions
    private let metadata: [String: String]
    private var metrics: MetricsLog

    /// Creates a loop over `step`, whose inputs and outputs `signature` names (by default
    /// the episodic conventions read off its graph); with `resume`, continues from the output
    /// folder's checkpoint.
    public init(step: Executable, signature: StepSignature? = nil, store: ParameterStore, options: TrainerOptions,
                metadata: [String: String], resume: Bool) throws {
        let signature = signature ?? StepSignature.episodic(.train, of: step.graph)
        try signature.validate(against: step.graph)
        guard let learningRateInput = signature.learningRate else {
            throw TrainingError.missingOutput(StepSignature.learningRateName)
        }
        self.step = step
        self.signature = signature
        self.learningRateInput = learningRateInput
        self.options = options
        self.metadata = metadata
        var store = store
        let ckpt = options.outputDirectory.appendingPathComponent(Self.checkpointName)
        let iteration = try Self.prepareCheckpoint(ckpt, store: &store, resume: resume)
        self.store = store
        self.iteration = iteration
        metrics = try MetricsLog(url: options.outputDirectory.appendingPathComponent(Self.metricsName),
                                 keepThrough: resume ? iteration : 0)
    }

    /// Runs until `options.iterations`. `batch(i)` gives iteration `i`'s inputs;
    /// `evaluate` scores the current parameters on the validation split.
    ///
    /// Parameters and optimiser state stay inside the step between iterations (native
    /// buffers for a compiled step): inputs are written straight in, the update outputs are
    /// applied after a finite step, and the store is refreshed only to checkpoint or evaluate.
    public func run(batch: (Int) throws -> [String: FeedValue]?,
                    evaluate: ((ParameterStore) throws -> EvalResult)?) throws {
        let bar = ProgressLine(total: options.iterations, enabled: options.progress)
        let recorder = IterationRecorder(options: options, bar: bar, startIteration: iteration)
        var lastCheckpoint: String? = FileManager.default.fileExists(atPath: checkpointURL.path) ? checkpointURL.path : nil
        for (n, v) in store.values { try step.set(n, v) }
        func syncStore() throws {
            for s in store.specs { try store.set(s.name, try step.value(s.name)) }
        }
        let updateOutputs = signature.updates.map(\.output)
        let parameterOf = Dictionary(signature.updates.map { ($0.output, $0.parameter) }, uniquingKeysWith: { a, _ in a })
        while iteration < options.iterations {
            guard let inputs = try batch(iteration) else { throw TrainingError.outOfData(iteration: iteration) }
            let lr = options.learningRate(iteration)
            for (n, v) in inputs { try step.feed(n, v) }
            try step.set(learningRateInput, HostTensor(TensorType(.f32, .scalar), [lr]))
            try step.execute()
            let loss = try step.scalar(signature.loss)
            let accuracy = try signature.accuracy.map { try step.scalar($0) }
            guard loss.isFinite else {
                throw TrainingError.nonFinite(iteration: iteration + 1, what: "the loss (\(loss))", checkpoint: lastCheckpoint)
            }
            if let bad = try step.firstNonFinite(among: updateOutputs) {
                throw TrainingError.nonFinite(iteration: iteration + 1, what: "parameter \(parameterOf[bad] ?? bad)",
                                              checkpoint: lastCheckpoint)
            }
            try step.apply(signature.updates)
            iteration += 1
            if try recorder.record(iteration: iteration, loss: loss, accuracy: accuracy, lr: lr, metrics: metrics,
                                   sync: syncStore, evaluate: evaluate.map { e in { try e(self.store) } },
                                   checkpoint: saveCheckpoint) {
                lastCheckpoint = checkpointURL.path
            }
        }
        try syncStore()
        bar.finish()
    }

    /// Clears a killed write's temporary files beside `checkpoint`; with `resume`, loads the
    /// checkpoint into `store` and returns its iteration (0 otherwise).
    /// - Throws: ``CheckpointError`` for a checkpoint that cannot be read or has no iteration.
    static func prepareCheckpoint(_ checkpoint: URL, store: inout ParameterStore, resume: Bool) throws -> Int {
        SafeTensors.removeStaleTemporaries(besides: checkpoint)
        guard resume else { return 0 }
        let meta = try store.load(from: checkpoint)
        guard let iteration = meta["iteration"].flatMap(Int.init) else {
            throw CheckpointError(path: checkpoint.path, message: "metadata has no iteration")
        }
        return iteration
    }

    /// The checkpoint path.
    public var checkpointURL: URL { options.outputDirectory.appendingPathComponent(Self.checkpointName) }

    /// Writes parameters, optimiser state, iteration and run metadata, atomically.
    public func saveCheckpoint() throws {
        var meta = metadata
        meta["iteration"] = String(iteration)
        try store.save(to: checkpointURL, metadata: meta)
    }
}
