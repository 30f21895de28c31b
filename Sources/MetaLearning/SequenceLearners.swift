import Autodiff
import GraphDSL
import MetaIR

// Model sizes of the bundled recipes (Graphs/SequenceRecipes.swift), for peers that mirror them
// (Benchmarks/peers/sequence_peer.py):
//
// MANN (Santoro et al. 2016), recipe mann-omniglot-5way: 5 ways × 10 samples (T = 50), batch 16,
//   images 20×20 flattened (400), one-hot labels (5-d, shown one step late; the paper's Table 1
//   setting; SequenceStepConfig.stringLabels gives its 25-d five-character strings instead).
//   Controller LSTM, 200 units, input per step [image 400, previous label 5, previous reads 4×40]
//     (gates i, f, g, o; weights wx [405, 800], wr [160, 800], wh [200, 800], b [800]).
//   Memory 128 slots × 40, 4 heads; from h: keys tanh(h·Wk + bk) [4, 40], write gates α = h·Wα + bα [4],
//     key strengths β = 1 + softplus(h·Wβ + bβ) [4]; LRU access with usage decay γ = 0.95; the
//     memory starts at 1e-6, usage and read weights at 0. Each head writes and reads its key.
//   Output linear [h 200, reads 160] → 5 logits per step (strings: 25, the loss summed over the
//     5 groups); softmax cross-entropy, mean over B·T steps; gradients clipped to global norm 10; Adam 1e-3.
// SNAIL (Mishra et al. 2018), recipes snail-omniglot-5w1s (batch 32) / snail-omniglot-20w1s (batch 16):
//   images 28×28; Conv-4 embedding (4 × [conv 3×3 64, batch norm over all B·T images, relu,
//     max-pool 2]) → 64, FC 64 → 64; per-step input [embedding 64, one-hot label N (zeros at the query)].
//   attention(key 64, value 32) → TC(128) → attention(256, 128) → TC(128) → attention(512, 256)
//     → per-step linear to N. TC(128) = ⌈log₂ T⌉ dense blocks, dilations 1, 2, 4, …, each a causal
//     kernel-2 conv pair (128 filters) tanh ⊙ sigmoid, concatenated. T = N + 1 (1-shot).
//   Loss: softmax cross-entropy on the last (query) step only, mean over the batch;
//     gradients clipped to global norm 10; Adam 1e-3.

/// The sequence meta-learners: one episode is one sequence, read step by step.
public enum SequenceLearner: String, Sendable, Codable, CaseIterable {
    /// Memory-augmented neural network (Santoro et al. 2016): an LSTM controller with an
    /// external memory under least-recently-used access, over delayed-label episodes.
    case mann
    /// Simple neural attentive learner (Mishra et al. 2018): Conv-4 embeddings through
    /// interleaved causal attention and temporal-convolution blocks, scored on the query.
    case snail
}

/// The shape and sizes of one sequence learner's step.
public struct SequenceStepConfig: Sendable, Hashable, Codable {
    /// Which learner.
    public var learner: SequenceLearner
    /// Classes per episode.
    public var ways: Int
    /// Samples per class (MANN) or shots per class (SNAIL).
    public var samplesPerClass: Int
    /// Episodes per batch.
    public var batchSize: Int
    /// Santoro's five-character string labels (5 groups of 5) instead of one-hot (MANN only).
    public var stringLabels: Bool
    /// Image side (square, one channel).
    public var imageSize: Int
    /// MANN: controller LSTM units.
    public var controllerSize: Int = 200
    /// MANN: memory slots.
    public var memorySlots: Int = 128
    /// MANN: values per memory slot.
    public var memoryWidth: Int = 40
    /// MANN: read (and write) heads.
    public var readHeads: Int = 4
    /// MANN: usage decay γ.
    public var usageDecay: Double = 0.95
    /// SNAIL: Conv-4 filters per block.
    public var convWidth: Int = 64
    /// SNAIL: embedding size after the FC layer.
    public var embeddingSize: Int = 64
    /// SNAIL: key sizes of the three attention blocks.
    public var attentionKeys: [Int] = [64, 256, 512]
    /// SNAIL: value sizes of the three attention blocks.
    public var attentionValues: [Int] = [32, 128, 256]
    /// SNAIL: filters per dense block of the two TC blocks.
    public var tcFilters: Int = 128
    /// The outer optimiser.
    public var optimizer: OuterOptimizer = .adam
    /// Clip the gradient to this global norm before the update (0: no clipping).
    public var clipNorm: Double = 10

    /// Creates a configuration with the paper's model sizes.
    public init(learner: SequenceLearner, ways: Int, samplesPerClass: Int, batchSize: Int,
                stringLabels: Bool = false, imageSize: Int? = nil) {
        self.learner = learner
        self.ways = ways
        self.samplesPerClass = samplesPerClass
        self.batchSize = batchSize
        self.stringLabels = stringLabels
        self.imageSize = imageSize ?? (learner == .mann ? 20 : 28)
    }

