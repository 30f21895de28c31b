import Passes

/// The forward convolution as a GEMM per group of `images` images: A = w (`o × c·kh·kw`),
/// B = im2col(x) over the group (`c·kh·kw × images·outH·outW`), packed line by line.
///
/// B[(c,u,v), (g,oh,ow)] = x[batch·images + g, c, oh·s+u−p, ow·s+v−p]: line (g, oh) of row
/// kk = (c,u,v) is that image's x[…, c, oh·s+u−p, ow·s+v−p] for ow in 0..<outW, one strided
/// run of an input row. With `images` > 1 the columns of C run over the group's images, so C
/// is not y's layout: the GEMM stores it through `DenseGemmEmitter`'s column groups
/// (`outH·outW` columns per image).
struct ConvForwardOperands: GemmOperands, LinePackedB {
    var spec: ConvSpec
    /// Images per GEMM (a divisor of `spec.n`).
    var images = 1

    var aPointer: Value { KernelFunctionText.pointer(2) }
    var bPointer: Value { KernelFunctionText.pointer(1) }
    var lines: LineGeometry {
        LineGeometry(alongK: false, lineLength: spec.outW, count: spec.outW, positionStride: 1,
                     sourceStride: spec.stride, sourceLength: spec.w)
    }

    func aRowOffset(_ b: LLVMText, batch: Value, row: Value) -> Value {
        b.mul(row, spec.c * spec.kh * spec.kw)
    }

    func aColumnOffset(_ b: LLVMText, batch: Value, k: Value) -> Value { k }

    func lineOffsets(_ b: LLVMText, batch: Value, fixed kk: Value) -> LineOffsets {
        LineOffsets(position: .i64(0), source: b.sub(b.urem(kk, spec.kw), .i64(spec.padding)))
    }

    func sourceLine(_ b: LLVMText, batch: Value, fixed kk: Value, line: Value) -> SourceLine {
        let s = spec, kk2 = s.kh * s.kw, hw = s.h * s.w
        let c = b.udiv(kk, kk2), u = b.udiv(b.urem(kk, kk2), s.kw)
        let (image, oh) = images == 1
            ? (batch, line) : (b.add(b.mul(batch, images), b.udiv(line, s.outH)), b.urem(line, s.outH))
        let ih = b.sub(b.add(b.mul(oh, s.stride), u), .i64(s.padding))
        return SourceLine(isValid: b.ult(ih, s.h),
                          base: b.add(b.add(b.mul(image, s.c * hw), b.mul(c, hw)), b.mul(ih, s.w)))
    }

    func outputIndex(_ b: LLVMText, batch: Value, row: Value, column: Value) -> [Value] {
        guard images > 1 else {
            return [batch, row, b.udiv(column, spec.outW), b.urem(column, spec.outW)]
        }
        let pixels = spec.outH * spec.outW, pixel = b.urem(column, pixels)
        return [b.add(b.mul(batch, images), b.udiv(column, pixels)), row,
                b.udiv(pixel, spec.outW), b.urem(pixel, spec.outW)]
    }

    /// Images per GEMM for `s`: 1 unless grouping fills clearly more of the 16-lane column
    /// vectors (Conv-4's 2×2 output maps use 4 of 16 lanes per image, its 7×7 maps 49 of 64).
    ///
    /// Candidates are the divisors of `s.n` up to 1,024 columns, at least 4 per image (so
    /// that a vector of 16 columns spans at most 5 images), that gain 5 points of lane use.
    /// Unless single images fill under half the lanes, a group must also leave 16 or more
    /// row blocks to split between threads: measured on two threads, Conv-4's 5-image 7×7
    /// forward (11 row blocks) was 5–10% slower grouped, though faster on one. Of the
    /// candidates, the one that fills the most lanes, the smallest such.
    static func imageGroup(_ s: ConvSpec, unit: VectorUnit) -> Int {
        let pixels = s.outH * s.outW
        guard pixels >= 4, pixels % 16 != 0, s.n > 1 else { return 1 }
        func fill(_ g: Int) -> Double {
            let columns = g * pixels
            return Double(columns) / Double((columns + 15) / 16 * 16)
        }
        func rowBlocks(_ g: Int) -> Int {
            let mr = DenseGemmEmitter.tile(m: s.o, n: g * pixels, unit: unit).mr
            return (s.n / g) * ((s.o + mr - 1) / mr)
        }
        var best = 1
        for g in 2...s.n where s.n % g == 0 && g * pixels <= 1024 && fill(g) >= fill(1) + 0.05
            && (fill(1) < 0.5 || rowBlocks(g) >= 16) && fill(g) > fill(best) + 1e-9 {
            best = g
        }
        return best
    }
}

