import Autodiff
import GraphDSL
import MetaIR

/// The meta-learners of few-shot text classification on the masked LSTM encoder.
public enum TextLearner: String, Sendable, Codable, CaseIterable {
    /// Prototypical Networks: prototypes are mean final hidden states, logits `−‖q − c_k‖²`.
    case protonet
    /// MAML (second order through the LSTM): inner SGD on the LSTM weights and a linear head.
    case maml
    /// Meta-SGD: MAML with a meta-learned rate tensor per adapted parameter.
    case metasgd
}

/// The shape and hyperparameters of a text step.
public struct TextStepConfig: Sendable, Codable, Equatable {
    /// The learner.
    public var learner: TextLearner
    /// Classes per episode.
    public var ways: Int
    /// Support texts per class.
    public var shots: Int
    /// Query texts per class.
    public var queries: Int
    /// Tokens per text.
    public var length: Int
    /// Rows of the embedding table (the tokeniser's vocabulary, unknown included).
    public var vocabulary: Int
    /// Embedding width `E`.
    public var embedding: Int
    /// LSTM hidden width `H`.
    public var hidden: Int
    /// Episodes per compiled call (meta-batch).
    public var metaBatch: Int
    /// Inner SGD steps (MAML, Meta-SGD).
    public var innerSteps: Int
    /// Inner learning rate (MAML; Meta-SGD's initial rates).
    public var innerLR: Double
    /// The outer optimiser.
    public var optimizer: OuterOptimizer

    /// Creates a configuration.
    public init(learner: TextLearner, ways: Int, shots: Int, queries: Int, length: Int, vocabulary: Int,
                embedding: Int, hidden: Int, metaBatch: Int, innerSteps: Int, innerLR: Double, optimizer: OuterOptimizer = .adam) {
        self.learner = learner
        self.ways = ways
        self.shots = shots
        self.queries = queries
        self.length = length
        self.vocabulary = vocabulary
        self.embedding = embedding
        self.hidden = hidden
        self.metaBatch = metaBatch
        self.innerSteps = innerSteps
        self.innerLR = innerLR
        self.optimizer = optimizer
    }

    /// Refuses shapes that cannot build a graph.
    public func validate() throws {
        for (field, value) in [("ways", ways), ("shots", shots), ("queries", queries), ("length", length),
                               ("vocabulary", vocabulary), ("embedding", embedding), ("hidden", hidden), ("metaBatch", metaBatch)] where value < 1 {
            throw StepConfigError(field: field, message: "must be at least 1, got \(value)")
        }
        guard innerSteps >= 0 else { throw StepConfigError(field: "innerSteps", message: "must be at least 0, got \(innerSteps)") }
        guard innerLR.isFinite else { throw StepConfigError(field: "innerLR", message: "must be finite, got \(innerLR)") }
    }
}

/// Training and evaluation steps of ``TextLearner``s, tasks stacked on axis 0.
///
/// Inputs: `support` `[B, N·K, T]` (`i32`, class-major, -1 at padding), `support_mask`
/// `[B, N·K, T]`, `query` `[B, N·Q, T]`, `query_mask`, `query_labels` `[B, N·Q]` (`i32`), and
/// `lr` for training. Outputs `loss`, `accuracy`, `task_accuracy` `[B]` and, for training,
/// `update.<parameter>` (the outer optimiser's step), so the ordinary `Trainer` and
/// `Evaluator` run them.
///
/// Parameters: `table` `[V, E]` (normal, σ = 0.3), `wx` `[E, 4H]` and `wh` `[H, 4H]`
/// (Glorot), `b` `[4H]` (zeros; gates in ``gateOrder``, no forget bias), and for MAML and
/// Meta-SGD the head `head.w` `[H, N]`, `head.b` `[N]`, both zeros (labels are a fresh
/// permutation every episode, so no initial head is better than another; from zero the first
/// inner step gives each class α/N times the sum of its support states), plus Meta-SGD's `lr.<name>`
/// for every adapted parameter (initially ``TextStepConfig/innerLR``).
///
/// The inner loop (MAML, Meta-SGD) adapts the LSTM (`wx`, `wh`, `b`) and the head, second
/// order in training (the meta-gradient flows through every inner step's gradient of the
/// LSTM); the embedding table is meta-learned in the outer loop only: a support set of 25
/// texts touches a few dozen of its rows, and adapting those alone would only memorise the
/// support words. Evaluation steps are first order (no meta-gradient is taken).
public enum TextSteps {
    /// `support`.
    public static let support = "support"
    /// `support_mask`.
    public static let supportMask = "support_mask"
    /// `query`.
    public static let query = "query"
    /// `query_mask`.
    public static let queryMask = "query_mask"
    /// `query_labels`.
    public static let queryLabels = "query_labels"
    /// The order of the four gates along the `4H` axis, as ``lstmCell(x:h:c:wx:wh:b:)`` slices it.
    public static let gateOrder = "i,f,g,o"
    /// Parameters the inner loop adapts (MAML, Meta-SGD).
    public static let adaptedNames = ["wx", "wh", "b", "head.w", "head.b"]
    /// The encoder's parameters (ProtoNet's whole model), in order.
    public static let encoderNames = ["table", "wx", "wh", "b"]

