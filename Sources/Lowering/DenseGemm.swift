/// Emits one register-tiled GEMM into a kernel body (see `DenseKernels`): the loops over the
/// outer range, the panels of B, the blocks of k and the register tiles of C.
///
/// What is multiplied is configured, not coded here: `GemmOperands` says where A lies and
/// how C's elements are named, `GemmB` how B is reached (in place or packed), and an optional
/// `ScatteredC` replaces the contiguous store of C.
final class DenseGemmEmitter {
    let b: LLVMText
    private let function: KernelFunctionText
    let epilogue: Epilogue?
    let extraPointers: [Value]
    let batch, m, n, k: Int
    let mr, nv: Int
    let operands: any GemmOperands
    let bSource: GemmB
    let scatter: (any ScatteredC)?
    /// The outer range is `batch × row blocks` (else `batch × column panels`).
    let splitsRows: Bool
    /// Compute A's column offsets once per packed block of k into a stack table (when they
    /// divide, as the filter gradient's do).
    let tabulatesAColumns: Bool
    /// k per packed block (`k` itself when B is read in place).
    let kc: Int
    /// C's columns come in groups of this many that are stored `m` rows apart (the forward
    /// convolution over several images: column (g, p) of row i is y[g, i, p]), instead of
    /// C's contiguous `[batch, m, n]`.
    let columnGroup: Int?

    // Stack buffers, allocated at the top of the body before any tile uses them.
    private(set) var scratch = Value.literal("poison")
    private var tileBuffer = Value.literal("poison")
    /// A scattered C's whole batch, where the scatter buffers it (`ScatteredC.buffersC`).
    private var cBuffer: Value?
    private var aColumnTable: Value?

    static let vector = "<16 x float>"
    /// Floats of packed-B scratch (32 KiB: leaves room in L1 for A and C).
    static let scratchFloats = 8192

    /// Register tile for an `m×n` product on `unit`: `nv` vectors of 16 columns × `mr` rows.
    ///
    /// With 32 vectors to spare (AVX-512) the tile is up to 6×64 (24 accumulators, 4 B
    /// vectors, 1 broadcast); the rows per width were tuned on Conv-4's GEMMs. With fewer
    /// (AVX2: 16 `ymm`, 8 vectors of 16 floats) one vector of B and `budget − 2`
    /// rows: 6×16, 12 `ymm` accumulators + 2 for B + 1 broadcast, as BLIS's Haswell kernel.
    /// Measured on a 2-core AVX2 EPYC (`maml-5w1s`, it/s): 4 rows 1.15, 5 rows 1.08, 6 rows
    /// 1.27, 7 rows 0.96, 8 rows 0.82 (spilling), the AVX-512 tiles 0.35.
    static func tile(m: Int, n: Int, unit: VectorUnit) -> (mr: Int, nv: Int) {
        let budget = unit.vectorBudget
        guard budget >= 32 else { return (max(1, min(max(1, budget - 2), m)), 1) }
        let nv = max(1, min(4, (n + 15) / 16))
        let mr: Int
        switch nv {
        case 1, 3: mr = 8
        case 2: mr = 12
        default: mr = 6
        }
        return (max(1, min(mr, m)), nv)
    }