    /// Steps per episode: `N·S` (MANN), `N·K + 1` (SNAIL).
    public var length: Int { ways * samplesPerClass + (learner == .snail ? 1 : 0) }
    /// Target indices per step: 5 characters for strings, else 1.
    public var labelGroups: Int { stringLabels ? 5 : 1 }
    /// Classes per target index: 5 letters for strings, else `ways`.
    public var labelAlphabet: Int { stringLabels ? 5 : ways }
    /// Values of one encoded label.
    public var labelWidth: Int { labelGroups * labelAlphabet }
    /// Scored steps per episode: every step (MANN), the query (SNAIL).
    public var scoredSteps: Int { learner == .mann ? length : 1 }

    /// Checks the configuration.
    /// - Throws: ``StepConfigError`` naming the first field out of range.
    public func validate() throws {
        func atLeast(_ v: Int, _ m: Int, _ field: String) throws {
            guard v >= m else { throw StepConfigError(field: field, message: "must be at least \(m), got \(v)") }
        }
        try atLeast(ways, learner == .snail ? 2 : 1, "ways")
        try atLeast(samplesPerClass, 1, "samplesPerClass")
        try atLeast(batchSize, 1, "batchSize")
        guard !(stringLabels && learner == .snail) else {
            throw StepConfigError(field: "stringLabels", message: "SNAIL classifies the query into N one-hot classes; string labels apply to MANN")
        }
        guard !stringLabels || ways <= 3125 else {
            throw StepConfigError(field: "ways", message: "string labels have 3125 distinct values, fewer than \(ways) ways")
        }
        guard clipNorm >= 0, clipNorm.isFinite else { throw StepConfigError(field: "clipNorm", message: "must be finite and ≥ 0, got \(clipNorm)") }
        switch learner {
        case .mann:
            try atLeast(imageSize, 1, "imageSize")
            for (v, f) in [(controllerSize, "controllerSize"), (memorySlots, "memorySlots"), (memoryWidth, "memoryWidth"), (readHeads, "readHeads")] {
                try atLeast(v, 1, f)
            }
            guard usageDecay >= 0, usageDecay <= 1 else { throw StepConfigError(field: "usageDecay", message: "must lie in [0, 1], got \(usageDecay)") }
        case .snail:
            try atLeast(imageSize, 16, "imageSize")   // Conv-4's four 2×2 pools need 16 pixels
            for (v, f) in [(convWidth, "convWidth"), (embeddingSize, "embeddingSize"), (tcFilters, "tcFilters")] { try atLeast(v, 1, f) }
            guard attentionKeys.count == 3, attentionValues.count == 3, (attentionKeys + attentionValues).allSatisfy({ $0 >= 1 }) else {
                throw StepConfigError(field: "attentionKeys", message: "SNAIL has three attention blocks with positive key and value sizes, got \(attentionKeys) / \(attentionValues)")
            }
        }
    }
}

/// The episode inputs of a sequence step.
public struct SequenceInputs {
    /// Images `[B, T, 1, S, S]`.
    public var images: Tensor
    /// Label inputs `[B, T, labelWidth]`.
    public var labelInputs: Tensor
    /// Targets `[B, T, labelGroups]` (`i32`).
    public var targets: Tensor

    /// Declares the three inputs of `c` in `b`.
    public init(_ b: GraphBuilder, _ c: SequenceStepConfig) throws {
        let (n, t, s) = (c.batchSize, c.length, c.imageSize)
        images = try b.input(SequenceSteps.imagesName, [n, t, 1, s, s])
        labelInputs = try b.input(SequenceSteps.labelInputsName, [n, t, c.labelWidth])
        targets = try b.input(SequenceSteps.targetsName, [n, t, c.labelGroups], dtype: .i32)
    }
}

/// What one batch of episodes computes.
public struct SequenceOutputs {
    /// Mean loss over the batch (MANN: per step, summed over label groups).
    public var loss: Tensor
    /// Per-episode accuracy `[B]` over the scored steps.
    public var taskAccuracy: Tensor
    /// Per scored step, 1 when every label group is right `[B, scoredSteps]`.
    public var correct: Tensor
}