/// The input gradient as `dcol = wᵀ·dy` added into dx (col2im): one GEMM per image and
/// group of 2 (or 1) input channels, rows `(c,u,v)`, columns the output pixels, k the output
/// channels, dy read in place; each (image, group) owns its slab of dx, and those are the
/// outer range. Unlike the transposed convolution over a dilated dy it multiplies no zeros
/// for stride 2, and unlike im2col of dy it copies nothing. On maps up to 32 wide the
/// (image, group)'s dcol stays in a stack buffer and `writeBuffered` writes dx once, a row
/// at a time in vectors (Conv-4's 14×14 stride-2 layer on one AVX2 thread: 27 → 35–42
/// GFLOP/s); wider maps add each tile's rows element by element.
struct ConvInputGradOperands: GemmOperands, InPlaceB, ScatteredC {
    var spec: ConvSpec
    /// Input channels per GEMM.
    let groupSize: Int
    /// GEMMs per image.
    let groups: Int

    init(spec: ConvSpec) {
        self.spec = spec
        groupSize = spec.c % 2 == 0 ? 2 : 1
        groups = spec.c / groupSize
    }

    private var kk2: Int { spec.kh * spec.kw }
    private var hw: Int { spec.h * spec.w }
    private var dx: Value { KernelFunctionText.pointer(0) }

    var aPointer: Value { KernelFunctionText.pointer(2) }
    var bPointer: Value { KernelFunctionText.pointer(1) }

    /// A[(c,u,v), o] = w[o, c, u, v] with c in this batch's group.
    func aRowOffset(_ b: LLVMText, batch: Value, row: Value) -> Value {
        b.add(b.mul(b.urem(batch, groups), groupSize * kk2), row)
    }

    func aColumnOffset(_ b: LLVMText, batch: Value, k o: Value) -> Value {
        b.mul(o, spec.c * kk2)
    }

    /// B = dy[image] (o × outH·outW), in place.
    func bBatchOffset(_ b: LLVMText, batch: Value) -> Value {
        b.mul(b.udiv(batch, groups), spec.o * spec.outH * spec.outW)
    }

    /// The first element of the batch's slab of dx.
    private func regionStart(_ b: LLVMText, batch: Value) -> Value {
        b.mul(batch, groupSize * hw)
    }

    func beginBatch(_ b: LLVMText, batch: Value) {
        let start = regionStart(b, batch: batch)
        b.forEach(from: .i64(0), to: .i64(groupSize * hw), hint: "zx") { e in
            b.emit("store float 0.0, ptr \(b.gep(dx, b.add(start, e))), align 4")
        }
    }

