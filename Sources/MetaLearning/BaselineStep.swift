import Autodiff
import GraphDSL
import MetaIR

/// Baseline and Baseline++ (Chen et al. 2019, "A Closer Look at Few-shot Classification").
///
/// Training is not episodic: Conv-4 (no head) plus one classifier over all `classes`
/// training classes, trained with cross-entropy on mini-batches of labelled images (inputs
/// `images` `[B, 1, s, s]`, `labels` `[B]` global class ids, `lr`). Baseline's classifier is
/// linear (`cls.w`, `cls.b`); Baseline++'s scores are `cosineScale·cos(f(x), wⱼ)`.
///
/// Evaluation is episodic: the trained backbone is frozen (`stop_gradient`) and a fresh
/// N-way head is fitted on each episode's support embeddings by `innerSteps` full-batch
/// gradient steps of rate `innerLR`, unrolled in the compiled step, then scores the queries.
/// The linear head starts at zero (its loss is convex, so the start does not matter); the
/// cosine head cannot start at zero (the direction of 0 is undefined) and starts at the
/// class means of the support embeddings.
public enum BaselineStep {
    /// Baseline++'s cosine scale (Chen et al.'s `distLinear` uses 10 above 200 classes).
    public static let cosineScale = 10.0
    /// The mini-batch inputs of the training step.
    public static let imagesName = "images", labelsName = "labels"

    static func backbone(_ c: StepConfig) -> Conv4 {
        Conv4(imageSize: c.imageSize, width: c.width, ways: 0, strided: c.strided)
    }

    /// The parameters evaluation needs: the backbone's.
    public static func evalSpecs(_ c: StepConfig) throws -> [ParameterSpec] {
        guard c.backbone == .conv4 else {
            throw StepConfigError(field: "backbone", message: "must be conv4 for \(c.algorithm.rawValue), got \(c.backbone)")
        }
        return backbone(c).parameterSpecs
    }

    /// The classifier of the training step over `classes` classes.
    public static func classifierSpecs(_ c: StepConfig, classes: Int) -> [ParameterSpec] {
        let d = backbone(c).embeddingSize
        return c.algorithm == .baselinepp ? [.weight("cls.w", [d, classes])]
            : [.weight("cls.w", [d, classes]), .bias("cls.b", [classes])]
    }

    /// Scores of the linear (Baseline) or scaled-cosine (Baseline++) classifier `w`, `b` on `e`.
    static func classify(_ c: StepConfig, _ e: Tensor, w: Tensor, b: Tensor?) throws -> Tensor {
        if c.algorithm == .baselinepp { return try cosineSimilarity(e, w.transposed()) * cosineScale }
        return try linear(e, w, b)
    }

    /// The training step over `classes` classes with mini-batches of `batch` images.
    public static func trainStep(_ c: StepConfig, classes: Int, batch: Int) throws -> StepGraph {
        let learned = try evalSpecs(c) + classifierSpecs(c, classes: classes)
        let state = c.optimizer.stateSpecs(for: learned)
        let b = GraphBuilder(name: "train-\(c.algorithm.rawValue)")
        let p = try Parameters(declaring: learned, in: b)
        let s = try Parameters(declaring: state, in: b)
        let x = try b.input(imagesName, [batch, 1, c.imageSize, c.imageSize])
        let y = try b.input(labelsName, [batch], dtype: .i32)
        let lr = try b.input(StepSignature.learningRateName, .scalar)
        let logits = try classify(c, backbone(c).embed(x, p), w: p.tensor("cls.w"), b: p["cls.b"])
        let loss = try crossEntropy(logits: logits, labels: y)
        let acc = try accuracy(logits: logits, labels: y)
        b.output(StepSignature.lossName, loss)
        b.output(StepSignature.accuracyName, acc)
        let grads = Dictionary(uniqueKeysWithValues: zip(p.names, try Autodiff.grad(of: loss, wrt: p.all)))
        try c.optimizer.update(params: p, grads: grads, state: s, learningRate: lr, builder: b)
        let graph = try b.finish()
        let episodic = StepSignature.episodic(.train, of: graph)
        let signature = StepSignature(kind: .train, inputs: [imagesName, labelsName, StepSignature.learningRateName],
                                      outputs: episodic.outputs, updates: episodic.updates,
                                      learningRate: StepSignature.learningRateName, loss: StepSignature.lossName,
                                      accuracy: StepSignature.accuracyName, taskAccuracy: nil)
        var step = try StepGraph(graph: graph, parameters: learned + state, kind: .train)
        step.signature = signature
        try signature.validate(against: graph)
        return step
    }

    /// `StepBuilder.trainStep`'s form: `ways` is the number of training classes and
    /// `ways·(shots + queries)` the mini-batch (what one sampled episode holds).
    public static func trainStep(_ c: StepConfig) throws -> StepGraph {
        try trainStep(c, classes: c.ways, batch: c.ways * (c.shots + c.queries))
    }

    /// One evaluation episode: fit the head on the frozen support embeddings, score the queries.
    static func episode(_ c: StepConfig, _ p: Parameters, sx: Tensor, sy: Tensor, qx: Tensor, qy: Tensor) throws -> (scores: Tensor, loss: Tensor) {
        let net = backbone(c)
        let es = try net.embed(sx, p).stopGradient(), eq = try net.embed(qx, p).stopGradient()
        let d = es.shape[1], builder = sx.builder
        var head = Parameters()
        if c.algorithm == .baselinepp {
            // Class means of the support embeddings as the cosine head's start ([D, N]).
            let onehot = try sy.oneHot(depth: c.ways).cast(to: .f32)                       // [S, N]
            head["head.w"] = try es.transposed().matmul(onehot) * (1.0 / Double(c.shots))
        } else {
            head["head.w"] = builder.constant(0, [d, c.ways])
            head["head.b"] = builder.constant(0, [c.ways])
        }
        let model = EpisodeHead(config: c)
        let fitted = try MAML.adapt(model: model, params: head, supportX: es, supportY: sy,
                                    loss: { try crossEntropy(logits: $0, labels: $1) },
                                    inner: InnerLoop(steps: c.innerSteps, learningRate: c.innerLR, firstOrder: true))
        let scores = try model(eq, fitted)
        return (scores, try crossEntropy(logits: scores, labels: qy))
    }

    /// The per-episode head as a `Model` over embeddings.
    struct EpisodeHead: Model {
        var config: StepConfig
        var parameterSpecs: [ParameterSpec] { [] }
        func callAsFunction(_ x: Tensor, _ p: Parameters) throws -> Tensor {
            try BaselineStep.classify(config, x, w: p.tensor("head.w"), b: p["head.b"])
        }
    }
}