    /// The model's parameters: the encoder, then the head for MAML and Meta-SGD.
    public static func modelSpecs(_ c: TextStepConfig) -> [ParameterSpec] {
        let (v, e, h) = (c.vocabulary, c.embedding, c.hidden)
        var specs = [ParameterSpec(name: "table", type: TensorType(.f32, [v, e]), initializer: .normal(std: 0.3)),
                     .weight("wx", [e, 4 * h]), .weight("wh", [h, 4 * h]), .bias("b", [4 * h])]
        if c.learner != .protonet { specs += [.bias("head.w", [h, c.ways]), .bias("head.b", [c.ways])] }
        return specs
    }

    /// Every meta-learned parameter: the model, plus Meta-SGD's rates.
    public static func learnedSpecs(_ c: TextStepConfig) -> [ParameterSpec] {
        let m = modelSpecs(c)
        guard c.learner == .metasgd else { return m }
        return m + m.filter { adaptedNames.contains($0.name) }.map {
            ParameterSpec(name: "lr.\($0.name)", type: $0.type, initializer: .constant(c.innerLR))
        }
    }

    /// The meta-training step: forward over the meta-batch, meta-gradient, outer update.
    public static func trainStep(_ c: TextStepConfig) throws -> StepGraph {
        try c.validate()
        let learned = learnedSpecs(c)
        let state = c.optimizer.stateSpecs(for: learned)
        let b = GraphBuilder(name: "train-\(c.learner.rawValue)-lstm")
        let p = try Parameters(declaring: learned, in: b)
        let s = try Parameters(declaring: state, in: b)
        let io = try Inputs(b, c)
        let lr = try b.input(StepSignature.learningRateName, .scalar)
        let metaGradient = PerTaskGradients(p, scale: 1.0 / Double(c.metaBatch))
        let (loss, acc, taskAcc) = try forward(c, params: p, io: io, training: true, perTask: metaGradient.add)
        b.output(StepSignature.lossName, loss)
        b.output(StepSignature.accuracyName, acc)
        b.output(StepSignature.taskAccuracyName, taskAcc)
        try c.optimizer.update(params: p, grads: metaGradient.sums, state: s, learningRate: lr, builder: b)
        return try StepGraph(graph: try b.finish(), parameters: learned + state, kind: .train)
    }

    /// The evaluation step: adapt on each task's support set (first order), score its queries.
    public static func evalStep(_ c: TextStepConfig) throws -> StepGraph {
        try c.validate()
        let learned = learnedSpecs(c)
        let b = GraphBuilder(name: "eval-\(c.learner.rawValue)-lstm")
        let p = try Parameters(declaring: learned, in: b)
        let io = try Inputs(b, c)
        let (loss, acc, taskAcc) = try forward(c, params: p, io: io, training: false)
        b.output(StepSignature.lossName, loss)
        b.output(StepSignature.accuracyName, acc)
        b.output(StepSignature.taskAccuracyName, taskAcc)
        return try StepGraph(graph: try b.finish(), parameters: learned, kind: .eval)
    }

    /// A graph of the mean query loss (`loss`, `accuracy`) and its meta-gradient
    /// `grad.<name>` for every learned parameter, parameters as inputs: what the gradient
    /// checks compare with finite differences (second order through the inner loop when
    /// `training`, first order otherwise).
    public static func lossGraph(_ c: TextStepConfig, training: Bool = true) throws -> Graph {
        try c.validate()
        let b = GraphBuilder(name: "loss-\(c.learner.rawValue)-lstm")
        var p = Parameters()
        let specs = learnedSpecs(c)
        for spec in specs { p[spec.name] = try b.input(spec.name, spec.type.shape) }
        let io = try Inputs(b, c)
        let (loss, acc, _) = try forward(c, params: p, io: io, training: training)
        b.output(StepSignature.lossName, loss)
        b.output(StepSignature.accuracyName, acc)
        for (spec, g) in zip(specs, try Autodiff.grad(of: loss, wrt: p.all)) { b.output(StepSignature.gradientName(for: spec.name), g) }
        return try b.finish()
    }

