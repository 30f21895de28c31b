import Autodiff
import GraphDSL
import MetaIR

/// A compiled-step description: the graph, its calling convention, and every parameter
/// (model, learned rates, optimiser state) with its initialiser.
///
/// The runtime reads the step's inputs and outputs from `signature` (the episodic
/// conventions: inputs `support_x`, `support_y`, `query_x`, `query_y` with tasks on axis 0
/// and, for training, the scalar `lr`; outputs `loss`, `accuracy`, `task_accuracy` and
/// `update.<param>` for every parameter the step rewrites).
public struct StepGraph {
    /// The graph.
    public var graph: Graph
    /// All parameters, model first.
    public var parameters: [ParameterSpec]
    /// The step's inputs and outputs.
    public var signature: StepSignature

    /// Creates a step graph whose signature follows the episodic conventions; throws when
    /// the graph lacks what they need.
    public init(graph: Graph, parameters: [ParameterSpec], kind: StepSignature.Kind) throws {
        self.graph = graph
        self.parameters = parameters
        signature = StepSignature.episodic(kind, of: graph)
        try signature.validate(against: graph)
    }
}

/// Builds training and evaluation steps of few-shot classifiers for every `Algorithm` on the
/// network `StepConfig.backbone` names.
public enum StepBuilder {
    /// The network for a configuration (ProtoNet's has no head).
    public static func model(_ c: StepConfig) -> any FewShotNetwork {
        let ways = c.algorithm.usesInnerLoop ? c.ways : 0
        switch c.backbone {
        case .conv4: return Conv4(imageSize: c.imageSize, width: c.width, ways: ways, strided: c.strided)
        case .mlp(let hidden): return FewShotMLP(inputSize: c.imageSize * c.imageSize, hidden: hidden, ways: ways)
        case .mnistSeed(let hidden): return MNISTSeedNet(imageSize: c.imageSize, hidden: hidden, ways: ways)
        }
    }

    /// Parameters that are meta-learned (model, plus Meta-SGD's rates).
    public static func learnedSpecs(_ c: StepConfig) -> [ParameterSpec] {
        let m = model(c).parameterSpecs
        if c.algorithm.usesLearnedRule { return m + LearnedRules.specs(c, model: m) }
        guard c.algorithm == .metasgd else { return m }
        return m + m.map { ParameterSpec(name: "lr.\($0.name)", type: $0.type, initializer: .constant(c.innerLR)) }
    }

    /// The meta-training step: forward over the meta-batch, meta-gradient, outer update.
    /// Throws a `StepConfigError` for a configuration `StepConfig.validate()` refuses.
    public static func trainStep(_ c: StepConfig) throws -> StepGraph {
        try c.validate()
        try LearnedRules.validate(c)
        if let metric = try MetricSteps.trainStep(c) { return metric }
        let learned = learnedSpecs(c)
        let state = c.optimizer.stateSpecs(for: learned)
        let b = GraphBuilder(name: "train-\(c.algorithm.rawValue)")
        let p = try Parameters(declaring: learned, in: b)
        let s = try Parameters(declaring: state, in: b)
        let io = try Inputs(b, c)
        let lr = try b.input(StepSignature.learningRateName, .scalar)
        // The meta-gradient of the mean loss is the mean of per-task gradients.
        let metaGradient = PerTaskGradients(p, scale: 1.0 / Double(c.metaBatch))
        let (loss, acc, taskAcc) = try forward(c, params: p, io: io, training: true,
                                               perTask: c.algorithm == .reptile ? nil : metaGradient.add)
        var grads = metaGradient.sums
        b.output(StepSignature.lossName, loss)
        b.output(StepSignature.accuracyName, acc)
        b.output(StepSignature.taskAccuracyName, taskAcc)
        if c.algorithm == .reptile {
            // Reptile's meta-gradient: θ − mean over tasks of the adapted weights φₜ.
            let phi = try reptileTargets(c, params: p, io: io)
            for n in p.names {
                guard let target = phi[n] else { continue }
                grads[n] = try p.tensor(n) - target
            }
        }
        try c.optimizer.update(params: p, grads: grads, state: s, learningRate: lr, builder: b)
        return try StepGraph(graph: try b.finish(), parameters: learned + state, kind: .train)
    }

    /// The evaluation step: adapt on each task's support set, score its queries.
    /// Throws a `StepConfigError` for a configuration `StepConfig.validate()` refuses.
    public static func evalStep(_ c: StepConfig) throws -> StepGraph {
        try c.validate()
        try LearnedRules.validate(c)
        if let metric = try MetricSteps.evalStep(c) { return metric }
        let learned = learnedSpecs(c)
        let b = GraphBuilder(name: "eval-\(c.algorithm.rawValue)")
        let p = try Parameters(declaring: learned, in: b)
        let io = try Inputs(b, c)
        let (loss, acc, taskAcc) = try forward(c, params: p, io: io, training: false)
        b.output(StepSignature.lossName, loss)
        b.output(StepSignature.accuracyName, acc)
        b.output(StepSignature.taskAccuracyName, taskAcc)
        return try StepGraph(graph: try b.finish(), parameters: learned, kind: .eval)
    }

