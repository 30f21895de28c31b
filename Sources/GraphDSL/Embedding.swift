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

/// A masked LSTM sentence encoder: `tokens` `[B, T]` (`i32`, -1 at padding) are embedded by
/// ``Tensor/gather(_:file:line:)`` from `table` `[V, E]`, then run through ``lstmCell(x:h:c:wx:wh:b:)``
/// (`wx` `[E, 4H]`, `wh` `[H, 4H]`, `b` `[4H]`) for `T` steps; where `mask` `[B, T]` is 0 the
/// state is carried over unchanged, so each row's result is its final hidden state `[B, H]`
/// after its own last word.
public func maskedLSTMEncoder(tokens: Tensor, mask: Tensor, table: Tensor, wx: Tensor, wh: Tensor, b: Tensor) throws -> Tensor {
    let batch = tokens.shape[0], steps = tokens.shape[1], hidden = wh.shape[0]
    let embedded = try table.gather(tokens)  // [B, T, E]
    let width = table.shape[1]
    var h = tokens.builder.constant(0, [batch, hidden]), c = tokens.builder.constant(0, [batch, hidden])
    for t in 0..<steps {
        let x = try embedded.slice(start: [0, t, 0], end: [batch, t + 1, width]).reshaped([batch, width])
        let m = try mask.slice(start: [0, t], end: [batch, t + 1]).broadcast(to: [batch, hidden])
        let next = try lstmCell(x: x, h: h, c: c, wx: wx, wh: wh, b: b)
        h = try m * next.h + (1 - m) * h
        c = try m * next.c + (1 - m) * c
    }
    return h
}
