/// The sizes of one batched GEMM `C[b] (m×n) = A[b] (m×k) · B[b] (k×n)`.
struct GemmShape {
    var batch: Int
    var m: Int
    var n: Int
    var k: Int
}

/// Where a GEMM reads A and how its output elements are named: one conforming type per
/// kernel form (matmul, convolution, and the two convolution gradients).
///
/// Each method emits the index arithmetic it needs into `b` and returns an i64 value; the
/// `DenseGemmEmitter` calls them at fixed points, so their order fixes the SSA numbering.
protocol GemmOperands {
    /// The buffer A is read from.
    var aPointer: Value { get }
    /// The buffer B is read from.
    var bPointer: Value { get }
    /// Element offset of row `row` of A[batch].
    func aRowOffset(_ b: LLVMText, batch: Value, row: Value) -> Value
    /// Element offset of column `k` of A[batch], added to the row's offset.
    func aColumnOffset(_ b: LLVMText, batch: Value, k: Value) -> Value
    /// The epilogue's multi-index of C[batch][row, column].
    func outputIndex(_ b: LLVMText, batch: Value, row: Value, column: Value) -> [Value]
}

extension GemmOperands {
    /// C's own index `[batch, row, column]` (the matmul's output axes).
    func outputIndex(_ b: LLVMText, batch: Value, row: Value, column: Value) -> [Value] {
        [batch, row, column]
    }
}

/// How the micro-kernel reaches B.
enum GemmB {
    /// Read in place: B[batch] is row-major `k×n`.
    case inPlace(any InPlaceB)
    /// Packed per panel into scratch, one element at a time.
    case packedElements(any ElementPackedB)
    /// Packed per panel into scratch, one strided line at a time (the convolutions).
    case packedLines(any LinePackedB)
    /// Packed per panel into scratch by masked vector gathers (see `GatherPackedB`).
    case packedGather(any GatherPackedB)
}

/// A B operand read where it lies.
protocol InPlaceB {
    /// Element offset of B[batch] in the B buffer.
    func bBatchOffset(_ b: LLVMText, batch: Value) -> Value
}

/// A B operand packed element by element.
protocol ElementPackedB {
    /// Pack with the column loop outside (B is stored column-major).
    var packsColumnsOutside: Bool { get }
    /// B[batch][k, column] as a float; must only load in bounds.
    func bElement(_ b: LLVMText, batch: Value, k: Value, column: Value) -> Value
}

/// A B operand packed line by line without per-element index arithmetic.
///
/// The packed axis (the columns j, or the rows k when `alongK`) is cut into lines of
/// `lineLength` positions; with the other index fixed, position
/// `positionStride·t + offsets.position` of a line holds
/// `source[line.base + sourceStride·t + offsets.source]` for the `t` in `0 ..< count` whose
/// position lies in the line and whose source index lies in `0 ..< sourceLength` (and the
/// line is valid); every other position is zero. So each line is one strided copy plus zero
/// fill, with divisions only per line, not per element.
protocol LinePackedB {
    /// The lines' fixed sizes and strides.
    var lines: LineGeometry { get }
    /// The offsets shared by every line with the other index fixed at `fixed`.
    func lineOffsets(_ b: LLVMText, batch: Value, fixed: Value) -> LineOffsets
    /// Line `line` with the other index fixed at `fixed`: where it starts in the source.
    func sourceLine(_ b: LLVMText, batch: Value, fixed: Value, line: Value) -> SourceLine
}

/// The compile-time shape of a `LinePackedB`'s lines.
struct LineGeometry {
    /// Lines run along k (the packed rows) rather than along the columns.
    var alongK: Bool
    /// Positions per line.
    var lineLength: Int
    /// Source elements per line at most.
    var count: Int
    /// Packed positions between consecutive source elements.
    var positionStride: Int
    /// Source elements between consecutive copied elements.
    var sourceStride: Int
    /// Valid source indices per line: `0 ..< sourceLength`.
    var sourceLength: Int
}

/// Where the first copied element of each line goes and comes from, relative to the line.
struct LineOffsets {
    /// Packed position of `t = 0`.
    var position: Value
    /// Source index of `t = 0`, relative to the line's base.
    var source: Value
}

/// One line of the source.
struct SourceLine {
    /// Whether the line holds any data (i1); an invalid line packs as zeros.
    var isValid: Value
    /// Source offset of index 0 of the line.
    var base: Value
}

/// Tiles of C added into scattered output positions instead of stored: how the input
/// gradient accumulates `wᵀ·dy` into dx (col2im) without multiplying the zeros of a dilated
/// dy. With it, the outer range is the batch: each batch owns its output region.
///
/// Either element by element as each tile completes (`beginBatch`, `addRow`, `endBatch`), or,
/// where `buffersC` allows, the batch's whole C goes to a stack buffer first and
/// `writeBuffered` writes the output from it once, in vectors (`ConvInputGradOperands`).
protocol ScatteredC {
    /// Whether C of one batch (`rows × rowStride` floats, columns padded to whole panels) is
    /// buffered and written by `writeBuffered` instead of scattered tile by tile.
    func buffersC(rows: Int, rowStride: Int) -> Bool
    /// Writes the batch's output region from its buffered C (`rowStride` floats per row,
    /// aligned to 64 bytes), epilogue included; nothing ran on the region before.
    func writeBuffered(_ b: LLVMText, batch: Value, c: Value, rowStride: Int, epilogue: Epilogue?, extraPointers: [Value])
    /// Runs before the batch's tiles (zeroes its region).
    func beginBatch(_ b: LLVMText, batch: Value)
    /// Adds row `row` of a tile, columns `firstColumn ..< firstColumn + width`, whose values
    /// are consecutive floats at `values`.
    func addRow(_ b: LLVMText, batch: Value, row: Value, firstColumn: Value, width: Int, values: Value)
    /// Runs after the batch's tiles (the epilogue over its region).
    func endBatch(_ b: LLVMText, batch: Value, epilogue: Epilogue?, extraPointers: [Value])
}