    struct Inputs {
        var st, sm, qt, qm, ql: Tensor
        init(_ b: GraphBuilder, _ c: TextStepConfig) throws {
            let (bs, n, t) = (c.metaBatch, c.ways, c.length)
            st = try b.input(TextSteps.support, [bs, n * c.shots, t], dtype: .i32)
            sm = try b.input(TextSteps.supportMask, [bs, n * c.shots, t])
            qt = try b.input(TextSteps.query, [bs, n * c.queries, t], dtype: .i32)
            qm = try b.input(TextSteps.queryMask, [bs, n * c.queries, t])
            ql = try b.input(TextSteps.queryLabels, [bs, n * c.queries], dtype: .i32)
        }
    }

    /// Mean loss, mean accuracy and per-task accuracy over the meta-batch.
    static func forward(_ c: TextStepConfig, params p: Parameters, io: Inputs, training: Bool,
                        perTask: ((Tensor) throws -> Void)? = nil) throws -> (Tensor, Tensor, Tensor) {
        let b = io.st.builder
        var losses: [Tensor] = [], accs: [Tensor] = []
        for t in 0..<c.metaBatch {
            try b.scope("task\(t)") {
                let st = try MAML.task(io.st, t), sm = try MAML.task(io.sm, t)
                let qt = try MAML.task(io.qt, t), qm = try MAML.task(io.qm, t), ql = try MAML.task(io.ql, t)
                let logits = try taskLogits(c, params: p, support: st, supportMask: sm, query: qt, queryMask: qm, training: training)
                let taskLoss = try crossEntropy(logits: logits, labels: ql)
                try perTask?(taskLoss)
                losses.append(taskLoss)
                accs.append(try accuracy(logits: logits, labels: ql).reshaped([1]))
            }
        }
        let taskAcc = try concat(accs, axis: 0)
        return (try MAML.mean(losses), try taskAcc.mean(), taskAcc)
    }

    /// One task's query logits `[N·Q, N]`.
    static func taskLogits(_ c: TextStepConfig, params p: Parameters, support st: Tensor, supportMask sm: Tensor,
                           query qt: Tensor, queryMask qm: Tensor, training: Bool) throws -> Tensor {
        let (n, k) = (c.ways, c.shots)
        switch c.learner {
        case .protonet:
            let es = try LSTMTextClassifier(mask: sm, head: false).encode(st, p)
            let eq = try LSTMTextClassifier(mask: qm, head: false).encode(qt, p)
            let protos = try es.reshaped([n, k, c.hidden]).sum(axes: [1]) * (1.0 / Double(k))
            return try negativeSquaredDistances(eq, protos)
        case .maml, .metasgd:
            // Class-major support: row r has label r / K (iota over [N, K] along the ways).
            let sy = try st.builder.apply(.iota(axis: 0), [], declared: TensorType(.i32, [n, k])).reshaped([n * k])
            var model = Parameters()
            for spec in modelSpecs(c) { model[spec.name] = try p.tensor(spec.name) }
            var rates: Parameters?
            if c.learner == .metasgd {
                var r = Parameters()
                for name in adaptedNames { r[name] = try p.tensor("lr.\(name)") }
                rates = r
            }
            let adapted = try MAML.adapt(model: LSTMTextClassifier(mask: sm, head: true), params: model, supportX: st, supportY: sy,
                                         loss: { try crossEntropy(logits: $0, labels: $1) },
                                         inner: InnerLoop(steps: c.innerSteps, learningRate: c.innerLR, firstOrder: !training,
                                                          adapted: Set(adaptedNames)),
                                         learnedRates: rates)
            return try LSTMTextClassifier(mask: qm, head: true)(qt, adapted)
        }
    }
}

/// The masked LSTM encoder with an optional linear head on its final hidden state; the
/// mask of the batch it is applied to is part of the model (support and query differ).
struct LSTMTextClassifier: Model {
    let mask: Tensor
    let head: Bool

    var parameterSpecs: [ParameterSpec] { [] }

    func encode(_ tokens: Tensor, _ p: Parameters) throws -> Tensor {
        try maskedLSTMEncoder(tokens: tokens, mask: mask, table: p.tensor("table"), wx: p.tensor("wx"),
                              wh: p.tensor("wh"), b: p.tensor("b"))
    }

    func callAsFunction(_ tokens: Tensor, _ p: Parameters) throws -> Tensor {
        let h = try encode(tokens, p)
        return head ? try linear(h, p.tensor("head.w"), p.tensor("head.b")) : h
    }
}