    func addRow(_ b: LLVMText, batch: Value, row r: Value, firstColumn j0: Value, width: Int, values: Value) {
        let s = spec
        let uv = b.urem(r, kk2), cl = b.udiv(r, kk2)
        let u = b.udiv(uv, s.kw), v = b.urem(uv, s.kw)
        let start = regionStart(b, batch: batch)
        let plane = b.add(start, b.mul(cl, hw))
        let jEnd = b.add(j0, .i64(width))
        // Output rows oh of the tile's pixels; in each, the ow whose x is in the image.
        let ohLo = b.udiv(j0, s.outW), ohHi = b.add(b.udiv(b.sub(jEnd, .i64(1)), s.outW), .i64(1))
        let owMin = b.smax(.i64(0), b.ceilDiv(b.sub(.i64(s.padding), v), s.stride))
        let owMax = b.ceilDiv(b.sub(.i64(s.w + s.padding), v), s.stride)
        b.forEach(from: ohLo, to: ohHi, hint: "sy") { oh in
            let lineStart = b.mul(oh, s.outW)
            let y = b.sub(b.add(b.mul(oh, s.stride), u), .i64(s.padding))
            let owLo = b.smax(b.sub(b.smax(j0, lineStart), lineStart), owMin)
            let owHi0 = b.smin(b.sub(b.smin(jEnd, b.add(lineStart, .i64(s.outW))), lineStart), owMax)
            let owHi = b.value("select i1 \(b.ult(y, s.h)), i64 \(owHi0), i64 \(owLo)")
            let rowBase = b.add(plane, b.sub(b.mul(y, s.w), .i64(s.padding)))
            let valueBase = b.sub(lineStart, j0)
            b.forEach(from: owLo, to: owHi, hint: "sx") { ow in
                let value = b.loadFloat(values, b.add(valueBase, ow))
                let ptr = b.gep(dx, b.add(rowBase, b.add(b.mul(ow, s.stride), v)))
                let old = b.value("load float, ptr \(ptr), align 4")
                b.emit("store float \(b.value("fadd float \(old), \(value)")), ptr \(ptr), align 4")
            }
        }
    }

    /// Buffered where a row of dx and a line of dy fit a few vectors (up to 32 floats) and
    /// the batch's C fits 64 KiB of stack; wider maps scatter element by element.
    func buffersC(rows: Int, rowStride: Int) -> Bool {
        spec.w <= 32 && spec.outW <= 32 && rows * rowStride <= 16 * 1024
    }

    /// col2im as a gather, one row of dx at a time: row y of channel c is the sum over the
    /// taps (u, v) whose output row oh = (y + p − u) / s exists of line oh of C's row
    /// (c, u, v), spread to the row's columns x = ow·s + v − p by a constant shuffle (lanes
    /// with no ow of that tap take zero). Every element of dx is written once, with the
    /// epilogue; nothing is zeroed or read back first.
    func writeBuffered(_ b: LLVMText, batch: Value, c: Value, rowStride: Int, epilogue: Epilogue?, extraPointers: [Value]) {
        let s = spec
        let start = regionStart(b, batch: batch)
        let img = b.udiv(batch, groups), c0 = b.mul(b.urem(batch, groups), groupSize)
        let row = "<\(s.w) x float>", line = "<\(s.outW) x float>"
        // Per column tap v: the shuffle of a dy line into a dx row (nil: no lane is reached).
        let shuffles: [String?] = (0..<s.kw).map { v in
            let lanes = (0..<s.w).map { x -> Int in
                let q = x + s.padding - v
                return q >= 0 && q % s.stride == 0 && q / s.stride < s.outW ? q / s.stride : s.outW
            }
            guard lanes.contains(where: { $0 < s.outW }) else { return nil }
            return "<" + lanes.map { "i32 \($0)" }.joined(separator: ", ") + ">"
        }
        b.forEach(from: .i64(0), to: .i64(groupSize * s.h), hint: "cy") { e in
            let cl = b.udiv(e, s.h), y = b.urem(e, s.h)
            var sum: Value?
            for u in 0..<s.kh {
                // Tap row u reaches y from output row t / s when t = y + p − u is on the grid.
                let t = b.sub(b.add(y, .i64(s.padding)), .i64(u))
                var valid = b.ult(t, s.outH * s.stride)
                if s.stride > 1 { valid = b.and(valid, b.value("icmp eq i64 \(b.urem(t, s.stride)), 0")) }
                let oh = b.value("select i1 \(valid), i64 \(b.udiv(t, s.stride)), i64 0")
                for v in 0..<s.kw {
                    guard let shuffle = shuffles[v] else { continue }
                    let r = b.add(b.mul(cl, kk2), .i64(u * s.kw + v))
                    let p = b.gep(c, b.add(b.mul(r, rowStride), b.mul(oh, s.outW)))
                    let values = b.value("load \(line), ptr \(p), align 4")
                    let spread = b.value("shufflevector \(line) \(values), \(line) zeroinitializer, <\(s.w) x i32> \(shuffle)")
                    let kept = b.value("select i1 \(valid), \(row) \(spread), \(row) zeroinitializer")
                    sum = sum.map { b.value("fadd \(row) \($0), \(kept)") } ?? kept
                }
            }
            let rowPointer = b.gep(dx, b.add(start, b.mul(e, s.w)))
            b.emit("store \(row) \(sum ?? .zeroinitializer), ptr \(rowPointer), align 4")
            guard let epilogue else { return }
            let channel = b.add(c0, cl)
            b.forEach(from: .i64(0), to: .i64(s.w), hint: "ex") { x in
                let p = b.gep(rowPointer, x)
                let value = b.value("load float, ptr \(p), align 4")
                let out = epilogue.emit(b, value, [img, channel, y, x], extraPointers)
                b.emit("store float \(out), ptr \(p), align 4")
            }
        }
    }