    /// `buffers` counts the kernel's own buffers (the epilogue's follow); `vectors` overrides
    /// the tile width (in vectors of 16) that `tile` would choose for `n`.
    init(name: String, buffers: Int, epilogue: Epilogue?, shape: GemmShape, unit: VectorUnit, operands: any GemmOperands,
         bSource: GemmB, scatter: (any ScatteredC)? = nil, splitsRows: Bool = true, vectors: Int? = nil,
         tabulatesAColumns: Bool = false, columnGroup: Int? = nil) {
        precondition(columnGroup == nil || (epilogue == nil && scatter == nil && columnGroup! >= 4),
                     "column groups take no epilogue or scatter and at least 4 columns")
        let extra = epilogue?.extraBuffers ?? 0
        function = KernelFunctionText(name: name, bufferCount: buffers + extra)
        b = function.body
        self.epilogue = epilogue
        extraPointers = (0..<extra).map { KernelFunctionText.pointer(buffers + $0) }
        batch = max(0, shape.batch)
        m = max(0, shape.m)
        n = max(0, shape.n)
        k = max(0, shape.k)
        (mr, nv) = DenseGemmEmitter.tile(m: shape.m, n: vectors.map { min(shape.n, $0 * 16) } ?? shape.n, unit: unit)
        self.operands = operands
        self.bSource = bSource
        self.scatter = scatter
        self.splitsRows = splitsRows
        self.tabulatesAColumns = tabulatesAColumns
        self.columnGroup = columnGroup
        kc = Self.isPacked(bSource) ? max(1, min(shape.k, DenseGemmEmitter.scratchFloats / (nv * 16))) : max(1, shape.k)
    }

    /// Whether B goes through the scratch panel.
    var packed: Bool { Self.isPacked(bSource) }
    private static func isPacked(_ source: GemmB) -> Bool {
        switch source {
        case .inPlace: return false
        case .packedElements, .packedLines, .packedGather: return true
        }
    }

    /// The kernel's symbol (its tables are named after it).
    var functionName: String { function.name }
    var panelWidth: Int { nv * 16 }
    var rowBlocks: Int { (m + mr - 1) / mr }
    var fullRowBlocks: Int { m / mr }
    var fullPanels: Int { n / panelWidth }
    var tailColumns: Int { n % panelWidth }
    var panels: Int { fullPanels + (tailColumns > 0 ? 1 : 0) }
    var kBlocks: Int { max(1, (k + kc - 1) / kc) }
    var outerExtent: Int { scatter != nil ? batch : batch * (splitsRows ? rowBlocks : panels) }

    /// Emits the whole body and returns the kernel.
    func finish(flops: Int) -> DenseKernel {
        emitBody()
        var f = function
        if case .packedGather(let source) = bSource {
            f.globals = source.gatherTables(kernel: function.name, length: panels * panelWidth)
            f.declarations.insert(maskedGatherDeclaration)
            if source.prefetchesAhead { f.declarations.insert(prefetchDeclaration) }
        }
        if columnGroup != nil {
            f.declarations.insert(maskedLoadDeclaration)
            f.declarations.insert(maskedStoreDeclaration)
        }
        return DenseKernel(function: f, outerExtent: outerExtent, flops: flops)
    }

    // MARK: structure

