import MetaIR

extension Tensor {
    /// Embedding lookup: this `[rows, width]` table's rows at the `i32` `indices` (any shape
    /// `S`), giving `S + [width]`. Indices outside `0..<rows` read zeros (use -1 for padding).
    public func gather(_ indices: Tensor, file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        try builder.apply(.gather, [self, indices], declared: nil, file: file, line: line)
    }

    /// Scatter-add (the adjoint of ``gather(_:file:line:)``): these `S + [width]` updates
    /// summed into a `[rows, width]` result at the `i32` `indices` of shape `S`; indices
    /// outside `0..<rows` are dropped.
    public func scatterAdd(indices: Tensor, rows: Int, file: StaticString = #fileID, line: UInt = #line) throws -> Tensor {
        let width = shape.rank > 0 ? shape[shape.rank - 1] : 0
        return try builder.apply(.scatterAdd, [self, indices], declared: TensorType(dtype, [rows, width]),
                                 file: file, line: line)
    }
}
