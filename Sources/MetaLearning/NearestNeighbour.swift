import GraphDSL
import MetaIR

/// The nearest-neighbour baseline as an evaluation step: each query takes the label of its
/// nearest support example (squared Euclidean distance), on raw pixels or on the embedding
/// of a trained network. Inputs and outputs follow the episodic conventions, so the
/// `Evaluator` scores it on the same episodes as the learner.
public enum NearestNeighbour {
    /// What the distance is measured on.
    public enum Space: String, Sendable, CaseIterable {
        /// Flattened pixels.
        case pixels
        /// The trained network's embedding (`embeddingSpecs`).
        case embedding
    }

    /// The embedding network a learner's checkpoint holds: Relation Networks' feature maps,
    /// the Matching Network's g′ (before any FCE), the baselines' backbone, otherwise the
    /// learner's network (Conv-4 or MLP) without its head.
    static func embedding(_ c: StepConfig) -> any FewShotNetwork {
        switch c.algorithm {
        case .relationnet: return MetricSteps.relationNetwork(c)
        case .baseline, .baselinepp: return BaselineStep.backbone(c)
        case .maml, .fomaml, .reptile, .metasgd, .anil, .protonet, .mamlpp, .lrain, .metalstm, .matchingnet: return StepBuilder.model(c)
        }
    }

    /// The parameters the embedding needs (all stored in the learner's checkpoint).
    public static func embeddingSpecs(_ c: StepConfig) -> [ParameterSpec] {
        let names = Set(embeddingParameterNames(c))
        return embedding(c).parameterSpecs.filter { names.contains($0.name) }
    }

    static func embeddingParameterNames(_ c: StepConfig) -> [String] {
        let net = embedding(c)
        if let r = net as? RelationNetwork { return net.parameterSpecs.map(\.name).filter { r.encoderParameterNames.contains($0) } }
        return net.parameterSpecs.map(\.name).filter { !net.headParameterNames.contains($0) }
    }

    /// Logits `[Q, N]`: minus the squared distance to the nearest support example of each class
    /// (support ordered class-major, `shots` per class).
    public static func logits(support es: Tensor, query eq: Tensor, ways: Int, shots: Int) throws -> Tensor {
        let negative = try negativeSquaredDistances(eq, es)                                   // [Q, S]
        return try negative.reshaped([eq.shape[0], ways, shots]).max(axes: [2])
    }

    /// The evaluation step (outputs `loss` = 0, `accuracy`, `task_accuracy`).
    public static func evalStep(_ c: StepConfig, space: Space) throws -> StepGraph {
        try c.validate()
        let specs = space == .embedding ? embeddingSpecs(c) : []
        let b = GraphBuilder(name: "eval-nearest-neighbour-\(space.rawValue)")
        let p = try Parameters(declaring: specs, in: b)
        let io = try StepBuilder.Inputs(b, c)
        let net = embedding(c)
        let d = c.imageSize * c.imageSize
        func features(_ x: Tensor) throws -> Tensor {
            space == .embedding ? try net.embed(x, p) : try x.reshaped([x.shape[0], d])
        }
        var accs: [Tensor] = []
        for t in 0..<c.metaBatch {
            try b.scope("task\(t)") {
                let qy = try MAML.task(io.qy, t)
                let l = try logits(support: features(MAML.task(io.sx, t)), query: features(MAML.task(io.qx, t)),
                                   ways: c.ways, shots: c.shots)
                accs.append(try accuracy(logits: l, labels: qy).reshaped([1]))
            }
        }
        let taskAcc = try concat(accs, axis: 0)
        // The support labels are not read (support is class-major); zero keeps them an input.
        b.output(StepSignature.lossName, try io.sy.cast(to: .f32).sum() * 0)
        b.output(StepSignature.accuracyName, try taskAcc.mean())
        b.output(StepSignature.taskAccuracyName, taskAcc)
        return try StepGraph(graph: try b.finish(), parameters: specs, kind: .eval)
    }
}