    private func emitBody() {
        guard batch > 0, m > 0, n > 0 else {
            b.emit("ret void")
            return
        }
        if packed {
            scratch = b.value("alloca [\(kc * panelWidth) x float], align 64", hint: "scratch")
            if tabulatesAColumns {
                aColumnTable = b.value("alloca [\(kc) x i64], align 64", hint: "aktab")
            }
        }
        let tailVectors = (tailColumns + 15) / 16
        let tailLast = tailColumns - (tailVectors - 1) * 16
        let fullWidth = Value.i64(fullPanels * panelWidth)
        if let scatter {
            precondition(!packed && kBlocks == 1, "scatter tiles need B in place and one block of k")
            let rowStride = panels * panelWidth
            let buffered = scatter.buffersC(rows: m, rowStride: rowStride)
            if buffered {
                cBuffer = b.value("alloca [\(m * rowStride) x float], align 64", hint: "cbuf")
            } else {
                tileBuffer = b.value("alloca [\(mr * panelWidth) x float], align 64", hint: "tilebuf")
            }
            b.forEach(from: KernelFunctionText.begin, to: KernelFunctionText.end, hint: "bt") { bi in
                if !buffered { scatter.beginBatch(b, batch: bi) }
                if fullPanels > 0 {
                    b.forEach(from: .i64(0), to: .i64(fullPanels), hint: "jp") { jp in
                        panel(bi, b.mul(jp, panelWidth), nv, 16, .i64(0), .i64(rowBlocks))
                    }
                }
                if tailColumns > 0 {
                    panel(bi, fullWidth, tailVectors, tailLast, .i64(0), .i64(rowBlocks))
                }
                if buffered {
                    scatter.writeBuffered(b, batch: bi, c: cBuffer!, rowStride: rowStride,
                                          epilogue: epilogue, extraPointers: extraPointers)
                } else {
                    scatter.endBatch(b, batch: bi, epilogue: epilogue, extraPointers: extraPointers)
                }
            }
        } else if splitsRows {
            let rb = rowBlocks
            let first = b.sdiv(KernelFunctionText.begin, rb)
            let last = b.sdiv(b.value("add nsw i64 \(KernelFunctionText.end), \(rb - 1)"), rb)
            b.forEach(from: first, to: last, hint: "bt") { bi in
                let base = b.mul(bi, rb)
                let ib0 = b.smax(b.sub(KernelFunctionText.begin, base), .i64(0))
                let ib1 = b.smin(b.sub(KernelFunctionText.end, base), .i64(rb))
                if fullPanels > 0 {
                    b.forEach(from: .i64(0), to: .i64(fullPanels), hint: "jp") { jp in
                        panel(bi, b.mul(jp, panelWidth), nv, 16, ib0, ib1)
                    }
                }
                if tailColumns > 0 {
                    panel(bi, fullWidth, tailVectors, tailLast, ib0, ib1)
                }
            }
        } else {
            let np = panels
            b.forEach(from: KernelFunctionText.begin, to: KernelFunctionText.end, hint: "t") { t in
                let bi = b.udiv(t, np), jp = b.urem(t, np)
                let ib1 = Value.i64(rowBlocks)
                if fullPanels > 0 && tailColumns > 0 {
                    let isFull = b.value("icmp ult i64 \(jp), \(fullPanels)")
                    let isTail = b.value("xor i1 \(isFull), true")
                    b.ifThen(isFull) { panel(bi, b.mul(jp, panelWidth), nv, 16, .i64(0), ib1) }
                    b.ifThen(isTail) { panel(bi, fullWidth, tailVectors, tailLast, .i64(0), ib1) }
                } else if fullPanels > 0 {
                    panel(bi, b.mul(jp, panelWidth), nv, 16, .i64(0), ib1)
                } else {
                    panel(bi, .i64(0), tailVectors, tailLast, .i64(0), ib1)
                }
            }
        }
        b.emit("ret void")
    }

    /// Columns `j0 ..< j0 + (nvp−1)·16 + lastWidth` of row blocks `ib0 ..< ib1` of C[bi].
    private func panel(_ bi: Value, _ j0: Value, _ nvp: Int, _ lastWidth: Int, _ ib0: Value, _ ib1: Value) {
        let blockBody = { (k0: Value, kEnd: Value, first: Value?, last: Value?) in
            if self.packed { self.pack(bi, j0, k0, kEnd, nvp, lastWidth) }
            if let table = self.aColumnTable {
                self.b.forEach(from: k0, to: kEnd, hint: "ak") { kk in
                    let p = self.b.value("getelementptr inbounds i64, ptr \(table), i64 \(self.b.sub(kk, k0))", hint: "p")
                    let offset = self.operands.aColumnOffset(self.b, batch: bi, k: kk)
                    self.b.emit("store i64 \(offset), ptr \(p), align 8")
                }
            }
            let full = self.fullRowBlocks
            let fullEnd = self.b.smin(ib1, .i64(full))
            self.b.forEach(from: ib0, to: fullEnd, hint: "ib") { ib in
                self.tile(self.mr, bi, self.b.mul(ib, self.mr), j0, nvp, lastWidth, k0, kEnd, first, last)
            }
            let rest = self.m - full * self.mr
            if rest > 0 {
                let reaches = self.b.value("icmp sgt i64 \(ib1), \(full)")
                let starts = self.b.value("icmp sle i64 \(ib0), \(full)")
                self.b.ifThen(self.b.and(reaches, starts)) {
                    self.tile(rest, bi, .i64(full * self.mr), j0, nvp, lastWidth, k0, kEnd, first, last)
                }
            }
        }
        if kBlocks == 1 {
            blockBody(.i64(0), .i64(k), nil, nil)
        } else {
            b.forEach(from: .i64(0), to: .i64(kBlocks), hint: "kb") { kb in
                let k0 = b.mul(kb, kc)
                let kEnd = b.smin(b.add(k0, .i64(kc)), .i64(k))
                let first = b.value("icmp eq i64 \(kb), 0")
                let last = b.value("icmp eq i64 \(kb), \(kBlocks - 1)")
                blockBody(k0, kEnd, first, last)
            }
        }
    }

