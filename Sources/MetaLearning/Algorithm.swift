import Autodiff
import GraphDSL
import MetaIR

/// The meta-learning procedures MetaJIT compiles.
public enum Algorithm: String, Sendable, Codable, CaseIterable {
    /// MAML with the exact second-order meta-gradient (Finn et al. 2017).
    case maml
    /// First-order MAML: the inner gradient is treated as a constant.
    case fomaml
    /// Reptile (Nichol et al. 2018): move towards the task-adapted weights.
    case reptile
    /// Meta-SGD (Li et al. 2017): per-parameter inner learning rates, meta-learned.
    case metasgd
    /// ANIL (Raghu et al. 2020): inner loop on the head only.
    case anil
    /// Prototypical Networks (Snell et al. 2017): nearest class mean in embedding space.
    case protonet
    /// Relation Networks (Sung et al. 2018): a learned relation module scores query–class pairs.
    case relationnet
    /// Matching Networks (Vinyals et al. 2016): attention over cosine similarities
    /// (`StepConfig.fce` adds full context embeddings).
    case matchingnet
    /// Baseline (Chen et al. 2019): Conv-4 trained as one classifier, a linear head fitted per episode.
    case baseline
    /// Baseline++ (Chen et al. 2019): as `baseline` with a scaled cosine-similarity head.
    case baselinepp
    /// MAML with MAML++'s per-layer, per-step learned inner learning rates (LSLR; Antoniou et
    /// al. 2019). Only LSLR: no multi-step loss, per-step batch norm or annealing.
    case mamlpp
    /// LRAIN, a learned learning-rate network (ALFA, Baik et al. 2020): an MLP maps per-layer
    /// means of the weights and gradients to per-layer learning rates and weight decays.
    case lrain
    /// The LSTM meta-optimiser (Ravi & Larochelle 2017): a coordinate-wise LSTM whose cell
    /// state is the learner's parameters.
    case metalstm

    /// Whether the algorithm adapts a classifier head in an inner loop.
    public var usesInnerLoop: Bool { [.maml, .fomaml, .reptile, .metasgd, .anil, .mamlpp, .lrain, .metalstm].contains(self) }

    /// Whether the inner update is a meta-learned rule (`LearnedRules`) rather than SGD.
    public var usesLearnedRule: Bool { [.mamlpp, .lrain, .metalstm].contains(self) }

    /// Whether the training step is episodic (takes `support_x` … `query_y`); the baselines
    /// train on plain mini-batches of labelled images instead (`BaselineStep`).
    public var isEpisodic: Bool { self != .baseline && self != .baselinepp }

    /// Algorithms whose training step is episodic.
    public static var episodic: [Algorithm] { allCases.filter(\.isEpisodic) }
}

/// Shapes and hyperparameters of one compiled step.
public struct StepConfig: Sendable, Codable, Hashable {
    /// Procedure.
    public var algorithm: Algorithm
    /// Classes per task.
    public var ways: Int
    /// Support examples per class.
    public var shots: Int
    /// Query examples per class.
    public var queries: Int
    /// Tasks per meta-batch.
    public var metaBatch: Int
    /// Inner SGD steps.
    public var innerSteps: Int
    /// Inner learning rate α (initial value for Meta-SGD).
    public var innerLR: Double
    /// Outer optimiser.
    public var optimizer: OuterOptimizer
    /// Image side (Omniglot: 28).
    public var imageSize: Int
    /// Conv-4 width.
    public var width: Int
    /// Stride-2 convolutions instead of max-pooling (MAML's Omniglot network).
    public var strided: Bool
    /// The network the learner is built on (`width` and `strided` configure Conv-4).
    public var backbone: Backbone
    /// Matching Networks only: full context embeddings (bidirectional LSTM over the support
    /// set, attention LSTM over each query).
    public var fce: Bool = false

    /// Creates a configuration.
    public init(algorithm: Algorithm, ways: Int, shots: Int, queries: Int, metaBatch: Int, innerSteps: Int,
                innerLR: Double, optimizer: OuterOptimizer = .adam, imageSize: Int = 28, width: Int = 64,
                strided: Bool = false, backbone: Backbone = .conv4, fce: Bool = false) {
        self.algorithm = algorithm
        self.ways = ways
        self.shots = shots
        self.queries = queries
        self.metaBatch = metaBatch
        self.innerSteps = innerSteps
        self.innerLR = innerLR
        self.optimizer = optimizer
        self.imageSize = imageSize
        self.width = width
        self.strided = strided
        self.backbone = backbone
        self.fce = fce
    }

    enum CodingKeys: String, CodingKey {
        case algorithm, ways, shots, queries, metaBatch, innerSteps, innerLR, optimizer, imageSize, width, strided, backbone, fce
    }

    /// Decodes a configuration; records written before backbones were selectable are Conv-4,
    /// and those written before `fce` existed have it off.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(algorithm: try c.decode(Algorithm.self, forKey: .algorithm), ways: try c.decode(Int.self, forKey: .ways),
                  shots: try c.decode(Int.self, forKey: .shots), queries: try c.decode(Int.self, forKey: .queries),
                  metaBatch: try c.decode(Int.self, forKey: .metaBatch), innerSteps: try c.decode(Int.self, forKey: .innerSteps),
                  innerLR: try c.decode(Double.self, forKey: .innerLR),
                  optimizer: try c.decode(OuterOptimizer.self, forKey: .optimizer),
                  imageSize: try c.decode(Int.self, forKey: .imageSize), width: try c.decode(Int.self, forKey: .width),
                  strided: try c.decode(Bool.self, forKey: .strided),
                  backbone: try c.decodeIfPresent(Backbone.self, forKey: .backbone) ?? .conv4,
                  fce: try c.decodeIfPresent(Bool.self, forKey: .fce) ?? false)
    }
}