/// Training and evaluation steps of the sequence learners. The whole `T`-step unroll is one
/// graph: training differentiates it end to end (backpropagation through time) and applies
/// the outer optimiser inside the step, as every other learner's training step does.
///
/// Inputs: `images` `[B, T, 1, S, S]`, `label_inputs` `[B, T, labelWidth]`, `targets`
/// `[B, T, labelGroups]` (`i32`), and `lr` when training. Outputs: `loss`, `accuracy`,
/// `task_accuracy` `[B]`, `correct` `[B, scoredSteps]` (per-instance accuracy), and the
/// `update.*` outputs when training.
public enum SequenceSteps {
    /// The image input.
    public static let imagesName = "images"
    /// The label input.
    public static let labelInputsName = "label_inputs"
    /// The target input.
    public static let targetsName = "targets"
    /// The per-step correctness output.
    public static let correctName = "correct"

    /// The learned parameters of `c`'s model.
    public static func parameterSpecs(_ c: SequenceStepConfig) -> [ParameterSpec] {
        switch c.learner {
        case .mann: return MANNModel(c).parameterSpecs
        case .snail: return SNAILModel(c).parameterSpecs
        }
    }

    /// Loss, accuracies and per-step correctness of one batch under parameters `p`.
    public static func episode(_ c: SequenceStepConfig, params p: Parameters, inputs io: SequenceInputs) throws -> SequenceOutputs {
        switch c.learner {
        case .mann: return try MANNModel(c).episode(p, io)
        case .snail: return try SNAILModel(c).episode(p, io)
        }
    }

    /// The training step: forward over the batch, gradient of the loss (BPTT through the
    /// unroll), global-norm clipping, outer update.
    /// - Throws: ``StepConfigError`` for a configuration ``SequenceStepConfig/validate()`` refuses.
    public static func trainStep(_ c: SequenceStepConfig) throws -> StepGraph {
        try c.validate()
        let learned = parameterSpecs(c)
        let state = c.optimizer.stateSpecs(for: learned)
        let b = GraphBuilder(name: "train-\(c.learner.rawValue)-\(c.ways)w\(c.samplesPerClass)s-b\(c.batchSize)")
        let p = try Parameters(declaring: learned, in: b)
        let s = try Parameters(declaring: state, in: b)
        let io = try SequenceInputs(b, c)
        let lr = try b.input(StepSignature.learningRateName, .scalar)
        let out = try episode(c, params: p, inputs: io)
        try emit(out, b)
        var grads = try Autodiff.grad(of: out.loss, wrt: p.all)
        if c.clipNorm > 0 { grads = try clipByGlobalNorm(grads, maxNorm: c.clipNorm).clipped }
        try c.optimizer.update(params: p, grads: Dictionary(uniqueKeysWithValues: zip(p.names, grads)), state: s,
                               learningRate: lr, builder: b)
        return try StepGraph(graph: try b.finish(), parameters: learned + state, kind: .train)
    }

    /// The evaluation step: the same forward pass, nothing rewritten.
    /// - Throws: ``StepConfigError`` for a configuration ``SequenceStepConfig/validate()`` refuses.
    public static func evalStep(_ c: SequenceStepConfig) throws -> StepGraph {
        try c.validate()
        let learned = parameterSpecs(c)
        let b = GraphBuilder(name: "eval-\(c.learner.rawValue)-\(c.ways)w\(c.samplesPerClass)s-b\(c.batchSize)")
        let p = try Parameters(declaring: learned, in: b)
        try emit(try episode(c, params: p, inputs: try SequenceInputs(b, c)), b)
        return try StepGraph(graph: try b.finish(), parameters: learned, kind: .eval)
    }

    static func emit(_ out: SequenceOutputs, _ b: GraphBuilder) throws {
        b.output(StepSignature.lossName, out.loss)
        b.output(StepSignature.accuracyName, try out.taskAccuracy.mean())
        b.output(StepSignature.taskAccuracyName, out.taskAccuracy)
        b.output(correctName, out.correct)
    }

    /// Loss and correctness of `logits` `[B, S, G·A]` against `targets` `[B, S, G]`: the
    /// softmax cross-entropy of each of the `G` groups of `A` logits, summed over groups and
    /// averaged over the `B·S` steps; a step is correct when every group's argmax is right.
    static func scored(logits: Tensor, targets: Tensor, groups: Int, alphabet: Int) throws -> SequenceOutputs {
        let (n, s) = (logits.shape[0], logits.shape[1])
        let grouped = try logits.reshaped([n, s, groups, alphabet])
        let target = try targets.oneHot(depth: alphabet).cast(to: .f32)                  // [B, S, G, A]
        let nll = try -(target * logSoftmax(grouped, axis: -1)).sum(axes: [2, 3])        // [B, S]
        let hits = try grouped.argmax(axis: -1).compare(.eq, targets).cast(to: .f32)     // [B, S, G]
        // All groups right = the minimum over groups, −max(−hits).
        let correct = try -((-hits).max(axes: [2]))                                      // [B, S]
        return SequenceOutputs(loss: try nll.mean(), taskAccuracy: try correct.mean(axes: [1]), correct: correct)
    }
}