    /// One `rows × (nvp·16)` register tile of C at (i0, j0), k in `k0 ..< kEnd`.
    private func tile(_ rows: Int, _ bi: Value, _ i0: Value, _ j0: Value, _ nvp: Int, _ lastWidth: Int,
                      _ k0: Value, _ kEnd: Value, _ first: Value?, _ last: Value?) {
        let v16 = Self.vector
        let rowPointers = (0..<rows).map { r in
            b.gep(operands.aPointer, operands.aRowOffset(b, batch: bi, row: b.add(i0, .i64(r))))
        }
        let bPanel: Value
        switch bSource {
        case .inPlace(let inPlace):
            bPanel = b.gep(operands.bPointer, b.add(inPlace.bBatchOffset(b, batch: bi), j0))
        case .packedElements, .packedLines, .packedGather:
            bPanel = scratch
        }
        let carried = Array(repeating: (type: v16, initial: Value.zeroinitializer), count: rows * nvp)
        let acc = b.loop(from: k0, to: kEnd, carried: carried, hint: "k") { kk, acc in
            var bv: [Value] = []
            for v in 0..<nvp {
                let width = v == nvp - 1 ? lastWidth : 16
                if packed {
                    let off = b.add(b.mul(b.sub(kk, k0), panelWidth), .i64(16 * v))
                    bv.append(loadVector(b.gep(bPanel, off), width: 16, align: 64))
                } else {
                    let off = b.add(b.mul(kk, n), .i64(16 * v))
                    bv.append(loadVector(b.gep(bPanel, off), width: width, align: 4))
                }
            }
            let ak: Value
            if let aColumnTable {
                let p = b.value("getelementptr inbounds i64, ptr \(aColumnTable), i64 \(b.sub(kk, k0))", hint: "p")
                ak = b.value("load i64, ptr \(p), align 8")
            } else {
                ak = operands.aColumnOffset(b, batch: bi, k: kk)
            }
            return b.rankOneUpdate(acc, rows: rows, vectors: bv) { r in b.loadFloat(rowPointers[r], ak) }
        }
        // Store (accumulating onto earlier k blocks).
        let out = KernelFunctionText.pointer(0)
        if let columnGroup {
            storeGrouped(acc, columnGroup, rows, bi, i0, j0, nvp, lastWidth, first)
            return
        }
        let cBase = b.add(b.mul(bi, m * n), j0)
        let cRows = (0..<rows).map { r in b.gep(out, b.add(cBase, b.mul(b.add(i0, .i64(r)), n))) }
        if let cBuffer {
            // Whole 16-lane vectors: the buffer's rows are padded to whole panels, and the
            // lanes past a ragged panel's width hold zeros (B's were loaded as zeros).
            let rowStride = panels * panelWidth
            for r in 0..<rows {
                let rowStart = b.add(b.mul(b.add(i0, .i64(r)), rowStride), j0)
                for v in 0..<nvp {
                    let p = b.gep(cBuffer, b.add(rowStart, .i64(16 * v)))
                    b.emit("store \(v16) \(acc[r * nvp + v]), ptr \(p), align 64")
                }
            }
            return
        }
        if let scatter {
            let width = (nvp - 1) * 16 + lastWidth
            for r in 0..<rows {
                for v in 0..<nvp {
                    let p = b.gep(tileBuffer, .i64(r * panelWidth + 16 * v))
                    b.emit("store \(v16) \(acc[r * nvp + v]), ptr \(p), align 64")
                }
            }
            // One copy of the scatter code per tile shape: a loop over the rows.
            b.forEach(from: .i64(0), to: .i64(rows), hint: "sr") { r in
                let row = b.add(i0, r)
                scatter.addRow(b, batch: bi, row: row, firstColumn: j0, width: width,
                               values: b.gep(tileBuffer, b.mul(r, panelWidth)))
            }
            return
        }
        // After the first block of k, add what earlier blocks stored.
        for r in 0..<rows {
            for v in 0..<nvp {
                let width = v == nvp - 1 ? lastWidth : 16
                accumulateStore(acc[r * nvp + v], b.gep(cRows[r], .i64(16 * v)), width: width, first: first)
            }
        }
        guard let epilogue else { return }
        let apply = {
            let width = (nvp - 1) * 16 + lastWidth
            self.b.forEach(from: .i64(0), to: .i64(rows), hint: "er") { r in
                let i = self.b.add(i0, r)
                let row = self.b.gep(out, self.b.add(cBase, self.b.mul(i, self.n)))
                self.b.forEach(from: .i64(0), to: .i64(width), hint: "ej") { jj in
                    let p = self.b.gep(row, jj)
                    let x = self.b.value("load float, ptr \(p), align 4")
                    let index = self.operands.outputIndex(self.b, batch: bi, row: i, column: self.b.add(j0, jj))
                    let y = epilogue.emit(self.b, x, index, self.extraPointers)
                    self.b.emit("store float \(y), ptr \(p), align 4")
                }
            }
        }
        if let last { b.ifThen(last) { apply() } } else { apply() }
    }