    func endBatch(_ b: LLVMText, batch: Value, epilogue: Epilogue?, extraPointers: [Value]) {
        guard let epilogue else { return }
        let start = regionStart(b, batch: batch)
        let img = b.udiv(batch, groups), c0 = b.mul(b.urem(batch, groups), groupSize)
        b.forEach(from: .i64(0), to: .i64(groupSize * hw), hint: "ex") { e in
            let ptr = b.gep(dx, b.add(start, e))
            let x = b.value("load float, ptr \(ptr), align 4")
            let rem = b.urem(e, hw)
            let index = [img, b.add(c0, b.udiv(e, hw)), b.udiv(rem, spec.w), b.urem(rem, spec.w)]
            let y = epilogue.emit(b, x, index, extraPointers)
            b.emit("store float \(y), ptr \(ptr), align 4")
        }
    }
}

/// The filter gradient as one GEMM: A = dy viewed as `o × n·outH·outW`, B = the transposed
/// im2col of x (`n·outH·outW × c·kh·kw`), packed line by line along k.
///
/// B[(n,i,j), (c,u,v)] = x[n, c, i·s+u−p, j·s+v−p]: line (n, oh) of column (c,u,v) is
/// x[n, c, oh·s+u−p, ow·s+v−p] for ow in 0..<outW.
struct ConvFilterGradOperands: GemmOperands, LinePackedB {
    var spec: ConvSpec

    private var kk2: Int { spec.kh * spec.kw }
    private var pixels: Int { spec.outH * spec.outW }

    var aPointer: Value { KernelFunctionText.pointer(2) }
    var bPointer: Value { KernelFunctionText.pointer(1) }
    var lines: LineGeometry {
        LineGeometry(alongK: true, lineLength: spec.outW, count: spec.outW, positionStride: 1,
                     sourceStride: spec.stride, sourceLength: spec.w)
    }

    /// A[o, (n,i,j)] = dy[n, o, i, j].
    func aRowOffset(_ b: LLVMText, batch: Value, row: Value) -> Value {
        b.mul(row, pixels)
    }

    func aColumnOffset(_ b: LLVMText, batch: Value, k: Value) -> Value {
        b.add(b.mul(b.udiv(k, pixels), spec.o * pixels), b.urem(k, pixels))
    }

    func lineOffsets(_ b: LLVMText, batch: Value, fixed j: Value) -> LineOffsets {
        LineOffsets(position: .i64(0), source: b.sub(b.urem(j, spec.kw), .i64(spec.padding)))
    }

    func sourceLine(_ b: LLVMText, batch: Value, fixed j: Value, line: Value) -> SourceLine {
        let s = spec, hw = s.h * s.w
        let img = b.udiv(line, s.outH), oh = b.urem(line, s.outH)
        let c = b.udiv(j, kk2), u = b.udiv(b.urem(j, kk2), s.kw)
        let ih = b.sub(b.add(b.mul(oh, s.stride), u), .i64(s.padding))
        return SourceLine(isValid: b.ult(ih, s.h),
                          base: b.add(b.add(b.mul(img, s.c * hw), b.mul(c, hw)), b.mul(ih, s.w)))
    }

    func outputIndex(_ b: LLVMText, batch: Value, row: Value, column j: Value) -> [Value] {
        [row, b.udiv(j, kk2), b.udiv(b.urem(j, kk2), spec.kw), b.urem(j, spec.kw)]
    }
}
