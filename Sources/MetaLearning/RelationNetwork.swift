import GraphDSL
import MetaIR

/// The Relation Network of Sung et al. (2018) for Omniglot.
///
/// Embedding: four blocks of 3×3 conv (`width` filters), batch norm, ReLU; 2×2 max-pool after
/// the first two; padding 0 in the first two blocks and 1 in the last two (64×5×5 maps on
/// 28×28). Relation module: support and query maps concatenated along channels (2·width),
/// two conv blocks (padding 1) each with a 2×2 max-pool, FC → `hidden` ReLU, FC → 1 sigmoid.
public struct RelationNetwork: FewShotNetwork {
    /// Input channels (1 for Omniglot).
    public var channels: Int
    /// Input height and width.
    public var imageSize: Int
    /// Filters per conv block (64 in the paper).
    public var width: Int
    /// Units of the relation module's hidden FC layer (8 in the paper).
    public var hidden: Int

    /// Creates the network.
    public init(channels: Int = 1, imageSize: Int = 28, width: Int = 64, hidden: Int = 8) {
        self.channels = channels
        self.imageSize = imageSize
        self.width = width
        self.hidden = hidden
    }

    /// Side of the embedding maps: (s − 2)/2, then (· − 2)/2 (5 on 28×28).
    public var mapSize: Int { ((imageSize - 2) / 2 - 2) / 2 }

    /// Side after the relation module's two pooled blocks (1 on 28×28).
    public var relationSize: Int { mapSize / 2 / 2 }

    /// Length of the flattened embedding (`width·mapSize²`).
    public var embeddingSize: Int { width * mapSize * mapSize }

    /// Whether the image is large enough for every block to keep at least one pixel.
    public var isValidSize: Bool { mapSize >= 1 && relationSize >= 1 }

    /// `enc{i}.*` for the embedding blocks, `rel{i}.*` for the relation blocks, `fc1.*`, `fc2.*`.
    public var parameterSpecs: [ParameterSpec] {
        var specs: [ParameterSpec] = []
        for i in 1...4 {
            let cin = i == 1 ? channels : width
            specs += block("enc\(i)", cin)
        }
        specs += block("rel1", 2 * width) + block("rel2", width)
        let flat = width * relationSize * relationSize
        specs += [.weight("fc1.w", [flat, hidden]), .bias("fc1.b", [hidden]),
                  .weight("fc2.w", [hidden, 1]), .bias("fc2.b", [1])]
        return specs
    }

    /// The embedding's parameter names (the relation module's are the rest).
    public var encoderParameterNames: Set<String> {
        Set((1...4).flatMap { i in ["enc\(i).w", "enc\(i).b", "enc\(i).gamma", "enc\(i).beta"] })
    }

    /// No classifier head.
    public var headParameterNames: Set<String> { [] }

    private func block(_ name: String, _ cin: Int) -> [ParameterSpec] {
        [.weight("\(name).w", [width, cin, 3, 3]), .bias("\(name).b", [width]),
         .scale("\(name).gamma", [width]), .bias("\(name).beta", [width])]
    }

    private func convBlock(_ x: Tensor, _ name: String, _ p: Parameters, padding: Int, pool: Bool) throws -> Tensor {
        try x.builder.scope(name) {
            let c = try x.conv2d(p.tensor("\(name).w"), stride: 1, padding: padding)
                + p.tensor("\(name).b").reshaped([1, width, 1, 1])
            let n = try relu(batchNorm(c, gamma: p.tensor("\(name).gamma"), beta: p.tensor("\(name).beta")))
            return pool ? try maxPool2x2(n) : n
        }
    }

    /// Feature maps `[B, width, mapSize, mapSize]`.
    public func featureMaps(_ x: Tensor, _ p: Parameters) throws -> Tensor {
        var h = try convBlock(x, "enc1", p, padding: 0, pool: true)
        h = try convBlock(h, "enc2", p, padding: 0, pool: true)
        h = try convBlock(h, "enc3", p, padding: 1, pool: false)
        return try convBlock(h, "enc4", p, padding: 1, pool: false)
    }

    /// The flattened feature maps `[B, embeddingSize]`.
    public func embed(_ x: Tensor, _ p: Parameters) throws -> Tensor {
        try featureMaps(x, p).reshaped([x.shape[0], embeddingSize])
    }

    /// Relation scores in (0, 1) of pairs `[P, 2·width, mapSize, mapSize]` → `[P, 1]`.
    public func relation(_ pairs: Tensor, _ p: Parameters) throws -> Tensor {
        var h = try convBlock(pairs, "rel1", p, padding: 1, pool: true)
        h = try convBlock(h, "rel2", p, padding: 1, pool: true)
        let flat = try h.reshaped([pairs.shape[0], width * relationSize * relationSize])
        let f1 = try pairs.builder.scope("fc1") { try relu(linear(flat, p.tensor("fc1.w"), p.tensor("fc1.b"))) }
        return try pairs.builder.scope("fc2") { try sigmoid(linear(f1, p.tensor("fc2.w"), p.tensor("fc2.b"))) }
    }

    /// Class maps: the `shots` support maps of each class summed, `[N, width, m, m]` (support
    /// ordered class-major, as the sampler emits it).
    public func classMaps(_ supportMaps: Tensor, ways: Int, shots: Int) throws -> Tensor {
        let (c, m) = (supportMaps.shape[1], supportMaps.shape[2])
        return try supportMaps.reshaped([ways, shots, c, m, m]).sum(axes: [1])
    }

    /// Relation scores `[Q, N]` of every query against every class: each pair is
    /// `concat(class map, query map)` along channels.
    public func scores(classMaps s: Tensor, queryMaps q: Tensor, _ p: Parameters) throws -> Tensor {
        let (n, nq, c, m) = (s.shape[0], q.shape[0], s.shape[1], s.shape[2])
        let sb = try s.reshaped([1, n, c, m, m]).broadcast(to: [nq, n, c, m, m])
        let qb = try q.reshaped([nq, 1, c, m, m]).broadcast(to: [nq, n, c, m, m])
        let pairs = try concat([sb, qb], axis: 2).reshaped([nq * n, 2 * c, m, m])
        return try relation(pairs, p).reshaped([nq, n])
    }

    /// Scores `[Q, N]` for one episode.
    public func episodeScores(supportX: Tensor, queryX: Tensor, ways: Int, shots: Int, _ p: Parameters) throws -> Tensor {
        let s = try classMaps(featureMaps(supportX, p), ways: ways, shots: shots)
        return try scores(classMaps: s, queryMaps: featureMaps(queryX, p), p)
    }

    /// The scores of `x` against itself as its only class (a `Model` needs one call; the
    /// steps use `episodeScores`).
    public func callAsFunction(_ x: Tensor, _ p: Parameters) throws -> Tensor {
        let maps = try featureMaps(x, p)
        return try scores(classMaps: maps, queryMaps: maps, p)
    }
}
