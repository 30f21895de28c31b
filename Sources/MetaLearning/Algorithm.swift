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

    /// Whether the algorithm adapts a classifier head in an inner loop.
    public var usesInnerLoop: Bool { self != .protonet }
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

    /// Creates a configuration.
    public init(algorithm: Algorithm, ways: Int, shots: Int, queries: Int, metaBatch: Int, innerSteps: Int,
                innerLR: Double, optimizer: OuterOptimizer = .adam, imageSize: Int = 28, width: Int = 64,
                strided: Bool = false) {
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
    }
}
