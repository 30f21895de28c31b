import GraphDSL
import MetaIR

/// Matching Networks (Vinyals et al. 2016): a query is classified by softmax attention over
/// the cosine similarities of its embedding to the support embeddings,
/// `p(y | x̂) = Σᵢ a(x̂, xᵢ) onehot(yᵢ)`.
///
/// With `fce` (full context embeddings) the support embeddings go through a bidirectional
/// LSTM over the support set in its episode order, `g(xᵢ) = h→ᵢ + h←ᵢ + g′(xᵢ)`, and each
/// query through an attention LSTM for `processingSteps` steps:
/// `ĥₖ, cₖ = LSTM(f′(x̂), [hₖ₋₁, rₖ₋₁], cₖ₋₁)`, `hₖ = ĥₖ + f′(x̂)`,
/// `rₖ = Σᵢ softmax(hₖ·g(xᵢ)) g(xᵢ)` (from `h₀ = r₀ = c₀ = 0`), and `f(x̂) = h_K`.
public struct MatchingNetwork {
    /// The shared embedding g′ = f′ (Conv-4 or MLP, no head).
    public var backbone: any FewShotNetwork
    /// Length of the backbone's embedding (the LSTMs' hidden size).
    public var embeddingSize: Int
    /// Full context embeddings.
    public var fce: Bool
    /// The attention LSTM's steps K (5 in the paper).
    public var processingSteps: Int

    /// Creates the learner.
    public init(backbone: any FewShotNetwork, embeddingSize: Int, fce: Bool, processingSteps: Int = 5) {
        self.backbone = backbone
        self.embeddingSize = embeddingSize
        self.fce = fce
        self.processingSteps = processingSteps
    }

    /// The backbone's parameters, then the FCE LSTMs' (`fce.fw.*`, `fce.bw.*`, `fce.att.*`).
    public var parameterSpecs: [ParameterSpec] {
        guard fce else { return backbone.parameterSpecs }
        let d = embeddingSize
        func lstm(_ name: String, recurrent: Int) -> [ParameterSpec] {
            [.weight("\(name).wx", [d, 4 * d]), .weight("\(name).wh", [recurrent, 4 * d]), .bias("\(name).b", [4 * d])]
        }
        return backbone.parameterSpecs + lstm("fce.fw", recurrent: d) + lstm("fce.bw", recurrent: d)
            + lstm("fce.att", recurrent: 2 * d)
    }

    /// g: support embeddings `[S, D]` in context (the bidirectional LSTM when `fce`).
    public func supportEmbeddings(_ x: Tensor, _ p: Parameters) throws -> Tensor {
        let g0 = try backbone.embed(x, p)
        guard fce else { return g0 }
        let (s, d) = (g0.shape[0], g0.shape[1])
        return try x.builder.scope("fce.support") {
            let rows = try (0..<s).map { try g0.slice(start: [$0, 0], end: [$0 + 1, d]) }
            func run(_ name: String, _ order: [Int]) throws -> [Int: Tensor] {
                var h = x.builder.constant(0, [1, d]), c = h
                var out: [Int: Tensor] = [:]
                for i in order {
                    (h, c) = try lstmCell(x: rows[i], h: h, c: c, wx: p.tensor("\(name).wx"),
                                          wh: p.tensor("\(name).wh"), b: p.tensor("\(name).b"))
                    out[i] = h
                }
                return out
            }
            let fw = try run("fce.fw", Array(0..<s)), bw = try run("fce.bw", Array((0..<s).reversed()))
            let g = try (0..<s).map { i -> Tensor in
                guard let f = fw[i], let b = bw[i] else { throw StepConfigError(field: "shots", message: "support set is empty") }
                return try f + b + rows[i]
            }
            return try concat(g, axis: 0)
        }
    }

    /// f: query embeddings `[Q, D]` given the support embeddings `g` `[S, D]`.
    public func queryEmbeddings(_ x: Tensor, support g: Tensor, _ p: Parameters) throws -> Tensor {
        let f0 = try backbone.embed(x, p)
        guard fce else { return f0 }
        let (q, d) = (f0.shape[0], f0.shape[1])
        return try x.builder.scope("fce.query") {
            var h = x.builder.constant(0, [q, d]), c = h, r = h
            for _ in 0..<processingSteps {
                let (hHat, cNext) = try lstmCell(x: f0, h: concat([h, r], axis: 1), c: c, wx: p.tensor("fce.att.wx"),
                                                 wh: p.tensor("fce.att.wh"), b: p.tensor("fce.att.b"))
                c = cNext
                h = try hHat + f0
                r = try softmax(h.matmul(g.transposed()), axis: 1).matmul(g)
            }
            return h
        }
    }

    /// log p(y | x̂) `[Q, N]`: the log of the attention mass on each class. Cosine similarities
    /// lie in [−1, 1], so every attention weight is at least e⁻²/S and the log is finite.
    public func logProbabilities(supportX: Tensor, supportY: Tensor, queryX: Tensor, ways: Int, _ p: Parameters) throws -> Tensor {
        let g = try supportEmbeddings(supportX, p)
        let f = try queryEmbeddings(queryX, support: g, p)
        let attention = try softmax(cosineSimilarity(f, g), axis: 1)                     // [Q, S]
        let labels = try supportY.oneHot(depth: ways).cast(to: .f32)                      // [S, N]
        return try log(attention.matmul(labels))
    }
}