    /// The store of a tile whose columns come in groups of `pixels` (`columnGroup`): column
    /// c of row i of C[bi] is element `bi·m·n + i·pixels + c + g·(m−1)·pixels` of the output,
    /// g = c / pixels. A vector of 16 columns spans at most `(pixels + 14) / pixels + 1` groups;
    /// each group's lanes are one contiguous run, so the vector is stored (and, after the
    /// first block of k, loaded) by one masked access per group.
    private func storeGrouped(_ acc: [Value], _ pixels: Int, _ rows: Int, _ bi: Value, _ i0: Value, _ j0: Value,
                              _ nvp: Int, _ lastWidth: Int, _ first: Value?) {
        let v16 = Self.vector, i16 = "<16 x i32>"
        let out = KernelFunctionText.pointer(0)
        let segments = (pixels + 14) / pixels + 1
        let laneIndex = "<" + (0..<16).map { "i32 \($0)" }.joined(separator: ", ") + ">"
        for v in 0..<nvp {
            let width = v == nvp - 1 ? lastWidth : 16
            let c0 = b.add(j0, .i64(16 * v))
            let g0 = b.udiv(c0, pixels)
            // A vector inside one group is one plain (unmasked) access per row: AMD cores run
            // AVX2's masked store (`vmaskmovps`) in microcode, and it was three quarters of the
            // 1-channel 28×28 forward convolution's time on Zen 3.
            let inOne = b.value("icmp eq i64 \(g0), \(b.udiv(b.add(c0, .i64(width - 1)), pixels))")
            b.ifThen(inOne) {
                for r in 0..<rows {
                    let rowBase = b.add(b.mul(bi, m * n), b.mul(b.add(i0, .i64(r)), pixels))
                    let p = b.gep(out, b.add(b.add(rowBase, c0), b.mul(g0, (m - 1) * pixels)))
                    accumulateStore(acc[r * nvp + v], p, width: width, first: first)
                }
            }
            b.ifThen(b.value("xor i1 \(inOne), true")) {
                let c0i = b.splat16(b.value("trunc i64 \(c0) to i32"), "i32")
                let columns = b.value("add \(i16) \(c0i), \(laneIndex)")
                var inWidth: Value?
                if width < 16 {
                    let w = "<" + Array(repeating: "i32 \(width)", count: 16).joined(separator: ", ") + ">"
                    inWidth = b.value("icmp ult \(i16) \(laneIndex), \(w)")
                }
                // Per group: its lanes, and its offset from the row's base.
                let groups = (0..<segments).map { s -> (mask: Value, offset: Value) in
                    let g = b.add(g0, .i64(s))
                    let lo = b.mul(g, pixels)
                    let loV = b.splat16(b.value("trunc i64 \(lo) to i32"), "i32")
                    let hiV = b.splat16(b.value("trunc i64 \(b.add(lo, .i64(pixels))) to i32"), "i32")
                    let above = b.value("icmp sge \(i16) \(columns), \(loV)")
                    let below = b.value("icmp slt \(i16) \(columns), \(hiV)")
                    var mask = b.value("and <16 x i1> \(above), \(below)")
                    if let inWidth { mask = b.value("and <16 x i1> \(mask), \(inWidth)") }
                    return (mask, b.add(c0, b.mul(g, (m - 1) * pixels)))
                }
                for r in 0..<rows {
                    let rowBase = b.add(b.mul(bi, m * n), b.mul(b.add(i0, .i64(r)), pixels))
                    // Not `inbounds`: a group past the tile's columns points past the output
                    // (its mask is empty, so nothing is touched).
                    let pointers = groups.map { g in
                        b.value("getelementptr float, ptr \(out), i64 \(b.add(rowBase, g.offset))", hint: "gp")
                    }
                    var x = acc[r * nvp + v]
                    if let first {
                        var old = Value.zeroinitializer
                        for (g, p) in zip(groups, pointers) {
                            let part = b.value("call \(v16) @llvm.masked.load.v16f32.p0(ptr \(p), i32 4, <16 x i1> \(g.mask), "
                                               + "\(v16) \(old))")
                            old = part
                        }
                        let earlier = b.value("select i1 \(first), \(v16) zeroinitializer, \(v16) \(old)")
                        x = b.value("fadd \(v16) \(x), \(earlier)")
                    }
                    for (g, p) in zip(groups, pointers) {
                        b.emit("call void @llvm.masked.store.v16f32.p0(\(v16) \(x), ptr \(p), i32 4, <16 x i1> \(g.mask))")
                    }
                }
            }
        }
    }

