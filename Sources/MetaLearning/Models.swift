import GraphDSL
import MetaIR

/// The MAML sinusoid regressor: `1 → hidden → hidden → 1` with ReLU.
public struct SinusoidMLP: Model {
    /// Hidden width (40 in the MAML paper).
    public var hidden: Int

    /// Creates the model.
    public init(hidden: Int = 40) { self.hidden = hidden }

    /// Parameters `w1,b1,w2,b2,w3,b3`.
    public var parameterSpecs: [ParameterSpec] {
        [.weight("w1", [1, hidden]), .bias("b1", [hidden]),
         .weight("w2", [hidden, hidden]), .bias("b2", [hidden]),
         .weight("w3", [hidden, 1]), .bias("b3", [1])]
    }

    /// `x` `[K, 1]` → `[K, 1]`.
    public func callAsFunction(_ x: Tensor, _ p: Parameters) throws -> Tensor {
        let h1 = try relu(linear(x, p.tensor("w1"), p.tensor("b1")))
        let h2 = try relu(linear(h1, p.tensor("w2"), p.tensor("b2")))
        return try linear(h2, p.tensor("w3"), p.tensor("b3"))
    }
}

/// The Conv-4 few-shot backbone: four blocks of 3×3 conv, batch norm (batch statistics),
/// ReLU and 2×2 max-pool (or stride-2 convs without pooling, as in MAML's Omniglot model),
/// then an optional linear N-way head.
public struct Conv4: Model {
    /// Input channels (1 for Omniglot).
    public var channels: Int
    /// Input height and width.
    public var imageSize: Int
    /// Filters per block (64).
    public var width: Int
    /// Output classes of the head; 0 means no head (embedding only, as in ProtoNet).
    public var ways: Int
    /// Stride-2 convolutions instead of max-pooling.
    public var strided: Bool

    /// Creates the model.
    public init(channels: Int = 1, imageSize: Int = 28, width: Int = 64, ways: Int = 5, strided: Bool = false) {
        self.channels = channels
        self.imageSize = imageSize
        self.width = width
        self.ways = ways
        self.strided = strided
    }

    /// Spatial size after the four blocks.
    public var finalSize: Int {
        var s = imageSize
        for _ in 0..<4 { s = strided ? (s + 2 - 3) / 2 + 1 : s / 2 }
        return s
    }

    /// Length of the flattened embedding.
    public var embeddingSize: Int { width * finalSize * finalSize }

    /// Parameters per block `conv{i}.w`, `conv{i}.b`, `bn{i}.gamma`, `bn{i}.beta`, then `head.w`, `head.b`.
    public var parameterSpecs: [ParameterSpec] {
        var specs: [ParameterSpec] = []
        for i in 1...4 {
            let cin = i == 1 ? channels : width
            specs += [.weight("conv\(i).w", [width, cin, 3, 3]), .bias("conv\(i).b", [width]),
                      .scale("bn\(i).gamma", [width]), .bias("bn\(i).beta", [width])]
        }
        if ways > 0 { specs += [.weight("head.w", [embeddingSize, ways]), .bias("head.b", [ways])] }
        return specs
    }

    /// The flattened embedding `[B, embeddingSize]`.
    public func embed(_ x: Tensor, _ p: Parameters) throws -> Tensor {
        var h = x
        for i in 1...4 {
            h = try x.builder.scope("block\(i)") {
                let c = try h.conv2d(p.tensor("conv\(i).w"), stride: strided ? 2 : 1, padding: 1)
                    + p.tensor("conv\(i).b").reshaped([1, width, 1, 1])
                let n = try relu(batchNorm(c, gamma: p.tensor("bn\(i).gamma"), beta: p.tensor("bn\(i).beta")))
                return strided ? n : try maxPool2x2(n)
            }
        }
        return try h.reshaped([x.shape[0], embeddingSize])
    }

    /// Logits `[B, ways]` (or the embedding when `ways == 0`).
    public func callAsFunction(_ x: Tensor, _ p: Parameters) throws -> Tensor {
        let e = try embed(x, p)
        guard ways > 0 else { return e }
        return try x.builder.scope("head") { try linear(e, p.tensor("head.w"), p.tensor("head.b")) }
    }
}

/// A character-level LSTM sequence classifier: one-hot characters, one LSTM layer, a linear
/// head on the last hidden state.
public struct LSTMClassifier: Model {
    /// Alphabet size.
    public var vocabulary: Int
    /// Hidden units.
    public var hidden: Int
    /// Classes.
    public var classes: Int

    /// Creates the model.
    public init(vocabulary: Int = 32, hidden: Int = 64, classes: Int = 5) {
        self.vocabulary = vocabulary
        self.hidden = hidden
        self.classes = classes
    }

    /// Parameters `lstm.wx`, `lstm.wh`, `lstm.b`, `head.w`, `head.b`.
    public var parameterSpecs: [ParameterSpec] {
        [.weight("lstm.wx", [vocabulary, 4 * hidden]), .weight("lstm.wh", [hidden, 4 * hidden]),
         .bias("lstm.b", [4 * hidden]), .weight("head.w", [hidden, classes]), .bias("head.b", [classes])]
    }

    /// `x`: `i32` character ids `[B, T]` → logits `[B, classes]`.
    public func callAsFunction(_ x: Tensor, _ p: Parameters) throws -> Tensor {
        let (b, t) = (x.shape[0], x.shape[1])
        let onehot = try x.oneHot(depth: vocabulary)
        var h = x.builder.constant(0, [b, hidden])
        var c = h
        for step in 0..<t {
            let xt = try onehot.slice(start: [0, step, 0], end: [b, step + 1, vocabulary]).reshaped([b, vocabulary])
            (h, c) = try lstmCell(x: xt, h: h, c: c, wx: p.tensor("lstm.wx"), wh: p.tensor("lstm.wh"), b: p.tensor("lstm.b"))
        }
        return try linear(h, p.tensor("head.w"), p.tensor("head.b"))
    }
}

/// A causal self-attention block with a residual connection (SNAIL-style attention).
public struct AttentionBlock: Model {
    /// Model width.
    public var width: Int
    /// Key/query width.
    public var keyWidth: Int

    /// Creates the model.
    public init(width: Int = 32, keyWidth: Int = 16) {
        self.width = width
        self.keyWidth = keyWidth
    }

    /// Parameters `wq`, `wk`, `wv`.
    public var parameterSpecs: [ParameterSpec] {
        [.weight("wq", [width, keyWidth]), .weight("wk", [width, keyWidth]), .weight("wv", [width, width])]
    }

    /// `x` `[B, T, width]` → `x + attention(x)`.
    public func callAsFunction(_ x: Tensor, _ p: Parameters) throws -> Tensor {
        let q = try linear(x, p.tensor("wq"), nil), k = try linear(x, p.tensor("wk"), nil)
        let v = try linear(x, p.tensor("wv"), nil)
        return try x + attention(query: q, key: k, value: v, causal: true)
    }
}
