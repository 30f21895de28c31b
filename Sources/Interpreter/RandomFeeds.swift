import MetaIR

/// Seeded random values for every input and parameter of a graph, independent of where the
/// graph came from (a name or a .mjir file), so both give the same outputs.
public enum RandomFeeds {
    /// Values for every `input` and `param` node of `g`, after checking that they fit in
    /// `limit` (they are held as `Double`s).
    public static func make(for g: Graph, seed: UInt64, limit: MemoryLimit) throws -> [String: HostTensor] {
        let sizes = (g.inputs + g.parameters).map { MemoryLimit.bytes(of: g.nodes[$0.node].type, elementSize: 8) }
        try limit.check("random inputs and parameters of graph \"\(g.name)\"", parts: [("values", MemoryLimit.sum(sizes))])
        return make(for: g, seed: seed)
    }

    /// Values for every `input` and `param` node of `g` (no size check: for graphs known to be small).
    public static func make(for g: Graph, seed: UInt64) -> [String: HostTensor] {
        var feeds: [String: HostTensor] = [:]
        for (name, id) in g.inputs + g.parameters {
            var rng = SeededRandom(seed: seed ^ stableHash(name))
            feeds[name] = rng.tensor(g.nodes[id].type, scale: 0.5, intBound: intBound(for: id, in: g))
        }
        return feeds
    }

    /// Labels and character ids must be valid indices: find how they are consumed.
    /// Exclusive upper bound for random `i32` values fed to node `id`.
    public static func intBound(for id: Int, in g: Graph) -> Int {
        var bound = Int.max
        for n in g.nodes where n.inputs.contains(id) {
            switch n.op {
            case .oneHot(let depth): bound = min(bound, depth)
            case .gather where n.inputs[1] == id: bound = min(bound, g.nodes[n.inputs[0]].type.shape[0])
            case .scatterAdd where n.inputs[1] == id: bound = min(bound, n.type.shape[0])
            case .compare:
                for other in n.inputs where other != id {
                    if case .argmax(let axis) = g.nodes[other].op, let src = g.nodes[other].inputs.first {
                        bound = min(bound, g.nodes[src].type.shape[axis])
                    }
                }
            case .input, .parameter, .constant, .iota, .unary, .binary, .select, .reduce, .argmax, .matmul,
                 .conv2d, .conv2dInputGrad, .conv2dFilterGrad, .reshape, .permute, .broadcast, .slice, .pad,
                 .concat, .cast, .stopGradient, .randomUniform, .gather, .scatterAdd:
                break  // accepts any value
            }
        }
        return bound == Int.max ? 2 : bound
    }

    /// FNV-1a, stable across runs (Swift's `Hasher` is randomly seeded).
    /// Stable 64-bit hash of a name.
    public static func stableHash(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}

