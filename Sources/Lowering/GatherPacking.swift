import Passes

/// Packing of im2col panels by masked vector gathers, for the convolutions whose lines are
/// too short for `LinePackedB` to pay (stride 2 and small maps: a 7-wide output row costs
/// a line's worth of index arithmetic for 7 scalar copies).
///
/// Every element of an im2col matrix splits into a part that depends on the panel row and a
/// part that depends on the column (the padding goes with the column, so that a row's base
/// always lies in the buffer): element (r, j) is
/// `source[rowBase(r) + columnOffset[j]]`, valid when `rowH(r) + columnH[j]` lies in
/// `0 ..< boundH` and `rowW(r) + columnW[j]` in `0 ..< boundW` (outside, the padding's zero).
/// The column parts are compile-time constants, so they become three private `i32` tables
/// in the kernel's module, padded to whole panels with entries that are never valid; one
/// packed row of 16 columns is then three table loads, two compares and one
/// `llvm.masked.gather` with a zero pass-through, and the ragged last panel needs no zero fill.
protocol GatherPackedB {
    /// Columns of B (the tables' valid length).
    var gatherColumns: Int { get }
    /// The constant column parts of column `j`: source offset, and the h and w it adds.
    func gatherColumn(_ j: Int) -> (offset: Int, h: Int, w: Int)
    /// The bounds the combined h and w are checked against.
    var gatherBounds: (h: Int, w: Int) { get }
    /// The row parts of panel row `k` of B[batch] (i64 values): source offset, h and w.
    func gatherRow(_ b: LLVMText, batch: Value, k: Value) -> (base: Value, h: Value, w: Value)
    /// Whether packing prefetches where later rows' gathers will read (`prefetchOffsets`);
    /// no by default.
    var prefetchesAhead: Bool { get }
    /// Source offsets (i64 values) to prefetch while packing panel row `k` of the panel whose
    /// first column is `j0` (`width` columns wide); empty unless `prefetchesAhead`.
    func prefetchOffsets(_ b: LLVMText, k: Value, j0: Value, width: Int) -> [Value]
}

extension GatherPackedB {
    var prefetchesAhead: Bool { false }
    func prefetchOffsets(_ b: LLVMText, k: Value, j0: Value, width: Int) -> [Value] { [] }
}

/// The largest table (entries per column part) a kernel gets; larger B operands are packed
/// line by line instead.
let gatherTableLimit = 1 << 15

/// Whether a convolution with `columns` B columns packs by gathers: its tables are small
/// enough and every offset into x fits the gathers' 32-bit lanes.
func gatherPacks(_ s: ConvSpec, columns: Int) -> Bool {
    columns <= gatherTableLimit && s.n * s.c * s.h * s.w < Int(Int32.max)
}

/// The intrinsic the gather packer calls.
let maskedGatherDeclaration =
    "declare <16 x float> @llvm.masked.gather.v16f32.v16p0(<16 x ptr>, i32 immarg, <16 x i1>, <16 x float>)"

/// The masked vector load and store of `DenseGemmEmitter`'s grouped columns.
let maskedLoadDeclaration =
    "declare <16 x float> @llvm.masked.load.v16f32.p0(ptr, i32 immarg, <16 x i1>, <16 x float>)"
let maskedStoreDeclaration =
    "declare void @llvm.masked.store.v16f32.p0(<16 x float>, ptr, i32 immarg, <16 x i1>)"

/// The prefetch intrinsic (address, write = 0, locality 0…3, data = 1).
let prefetchDeclaration = "declare void @llvm.prefetch.p0(ptr, i32 immarg, i32 immarg, i32 immarg)"

extension GatherPackedB {
    /// The three tables as LLVM globals named `@<kernel>.goff`, `.gh`, `.gw`, each
    /// `length` entries long (entries past `gatherColumns` can never be valid).
    func gatherTables(kernel: String, length: Int) -> [String] {
        let never = Int32(1 << 30)
        var off = [Int32](), hs = [Int32](), ws = [Int32]()
        off.reserveCapacity(length)
        for j in 0..<length {
            if j < gatherColumns {
                let c = gatherColumn(j)
                off.append(Int32(c.offset))
                hs.append(Int32(c.h))
                ws.append(Int32(c.w))
            } else {
                off.append(0)
                hs.append(never)
                ws.append(0)
            }
        }
        func table(_ suffix: String, _ values: [Int32]) -> String {
            "@\(kernel).\(suffix) = private unnamed_addr constant [\(length) x i32] ["
                + values.map { "i32 \($0)" }.joined(separator: ", ") + "], align 64"
        }
        return [table("goff", off), table("gh", hs), table("gw", ws)]
    }
}

