import MetaIR

/// The reference definitions of `gather` and `scatter_add` (embedding lookup and its adjoint).
extension Kernels {
    /// `out[p, :] = table[idx[p], :]`, or zeros when `idx[p]` is outside `0..<rows`.
    static func gatherRows(_ table: HostTensor, indices: HostTensor, result t: TensorType) -> HostTensor {
        let rows = table.shape[0], width = table.shape[1]
        var out = HostTensor(t, repeating: 0)
        for (p, raw) in indices.data.enumerated() {
            let r = Int(raw)
            guard r >= 0, r < rows else { continue }
            for c in 0..<width { out.data[p * width + c] = table.data[r * width + c] }
        }
        return out
    }

    /// `out[v, :] = Σ_{p : idx[p] == v} updates[p, :]`; updates with an index outside
    /// `0..<rows` are dropped.
    static func scatterAddRows(_ updates: HostTensor, indices: HostTensor, result t: TensorType) -> HostTensor {
        let rows = t.shape[0], width = t.shape[1]
        var out = HostTensor(t, repeating: 0)
        for (p, raw) in indices.data.enumerated() {
            let r = Int(raw)
            guard r >= 0, r < rows else { continue }
            for c in 0..<width { out.data[r * width + c] += updates.data[p * width + c] }
        }
        return out
    }
}
