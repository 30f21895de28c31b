import Autodiff
import GraphDSL
import MetaIR

/// The learners of the Meta-Dataset-style multi-source benchmark.
public enum MultiSourceLearner: String, Sendable, Codable, CaseIterable {
    /// Prototypical Networks with masked prototypes (Snell et al. 2017).
    case protonet
    /// First-order Proto-MAML (Triantafillou et al. 2020): a linear head initialised from the
    /// prototypes (`W = 2c_k`, `b = −‖c_k‖²`) each episode, then first-order MAML inner steps
    /// on the support set over every parameter.
    case protomaml
}

/// The padded shape one compiled multi-source step takes: at most `ways` classes,
/// `support` support and `query` query examples (Meta-Dataset episodes vary in all three).
public struct ShapeBucket: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Classes (the length of the class mask).
    public var ways: Int
    /// Support examples (the length of the support mask).
    public var support: Int
    /// Query examples (the length of the query mask).
    public var query: Int

    /// Creates a bucket.
    public init(ways: Int, support: Int, query: Int) {
        self.ways = ways
        self.support = support
        self.query = query
    }

    /// `"50w/500s/500q"`.
    public var description: String { "\(ways)w/\(support)s/\(query)q" }
}

/// Training and evaluation steps over padded, masked episodes of varying shape.
///
/// One task per call. Inputs: `support_x` `[1, S, 1, H, W]`, `support_y` `[1, S]` (i32),
/// `query_x` `[1, Q, 1, H, W]`, `query_y` `[1, Q]`, plus the masks `support_mask` `[1, S]`,
/// `query_mask` `[1, Q]` and `class_mask` `[1, N]` (1 for a real example or class, 0 for
/// padding), and `lr` for training. Prototypes are masked means, the loss is the mean over
/// real queries, accuracy counts real queries only, and padded classes get a logit of
/// −10⁹, so a padded episode computes exactly what the unpadded one would.
///
/// The backbone must embed each example independently (the MLP): a batch-statistics batch
/// norm (Conv-4) would mix the padding into every embedding.
public enum MultiSourceStep {
    /// `support_mask`.
    public static let supportMask = "support_mask"
    /// `query_mask`.
    public static let queryMask = "query_mask"
    /// `class_mask`.
    public static let classMask = "class_mask"
    /// The logit given to padded classes.
    public static let paddedLogit = -1e9

    /// The embedding network of `c` (no head).
    public static func backbone(_ c: StepConfig) throws -> any FewShotNetwork {
        guard case .mlp(let hidden) = c.backbone else {
            throw StepConfigError(field: "backbone", message: "must be an mlp for multi-source steps (padding would enter Conv-4's batch statistics), got \(c.backbone)")
        }
        return FewShotMLP(inputSize: c.imageSize * c.imageSize, hidden: hidden, ways: 0)
    }

    /// The meta-training step of `learner` at `bucket`'s shape (`c` gives the backbone,
    /// image size, optimiser and inner loop; its ways, shots, queries and meta-batch are unused).
    public static func trainStep(_ c: StepConfig, learner: MultiSourceLearner, bucket: ShapeBucket) throws -> StepGraph {
        let net = try backbone(c)
        let learned = net.parameterSpecs
        let state = c.optimizer.stateSpecs(for: learned)
        let b = GraphBuilder(name: "train-\(learner.rawValue)-multisource-\(bucket.ways)w\(bucket.support)s\(bucket.query)q")
        let p = try Parameters(declaring: learned, in: b)
        let s = try Parameters(declaring: state, in: b)
        let io = try Inputs(b, c, bucket)
        let lr = try b.input(StepSignature.learningRateName, .scalar)
        let (loss, acc) = try episode(c, learner: learner, net: net, params: p, io: io, ways: bucket.ways)
        b.output(StepSignature.lossName, loss)
        b.output(StepSignature.accuracyName, acc)
        b.output(StepSignature.taskAccuracyName, try acc.reshaped([1]))
        let grads = Dictionary(uniqueKeysWithValues: zip(p.names, try Autodiff.grad(of: loss, wrt: p.all)))
        try c.optimizer.update(params: p, grads: grads, state: s, learningRate: lr, builder: b)
        return try StepGraph(graph: try b.finish(), parameters: learned + state, kind: .train)
    }

    /// The evaluation step of `learner` at `bucket`'s shape.
    public static func evalStep(_ c: StepConfig, learner: MultiSourceLearner, bucket: ShapeBucket) throws -> StepGraph {
        let net = try backbone(c)
        let b = GraphBuilder(name: "eval-\(learner.rawValue)-multisource-\(bucket.ways)w\(bucket.support)s\(bucket.query)q")
        let p = try Parameters(declaring: net.parameterSpecs, in: b)
        let io = try Inputs(b, c, bucket)
        let (loss, acc) = try episode(c, learner: learner, net: net, params: p, io: io, ways: bucket.ways)
        b.output(StepSignature.lossName, loss)
        b.output(StepSignature.accuracyName, acc)
        b.output(StepSignature.taskAccuracyName, try acc.reshaped([1]))
        return try StepGraph(graph: try b.finish(), parameters: net.parameterSpecs, kind: .eval)
    }