    struct Inputs {
        var sx, sy, qx, qy: Tensor
        init(_ b: GraphBuilder, _ c: StepConfig) throws {
            let (t, n, s) = (c.metaBatch, c.ways, c.imageSize)
            sx = try b.input(StepSignature.supportX, [t, n * c.shots, 1, s, s])
            sy = try b.input(StepSignature.supportY, [t, n * c.shots], dtype: .i32)
            qx = try b.input(StepSignature.queryX, [t, n * c.queries, 1, s, s])
            qy = try b.input(StepSignature.queryY, [t, n * c.queries], dtype: .i32)
        }
    }

    static func inner(_ c: StepConfig, training: Bool) -> InnerLoop {
        let m = model(c)
        let head: Set<String>? = c.algorithm == .anil ? m.headParameterNames : nil
        // Evaluation never needs the second-order graph; training FOMAML/Reptile stop it too.
        let firstOrder = !training || c.algorithm == .fomaml || c.algorithm == .reptile
        return InnerLoop(steps: c.innerSteps, learningRate: c.innerLR, firstOrder: firstOrder, adapted: head)
    }

    static func rates(_ c: StepConfig, _ p: Parameters) throws -> Parameters? {
        guard c.algorithm == .metasgd else { return nil }
        var r = Parameters()
        for n in model(c).parameterSpecs.map(\.name) { r[n] = try p.tensor("lr.\(n)") }
        return r
    }

    static func modelParams(_ c: StepConfig, _ p: Parameters) throws -> Parameters {
        var out = Parameters()
        for n in model(c).parameterSpecs.map(\.name) { out[n] = try p.tensor(n) }
        return out
    }

    /// Mean loss, mean accuracy and per-task accuracy over the meta-batch.
    static func forward(_ c: StepConfig, params p: Parameters, io: Inputs, training: Bool,
                        perTask: ((Tensor) throws -> Void)? = nil) throws -> (Tensor, Tensor, Tensor) {
        let m = model(c)
        let b = io.sx.builder
        if training, let net = m as? MNISTSeedNet {
            // Dropout only in training steps, seeded by a per-iteration input.
            net.dropoutSeed = try b.input(MNISTSeedNet.seedInputName, .scalar, dtype: .i32)
        }
        var losses: [Tensor] = [], accs: [Tensor] = []
        for t in 0..<c.metaBatch {
            try b.scope("task\(t)") {
                let sx = try MAML.task(io.sx, t), sy = try MAML.task(io.sy, t)
                let qx = try MAML.task(io.qx, t), qy = try MAML.task(io.qy, t)
                let logits: Tensor
                if c.algorithm == .protonet {
                    logits = try ProtoNet.logits(model: m, params: modelParams(c, p), supportX: sx, queryX: qx,
                                                 ways: c.ways, shots: c.shots)
                } else if c.algorithm.usesLearnedRule {
                    let adapted = try LearnedRules.adapt(c, model: m, params: modelParams(c, p), rule: p, supportX: sx, supportY: sy,
                                                         loss: { try crossEntropy(logits: $0, labels: $1) },
                                                         firstOrder: !training)
                    logits = try m(qx, adapted)
                } else {
                    let adapted = try MAML.adapt(model: m, params: modelParams(c, p), supportX: sx, supportY: sy,
                                                 loss: { try crossEntropy(logits: $0, labels: $1) },
                                                 inner: inner(c, training: training), learnedRates: rates(c, p))
                    logits = try m(qx, adapted)
                }
                let taskLoss = try crossEntropy(logits: logits, labels: qy)
                try perTask?(taskLoss)
                losses.append(taskLoss)
                accs.append(try accuracy(logits: logits, labels: qy).reshaped([1]))
            }
        }
        let taskAcc = try concat(accs, axis: 0)
        return (try MAML.mean(losses), try taskAcc.mean(), taskAcc)
    }

    /// Reptile: each task's weights after `innerSteps` SGD steps on support ∪ query, averaged.
    static func reptileTargets(_ c: StepConfig, params p: Parameters, io: Inputs) throws -> [String: Tensor] {
        let m = model(c)
        var sums: [String: Tensor] = [:]
        for t in 0..<c.metaBatch {
            let x = try concat([MAML.task(io.sx, t), MAML.task(io.qx, t)], axis: 0)
            let y = try concat([MAML.task(io.sy, t), MAML.task(io.qy, t)], axis: 0)
            let phi = try MAML.adapt(model: m, params: modelParams(c, p), supportX: x, supportY: y,
                                     loss: { try crossEntropy(logits: $0, labels: $1) },
                                     inner: InnerLoop(steps: c.innerSteps, learningRate: c.innerLR, firstOrder: true))
            for n in phi.names { sums[n] = try sums[n].map { try $0 + phi.tensor(n) } ?? phi.tensor(n) }
        }
        return try sums.mapValues { try $0 * (1.0 / Double(c.metaBatch)) }
    }
}

/// Prototypical Networks as graph code.
public enum ProtoNet {
    /// Logits = −‖f(query) − prototype‖² for each class prototype (mean support embedding;
    /// support ordered class-major, `shots` per class).
    public static func logits(model: any FewShotNetwork, params: Parameters, supportX: Tensor, queryX: Tensor,
                              ways: Int, shots: Int) throws -> Tensor {
        let es = try model.embed(supportX, params)
        let eq = try model.embed(queryX, params)
        let d = es.shape[1]
        let prototypes = try es.reshaped([ways, shots, d]).mean(axes: [1])            // [N, D]
        return try negativeSquaredDistances(eq, prototypes)
    }
}
