import Autodiff
import GraphDSL
import MetaIR

/// Training and evaluation steps of the metric learners (Relation and Matching Networks) and
/// the Chen et al. baselines; `StepBuilder` hands them these algorithms.
///
/// The episodic steps follow the `StepBuilder` conventions (inputs `support_x` … `query_y`,
/// `lr`; outputs `loss`, `accuracy`, `task_accuracy`, `update.*`); no inner loop.
public enum MetricSteps {
    /// Relation Networks' gradient-norm limit (Sung et al.'s code clips the embedding's and
    /// the relation module's gradients at 0.5 each, with `clip_grad_norm`).
    public static let relationClipNorm = 0.5

    /// The Relation Network of a configuration.
    public static func relationNetwork(_ c: StepConfig) -> RelationNetwork {
        RelationNetwork(imageSize: c.imageSize, width: c.width)
    }

    /// The Matching Network of a configuration (its backbone without a head).
    public static func matchingNetwork(_ c: StepConfig) -> MatchingNetwork {
        let backbone = StepBuilder.model(c)
        let size: Int
        switch c.backbone {
        case .conv4: size = Conv4(imageSize: c.imageSize, width: c.width, ways: 0, strided: c.strided).embeddingSize
        case .mlp(let hidden): size = hidden.last ?? c.imageSize * c.imageSize
        case .mnistSeed(let hidden): size = hidden
        }
        return MatchingNetwork(backbone: backbone, embeddingSize: size, fce: c.fce)
    }

    /// Parameters the step learns for a metric algorithm, or nil for the others.
    public static func learnedSpecs(_ c: StepConfig) throws -> [ParameterSpec]? {
        switch c.algorithm {
        case .relationnet:
            guard c.backbone == .conv4 else {
                throw StepConfigError(field: "backbone", message: "must be conv4 for relationnet (its relation module compares feature maps), got \(c.backbone)")
            }
            let net = relationNetwork(c)
            guard net.isValidSize else {
                throw StepConfigError(field: "imageSize", message: "is \(c.imageSize); the Relation Network needs at least 22")
            }
            return net.parameterSpecs
        case .matchingnet: return matchingNetwork(c).parameterSpecs
        case .baseline, .baselinepp: return try BaselineStep.evalSpecs(c)
        case .maml, .fomaml, .reptile, .metasgd, .anil, .protonet, .mamlpp, .lrain, .metalstm: return nil
        }
    }

    /// The training step of a metric algorithm or baseline, or nil for the others.
    public static func trainStep(_ c: StepConfig) throws -> StepGraph? {
        if c.algorithm == .baseline || c.algorithm == .baselinepp { return try BaselineStep.trainStep(c) }
        guard let learned = try learnedSpecs(c) else { return nil }
        let state = c.optimizer.stateSpecs(for: learned)
        let b = GraphBuilder(name: "train-\(c.algorithm.rawValue)")
        let p = try Parameters(declaring: learned, in: b)
        let s = try Parameters(declaring: state, in: b)
        let io = try StepBuilder.Inputs(b, c)
        let lr = try b.input(StepSignature.learningRateName, .scalar)
        let (loss, acc, taskAcc) = try forward(c, p, io)
        b.output(StepSignature.lossName, loss)
        b.output(StepSignature.accuracyName, acc)
        b.output(StepSignature.taskAccuracyName, taskAcc)
        var grads = Dictionary(uniqueKeysWithValues: zip(p.names, try Autodiff.grad(of: loss, wrt: p.all)))
        if c.algorithm == .relationnet {
            let encoder = relationNetwork(c).encoderParameterNames
            for group in [p.names.filter { encoder.contains($0) }, p.names.filter { !encoder.contains($0) }] {
                let (clipped, _) = try clipByGlobalNorm(group.compactMap { grads[$0] }, maxNorm: relationClipNorm)
                for (n, g) in zip(group, clipped) { grads[n] = g }
            }
        }
        try c.optimizer.update(params: p, grads: grads, state: s, learningRate: lr, builder: b)
        return try StepGraph(graph: try b.finish(), parameters: learned + state, kind: .train)
    }

    /// The evaluation step of a metric algorithm or baseline, or nil for the others.
    public static func evalStep(_ c: StepConfig) throws -> StepGraph? {
        guard let learned = try learnedSpecs(c) else { return nil }
        let b = GraphBuilder(name: "eval-\(c.algorithm.rawValue)")
        let p = try Parameters(declaring: learned, in: b)
        let io = try StepBuilder.Inputs(b, c)
        let (loss, acc, taskAcc) = try forward(c, p, io)
        b.output(StepSignature.lossName, loss)
        b.output(StepSignature.accuracyName, acc)
        b.output(StepSignature.taskAccuracyName, taskAcc)
        return try StepGraph(graph: try b.finish(), parameters: learned, kind: .eval)
    }

    /// Scores `[Q, N]` (argmax = prediction) and the loss of one task.
    static func task(_ c: StepConfig, _ p: Parameters, sx: Tensor, sy: Tensor, qx: Tensor, qy: Tensor) throws -> (scores: Tensor, loss: Tensor) {
        switch c.algorithm {
        case .relationnet:
            let scores = try relationNetwork(c).episodeScores(supportX: sx, queryX: qx, ways: c.ways, shots: c.shots, p)
            let target = try qy.oneHot(depth: c.ways).cast(to: .f32)
            return (scores, try meanSquaredError(scores, target))
        case .matchingnet:
            let logp = try matchingNetwork(c).logProbabilities(supportX: sx, supportY: sy, queryX: qx, ways: c.ways, p)
            let target = try qy.oneHot(depth: c.ways).cast(to: .f32)
            return (logp, try -(target * logp).sum(axes: [1]).mean())
        case .baseline, .baselinepp:
            return try BaselineStep.episode(c, p, sx: sx, sy: sy, qx: qx, qy: qy)
        case .maml, .fomaml, .reptile, .metasgd, .anil, .protonet, .mamlpp, .lrain, .metalstm:
            throw StepConfigError(field: "algorithm", message: "\(c.algorithm.rawValue) is not a metric learner")
        }
    }

    /// Mean loss, mean accuracy and per-task accuracy over the meta-batch.
    static func forward(_ c: StepConfig, _ p: Parameters, _ io: StepBuilder.Inputs) throws -> (Tensor, Tensor, Tensor) {
        let b = io.sx.builder
        var losses: [Tensor] = [], accs: [Tensor] = []
        for t in 0..<c.metaBatch {
            try b.scope("task\(t)") {
                let qy = try MAML.task(io.qy, t)
                let (scores, loss) = try task(c, p, sx: MAML.task(io.sx, t), sy: MAML.task(io.sy, t), qx: MAML.task(io.qx, t), qy: qy)
                losses.append(loss)
                accs.append(try accuracy(logits: scores, labels: qy).reshaped([1]))
            }
        }
        let taskAcc = try concat(accs, axis: 0)
        return (try MAML.mean(losses), try taskAcc.mean(), taskAcc)
    }
}