extension DenseGemmEmitter {
    /// `pack` for a gathered B: rows `k0 ..< kEnd`, `nvp` vectors of 16 columns from `j0`.
    func packGather(_ source: any GatherPackedB, _ bi: Value, _ j0: Value, _ k0: Value, _ kEnd: Value, _ nvp: Int) {
        let v16 = Self.vector, i16 = "<16 x i32>"
        let kernel = functionName
        let bounds = source.gatherBounds
        // The column parts of this panel, loaded once for all its rows.
        var columns: [(off: Value, h: Value, w: Value)] = []
        for v in 0..<nvp {
            let j = b.add(j0, .i64(16 * v))
            let load = { (suffix: String) -> Value in
                let p = self.b.value("getelementptr inbounds i32, ptr @\(kernel).\(suffix), i64 \(j)", hint: "gt")
                return self.b.value("load \(i16), ptr \(p), align 4")
            }
            columns.append((load("goff"), load("gh"), load("gw")))
        }
        let hBound = "<" + Array(repeating: "i32 \(bounds.h)", count: 16).joined(separator: ", ") + ">"
        let wBound = "<" + Array(repeating: "i32 \(bounds.w)", count: 16).joined(separator: ", ") + ">"
        b.forEach(from: k0, to: kEnd, hint: "gk") { kk in
            let row = source.gatherRow(b, batch: bi, k: kk)
            let rb = b.splat16(b.value("trunc i64 \(row.base) to i32"), "i32")
            let rh = b.splat16(b.value("trunc i64 \(row.h) to i32"), "i32")
            let rw = b.splat16(b.value("trunc i64 \(row.w) to i32"), "i32")
            let scratchRow = b.mul(b.sub(kk, k0), panelWidth)
            for offset in source.prefetchOffsets(b, k: kk, j0: j0, width: nvp * 16) {
                // Not `inbounds`: the last image's prefetches point past x (they never fault).
                let p = b.value("getelementptr float, ptr \(operands.bPointer), i64 \(offset)", hint: "pf")
                b.emit("call void @llvm.prefetch.p0(ptr \(p), i32 0, i32 3, i32 1)")
            }
            for v in 0..<nvp {
                let ih = b.value("add \(i16) \(rh), \(columns[v].h)")
                let iw = b.value("add \(i16) \(rw), \(columns[v].w)")
                let inH = b.value("icmp ult \(i16) \(ih), \(hBound)")
                let inW = b.value("icmp ult \(i16) \(iw), \(wBound)")
                let mask = b.value("and <16 x i1> \(inH), \(inW)")
                // The whole offset in i32 lanes, computed in the loop: the backend then keeps
                // 32-bit indices (one `vgatherdps` of 16, not two `vgatherqps` of 8). Not
                // `inbounds`: masked-off lanes (the padding) may point outside x.
                let index = b.value("add \(i16) \(rb), \(columns[v].off)")
                let ptrs = b.value("getelementptr float, ptr \(operands.bPointer), \(i16) \(index)", hint: "gv")
                let x = b.value("call \(v16) @llvm.masked.gather.v16f32.v16p0(<16 x ptr> \(ptrs), i32 4, "
                                + "<16 x i1> \(mask), \(v16) zeroinitializer)")
                let p = b.gep(scratch, b.add(scratchRow, .i64(16 * v)))
                b.emit("store \(v16) \(x), ptr \(p), align 64")
            }
        }
    }
}

extension ConvForwardOperands: GatherPackedB {
    /// Column (g, oh, ow) of im2col(x): image g of the group, the output pixel's top-left
    /// input position.
    var gatherColumns: Int { images * spec.outH * spec.outW }

    func gatherColumn(_ j: Int) -> (offset: Int, h: Int, w: Int) {
        let s = spec, pixels = s.outH * s.outW, g = j / pixels, p = j % pixels
        let ih = (p / s.outW) * s.stride - s.padding, iw = (p % s.outW) * s.stride - s.padding
        return (g * s.c * s.h * s.w + ih * s.w + iw, ih, iw)
    }

