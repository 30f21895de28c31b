import MetaIR

/// The reference definitions of `gather` and `scatter_add` (embedding lookup and its adjoint).
extension Kernels {
    /// `out[p, :] = table[idx[p], :]`, or zeros when `idx[p]` is outside `0..<rows`.
    static func gatherRows(_ table: HostTensor, indices: HostTensor, result t: TensorType) -> HostTensor {
        var out = HostTensor(t, repeating: 0)
        forEachValidRow(indices, rows: table.shape[0], width: table.shape[1]) { position, row in
            out.data[position] = table.data[row]
        }
        return out
    }

    /// `out[v, :] = Σ_{p : idx[p] == v} updates[p, :]`; updates with an index outside
    /// `0..<rows` are dropped.
    static func scatterAddRows(_ updates: HostTensor, indices: HostTensor, result t: TensorType) -> HostTensor {
        var out = HostTensor(t, repeating: 0)
        forEachValidRow(indices, rows: t.shape[0], width: t.shape[1]) { position, row in
            out.data[row] += updates.data[position]
        }
        return out
    }

    /// Calls `body(p·width + c, idx[p]·width + c)` for every position p whose index lies in
    /// `0..<rows` and every column c, in position order (the order scatter-add sums in).
    private static func forEachValidRow(_ indices: HostTensor, rows: Int, width: Int, _ body: (Int, Int) -> Void) {
        for (p, raw) in indices.data.enumerated() {
            let r = Int(raw)
            guard r >= 0, r < rows else { continue }
            for c in 0..<width { body(p * width + c, r * width + c) }
        }
    }
}
