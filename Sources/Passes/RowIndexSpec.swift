/// Which of the two row-indexed kernels a `KernelBody.rowIndexed` computes.
public enum RowIndexedKind: String, Hashable, Sendable {
    /// `out[p, :] = table[idx[p], :]` (zeros out of range): `MetaIR.Op.gather`.
    case gather
    /// `out[v, :] = Σ_{idx[p] == v} updates[p, :]` (out-of-range dropped): `MetaIR.Op.scatterAdd`.
    case scatterAdd
}

/// Sizes of an embedding lookup or its scatter-add: `positions` indices into a table of
/// `rows` rows of `width` elements. Operand 0 is the table (gather) or the updates
/// (scatter-add), operand 1 the `i32` indices; both contiguous.
public struct RowIndexSpec: Hashable, Sendable {
    /// Number of indices (the product of the index shape).
    public var positions: Int
    /// Rows of the table (`V`).
    public var rows: Int
    /// Elements per row (`D`).
    public var width: Int

    /// Creates a spec.
    public init(positions: Int, rows: Int, width: Int) {
        self.positions = positions
        self.rows = rows
        self.width = width
    }

    /// Elements the kernel writes.
    public func outputCount(_ kind: RowIndexedKind) -> Int {
        switch kind {
        case .gather: return positions * width
        case .scatterAdd: return rows * width
        }
    }
}