    var gatherBounds: (h: Int, w: Int) { (spec.h, spec.w) }

    /// Row (c, u, v): the filter tap's channel plane in the group's first image and offset,
    /// less the padding.
    func gatherRow(_ b: LLVMText, batch: Value, k kk: Value) -> (base: Value, h: Value, w: Value) {
        let s = spec, kk2 = s.kh * s.kw, hw = s.h * s.w
        let c = b.udiv(kk, kk2), u = b.udiv(b.urem(kk, kk2), s.kw), v = b.urem(kk, s.kw)
        let base = b.add(b.add(b.mul(batch, images * s.c * hw), b.mul(c, hw)), b.add(b.mul(u, s.w), v))
        return (base, u, v)
    }
}

extension ConvFilterGradOperands: GatherPackedB {
    /// Column (c, u, v) of the transposed im2col: the filter tap's plane and offset.
    var gatherColumns: Int { spec.c * spec.kh * spec.kw }

    func gatherColumn(_ j: Int) -> (offset: Int, h: Int, w: Int) {
        let s = spec, kk2 = s.kh * s.kw
        let c = j / kk2, u = (j % kk2) / s.kw - s.padding, v = j % s.kw - s.padding
        return (c * s.h * s.w + u * s.w + v, u, v)
    }

    var gatherBounds: (h: Int, w: Int) { (spec.h, spec.w) }

    /// Row (n, oh, ow): the output pixel's top-left input position, less the padding.
    func gatherRow(_ b: LLVMText, batch: Value, k: Value) -> (base: Value, h: Value, w: Value) {
        let s = spec, pixels = s.outH * s.outW
        let img = b.udiv(k, pixels), rem = b.urem(k, pixels)
        let rh = b.mul(b.udiv(rem, s.outW), s.stride)
        let rw = b.mul(b.urem(rem, s.outW), s.stride)
        let base = b.add(b.mul(img, s.c * s.h * s.w), b.add(b.mul(rh, s.w), rw))
        return (base, rh, rw)
    }

    /// Where x is too large to stay in L2 (512 KiB or more).
    ///
    /// Panels run outermost here (each packed once), so with a large x every panel's data
    /// comes from L3 or memory, and the gathers (which the hardware prefetchers do not
    /// follow) wait on each line: on Conv-4's [75,64,14,14] filter gradient that made
    /// packing more than half the kernel's time.
    var prefetchesAhead: Bool { spec.n * spec.c * spec.h * spec.w * 4 >= 1 << 19 }

    /// The next image's part of x that this panel reads, spread over the image's rows.
    ///
    /// A panel's columns are the taps of a few consecutive channels, so over the rows of one
    /// image (its output pixels) the gathers read one contiguous span of x: those channels'
    /// planes. Row `rem` of an image prefetches lines `rem·q ..< rem·q + q` of the next
    /// image's span (`q` lines per row, enough to cover it once per image); rows past the
    /// span's end prefetch its last line again.
    func prefetchOffsets(_ b: LLVMText, k: Value, j0: Value, width: Int) -> [Value] {
        guard prefetchesAhead else { return [] }
        let s = spec, kk2 = s.kh * s.kw, hw = s.h * s.w, pixels = s.outH * s.outW
        // Channels a panel of `width` columns can touch, and the lines of their planes.
        let channels = min(s.c, (width + kk2 - 1) / kk2 + 1)
        let spanFloats = channels * hw
        let lines = (spanFloats + 15) / 16
        let perRow = (lines + pixels - 1) / pixels
        let img = b.udiv(k, pixels), rem = b.urem(k, pixels)
        // The span starts at the panel's first channel, clamped so that it stays in the image.
        let c0 = b.smin(b.udiv(j0, kk2), .i64(s.c - channels))
        let start = b.add(b.mul(b.add(img, .i64(1)), s.c * hw), b.mul(c0, hw))
        return (0..<perRow).map { q in
            let line = b.smin(b.add(b.mul(rem, perRow), .i64(q)), .i64(lines - 1))
            return b.add(start, b.mul(line, 16))
        }
    }
}
