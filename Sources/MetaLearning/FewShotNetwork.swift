import GraphDSL
import MetaIR

/// A network a few-shot learner can be built on: an embedding, optionally followed by an
/// N-way linear head.
///
/// Metric learners (ProtoNet) use `embed`; MAML-family learners call the network for
/// logits and adapt its parameters, or, for ANIL, only `headParameterNames`.
public protocol FewShotNetwork: Model {
    /// The flattened embedding `[B, D]` of a batch of examples.
    func embed(_ x: Tensor, _ p: Parameters) throws -> Tensor
    /// Parameters of the classifier head (empty when the network has none).
    var headParameterNames: Set<String> { get }
}

extension Conv4: FewShotNetwork {
    /// `head.w`, `head.b` (none when `ways == 0`).
    public var headParameterNames: Set<String> { ways > 0 ? ["head.w", "head.b"] : [] }
}

/// A multilayer perceptron over flattened images: `layer{i}` linear + ReLU blocks, then an
/// optional linear N-way head. The MAML paper's fully connected Omniglot baseline is
/// `hidden: [256, 128, 64, 64]`.
public struct FewShotMLP: FewShotNetwork {
    /// Input features (channels × height × width).
    public var inputSize: Int
    /// Width of each hidden layer.
    public var hidden: [Int]
    /// Output classes of the head; 0 means no head.
    public var ways: Int

    /// Creates the network.
    public init(inputSize: Int, hidden: [Int], ways: Int) {
        self.inputSize = inputSize
        self.hidden = hidden
        self.ways = ways
    }

    /// Length of the embedding (the last hidden width, or the input when there is no layer).
    public var embeddingSize: Int { hidden.last ?? inputSize }

    /// `layer{i}.w`, `layer{i}.b` per hidden layer, then `head.w`, `head.b`.
    public var parameterSpecs: [ParameterSpec] {
        var specs: [ParameterSpec] = []
        var fanIn = inputSize
        for (i, h) in hidden.enumerated() {
            specs += [.weight("layer\(i + 1).w", [fanIn, h]), .bias("layer\(i + 1).b", [h])]
            fanIn = h
        }
        if ways > 0 { specs += [.weight("head.w", [fanIn, ways]), .bias("head.b", [ways])] }
        return specs
    }

    /// `head.w`, `head.b` (none when `ways == 0`).
    public var headParameterNames: Set<String> { ways > 0 ? ["head.w", "head.b"] : [] }

    /// `[B, …]` flattened to `[B, inputSize]`, through the hidden layers.
    public func embed(_ x: Tensor, _ p: Parameters) throws -> Tensor {
        var h = try x.reshaped([x.shape[0], inputSize])
        for i in hidden.indices {
            h = try x.builder.scope("layer\(i + 1)") {
                try relu(linear(h, p.tensor("layer\(i + 1).w"), p.tensor("layer\(i + 1).b")))
            }
        }
        return h
    }

    /// Logits `[B, ways]` (or the embedding when `ways == 0`).
    public func callAsFunction(_ x: Tensor, _ p: Parameters) throws -> Tensor {
        let e = try embed(x, p)
        guard ways > 0 else { return e }
        return try x.builder.scope("head") { try linear(e, p.tensor("head.w"), p.tensor("head.b")) }
    }
}

/// Which network a learner's step is built on (recorded in `StepConfig` and so in every
/// checkpoint's run record).
public enum Backbone: Sendable, Codable, Hashable, CustomStringConvertible {
    /// Conv-4 with `StepConfig`'s width and stride choice.
    case conv4
    /// A fully connected network with these hidden widths.
    case mlp(hidden: [Int])
    /// The PyTorch MNIST example's network (``MNISTSeedNet``) with this FC width (128).
    case mnistSeed(hidden: Int)

    /// Parses `conv4` or `mlp:256,128,64` (`mlp` alone: the MAML paper's 256-128-64-64).
    /// `mnist-seed` or `mnist-seed:W`: ``MNISTSeedNet`` with FC width W (default 128).
    public init?(spec: String) {
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        switch parts.first {
        case "conv4" where parts.count == 1: self = .conv4
        case "mnist-seed":
            guard parts.count == 2 else { self = .mnistSeed(hidden: 128); return }
            guard let h = Int(parts[1].trimmingCharacters(in: .whitespaces)), h > 0 else { return nil }
            self = .mnistSeed(hidden: h)
        case "mlp":
            guard parts.count == 2 else { self = .mlp(hidden: [256, 128, 64, 64]); return }
            let widths = parts[1].split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !widths.isEmpty, widths.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
            self = .mlp(hidden: widths.compactMap { $0 })
        default: return nil
        }
    }

    /// `conv4`, `mlp:256,128` or `mnist-seed:128`.
    public var description: String {
        switch self {
        case .conv4: return "conv4"
        case .mnistSeed(let hidden): return "mnist-seed:\(hidden)"
        case .mlp(let hidden): return "mlp:" + hidden.map(String.init).joined(separator: ",")
        }
    }
}