    struct Inputs {
        var sx, sy, qx, qy, sm, qm, cm: Tensor
        init(_ b: GraphBuilder, _ c: StepConfig, _ k: ShapeBucket) throws {
            let side = c.imageSize
            sx = try b.input(StepSignature.supportX, [1, k.support, 1, side, side]).reshaped([k.support, 1, side, side])
            sy = try b.input(StepSignature.supportY, [1, k.support], dtype: .i32).reshaped([k.support])
            qx = try b.input(StepSignature.queryX, [1, k.query, 1, side, side]).reshaped([k.query, 1, side, side])
            qy = try b.input(StepSignature.queryY, [1, k.query], dtype: .i32).reshaped([k.query])
            sm = try b.input(MultiSourceStep.supportMask, [1, k.support]).reshaped([k.support])
            qm = try b.input(MultiSourceStep.queryMask, [1, k.query]).reshaped([k.query])
            cm = try b.input(MultiSourceStep.classMask, [1, k.ways])
        }
    }

    /// Masked prototypes `[N, D]` of embeddings `es` `[S, D]`.
    static func prototypes(_ es: Tensor, labels: Tensor, mask: Tensor, ways: Int) throws -> Tensor {
        let s = es.shape[0]
        let onehot = try labels.oneHot(depth: ways).cast(to: .f32) * mask.reshaped([s, 1])   // [S, N]
        let counts = try maximum(onehot.sum(axes: [0]), es.builder.constant(1, [ways]))      // [N]
        return try onehot.transposed().matmul(es) / counts.reshaped([ways, 1])
    }

    /// `logits + (class_mask − 1)·10⁹`: padded classes never win and carry no probability.
    static func maskClasses(_ logits: Tensor, _ classMask: Tensor) throws -> Tensor {
        try logits + (classMask - 1) * (-paddedLogit)
    }

    /// Mean cross-entropy over the rows whose `mask` is 1.
    static func maskedCrossEntropy(_ logits: Tensor, _ labels: Tensor, _ mask: Tensor) throws -> Tensor {
        let n = logits.shape[1]
        let target = try labels.oneHot(depth: n).cast(to: .f32)
        let perExample = try -(target * logSoftmax(logits)).sum(axes: [1])
        return try (perExample * mask).sum() / maximum(mask.sum(), mask.builder.constant(1))
    }

    /// Fraction of the rows whose `mask` is 1 where the argmax is the label.
    static func maskedAccuracy(_ logits: Tensor, _ labels: Tensor, _ mask: Tensor) throws -> Tensor {
        let hit = try logits.argmax(axis: -1).compare(.eq, labels).cast(to: .f32)
        return try (hit * mask).sum() / maximum(mask.sum(), mask.builder.constant(1))
    }

    /// ProtoNet logits `−‖q − c_k‖²` for query embeddings `eq` `[Q, D]`.
    static func protoLogits(_ eq: Tensor, _ protos: Tensor) throws -> Tensor {
        try negativeSquaredDistances(eq, protos)
    }

    /// Loss and accuracy of one padded episode.
    static func episode(_ c: StepConfig, learner: MultiSourceLearner, net: any FewShotNetwork, params p: Parameters,
                        io: Inputs, ways: Int) throws -> (Tensor, Tensor) {
        let b = io.sx.builder
        return try b.scope("task0") {
            let protos = try prototypes(net.embed(io.sx, p), labels: io.sy, mask: io.sm, ways: ways)
            let logits: Tensor
            switch learner {
            case .protonet:
                logits = try maskClasses(protoLogits(net.embed(io.qx, p), protos), io.cm)
            case .protomaml:
                var start = p
                start[ProtoHead.weight] = try protos.transposed() * 2                            // [D, N]
                start[ProtoHead.bias] = try -(protos * protos).sum(axes: [1])                    // [N]
                let head = ProtoHead(backbone: net, classMask: io.cm)
                let adapted = try MAML.adapt(model: head, params: start, supportX: io.sx, supportY: io.sy,
                                             loss: { try maskedCrossEntropy($0, $1, io.sm) },
                                             inner: InnerLoop(steps: c.innerSteps, learningRate: c.innerLR, firstOrder: true))
                logits = try head(io.qx, adapted)
            }
            return (try maskedCrossEntropy(logits, io.qy, io.qm), try maskedAccuracy(logits, io.qy, io.qm))
        }
    }
}

/// Proto-MAML's network: the backbone's embedding, then a linear head whose initial
/// value the step computes from the prototypes, with padded classes masked.
struct ProtoHead: Model {
    static let weight = "protohead.w"
    static let bias = "protohead.b"
    let backbone: any FewShotNetwork
    let classMask: Tensor

    var parameterSpecs: [ParameterSpec] { backbone.parameterSpecs }

    func callAsFunction(_ x: Tensor, _ p: Parameters) throws -> Tensor {
        let logits = try linear(backbone.embed(x, p), p.tensor(Self.weight), p.tensor(Self.bias))
        return try MultiSourceStep.maskClasses(logits, classMask)
    }
}
