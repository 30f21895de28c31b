import GraphDSL
import MetaIR

/// The network of the PyTorch MNIST example (the seed's MAML-on-MNIST script), as a
/// few-shot learner: Conv 1→32 3×3, ReLU, Conv 32→64 3×3, ReLU, 2×2 max-pool, Dropout 0.25,
/// FC → `hidden` (128), ReLU, Dropout 0.5, FC → N. Inputs are normalised in the graph with
/// MNIST's mean 0.1307 and standard deviation 0.3081; the log-softmax + NLL of the example is
/// the learners' cross-entropy on these logits.
///
/// Dropout is on only while ``dropoutSeed`` is set (training steps set it to the scalar
/// `i32` input ``seedInputName``); evaluation graphs leave it unset, so dropout is the
/// identity there. The network is a class because every call during tracing takes the
/// next stream number: each inner step, each task and the query pass get their own mask,
/// while the gradient graphs of one call reuse that call's mask nodes.
public final class MNISTSeedNet: FewShotNetwork {
    /// The step input that seeds dropout (`i32` scalar, fed once per meta-iteration).
    public static let seedInputName = "dropout_seed"
    /// MNIST's pixel mean (after scaling to `[0, 1]`).
    public static let mean = 0.1307
    /// MNIST's pixel standard deviation.
    public static let std = 0.3081

    /// Input height and width (28 for MNIST; the FC input is `64 × ((s − 4) / 2)²`, 9216 at 28).
    public let imageSize: Int
    /// Width of the hidden FC layer (128 in the example).
    public let hidden: Int
    /// Output classes of the head; 0 means no head (embedding only).
    public let ways: Int
    /// Keep probabilities of the two dropout layers (1 − 0.25, 1 − 0.5).
    public let keep: (conv: Double, fc: Double) = (0.75, 0.5)
    /// The dropout seed tensor; `nil` turns dropout off.
    public var dropoutSeed: Tensor?
    /// Dropout calls traced so far (the next stream number).
    public private(set) var streams = 0

    /// Creates the network.
    public init(imageSize: Int = 28, hidden: Int = 128, ways: Int) {
        self.imageSize = imageSize
        self.hidden = hidden
        self.ways = ways
    }

    /// Spatial side after the two valid 3×3 convolutions and the pool.
    public var pooledSize: Int { max(imageSize - 4, 0) / 2 }

    /// Length of the flattened pooled features (9216 for 28×28 inputs).
    public var flatSize: Int { 64 * pooledSize * pooledSize }

    /// `conv1.*`, `conv2.*`, `fc1.*`, then `head.*` (`fc2` of the example).
    public var parameterSpecs: [ParameterSpec] {
        var specs: [ParameterSpec] = [
            .weight("conv1.w", [32, 1, 3, 3]), .bias("conv1.b", [32]),
            .weight("conv2.w", [64, 32, 3, 3]), .bias("conv2.b", [64]),
            .weight("fc1.w", [flatSize, hidden]), .bias("fc1.b", [hidden]),
        ]
        if ways > 0 { specs += [.weight("head.w", [hidden, ways]), .bias("head.b", [ways])] }
        return specs
    }

    /// `head.w`, `head.b` (none when `ways == 0`).
    public var headParameterNames: Set<String> { ways > 0 ? ["head.w", "head.b"] : [] }

    private func drop(_ x: Tensor, keep: Double) throws -> Tensor {
        guard let seed = dropoutSeed else { return x }
        streams += 1
        return try dropout(x, keep: keep, seed: seed, stream: streams)
    }

    /// The `[B, hidden]` features after `fc1`, ReLU and the second dropout.
    public func embed(_ x: Tensor, _ p: Parameters) throws -> Tensor {
        let b = x.builder
        let n = x.shape[0]
        let image = try x.reshaped([n, 1, imageSize, imageSize])
        let normalised = try (image - Self.mean) * (1 / Self.std)
        let c1 = try b.scope("conv1") {
            try relu(normalised.conv2d(p.tensor("conv1.w")) + p.tensor("conv1.b").reshaped([1, 32, 1, 1]))
        }
        let c2 = try b.scope("conv2") {
            try relu(c1.conv2d(p.tensor("conv2.w")) + p.tensor("conv2.b").reshaped([1, 64, 1, 1]))
        }
        let pooled = try drop(maxPool2x2(c2), keep: keep.conv)
        let flat = try pooled.reshaped([n, flatSize])
        let h = try b.scope("fc1") { try relu(linear(flat, p.tensor("fc1.w"), p.tensor("fc1.b"))) }
        return try drop(h, keep: keep.fc)
    }

    /// Logits `[B, ways]` (or the features when `ways == 0`).
    public func callAsFunction(_ x: Tensor, _ p: Parameters) throws -> Tensor {
        let e = try embed(x, p)
        guard ways > 0 else { return e }
        return try x.builder.scope("head") { try linear(e, p.tensor("head.w"), p.tensor("head.b")) }
    }
}