    /// Stores the first `width` lanes of `x` at `p`; after the first block of k (`first`
    /// false) it adds what earlier blocks stored there (the select keeps whatever the output
    /// held before the first block out of the sum).
    private func accumulateStore(_ x: Value, _ p: Value, width: Int, first: Value?) {
        var sum = x
        if let first {
            let v16 = Self.vector
            let old = loadVector(p, width: width, align: 4)
            let earlier = b.value("select i1 \(first), \(v16) zeroinitializer, \(v16) \(old)")
            sum = b.value("fadd \(v16) \(x), \(earlier)")
        }
        storeVector(sum, p, width: width)
    }

    // MARK: vectors

    private func lanes(_ count: Int) -> String {
        "<" + (0..<count).map { "i32 \($0)" }.joined(separator: ", ") + ">"
    }

    /// Loads `width` (1…16) floats at `p` as a 16-lane vector (upper lanes zero).
    private func loadVector(_ p: Value, width: Int, align: Int) -> Value {
        if width == 16 { return b.value("load \(Self.vector), ptr \(p), align \(align)") }
        let part = b.value("load <\(width) x float>, ptr \(p), align 4")
        let idx = "<" + (0..<16).map { "i32 \(min($0, width))" }.joined(separator: ", ") + ">"
        return b.value("shufflevector <\(width) x float> \(part), <\(width) x float> zeroinitializer, <16 x i32> \(idx)")
    }

    /// Stores the first `width` lanes of `v` at `p`.
    private func storeVector(_ v: Value, _ p: Value, width: Int) {
        if width == 16 {
            b.emit("store \(Self.vector) \(v), ptr \(p), align 4")
        } else {
            let part = b.value("shufflevector \(Self.vector) \(v), \(Self.vector) poison, <\(width) x i32> \(lanes(width))")
            b.emit("store <\(width) x float> \(part), ptr \(p), align 4")
        }
    }
}
