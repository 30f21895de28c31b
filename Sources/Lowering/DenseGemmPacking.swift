/// Packing of B panels into the GEMM's scratch buffer: where transposes, im2col, padding and
/// strides are resolved, so the micro-kernel only ever reads contiguous, zero-padded rows.
extension DenseGemmEmitter {
    /// Packs B[bi][k0..<kEnd, j0..<j0+width] into the scratch panel (row stride `panelWidth`),
    /// zero padding the columns up to `nvp·16`.
    func pack(_ bi: Value, _ j0: Value, _ k0: Value, _ kEnd: Value, _ nvp: Int, _ lastWidth: Int) {
        let width = (nvp - 1) * 16 + lastWidth
        let store = { (kk: Value, jj: Value, value: Value) in
            let row = self.b.mul(self.b.sub(kk, k0), self.panelWidth)
            let p = self.b.gep(self.scratch, self.b.add(row, jj))
            self.b.emit("store float \(value), ptr \(p), align 4")
        }
        switch bSource {
        case .inPlace:
            preconditionFailure("B read in place is not packed")
        case .packedLines(let lines):
            packLines(lines, bi, j0, k0, kEnd, width)
        case .packedGather(let source):
            // The tables' padding entries are never valid, so the gathers zero the ragged end.
            packGather(source, bi, j0, k0, kEnd, nvp)
            return
        case .packedElements(let elements) where elements.packsColumnsOutside:
            b.forEach(from: .i64(0), to: .i64(width), hint: "pj") { jj in
                b.forEach(from: k0, to: kEnd, hint: "pk") { kk in
                    store(kk, jj, elements.bElement(b, batch: bi, k: kk, column: b.add(j0, jj)))
                }
            }
        case .packedElements(let elements):
            b.forEach(from: k0, to: kEnd, hint: "pk") { kk in
                b.forEach(from: .i64(0), to: .i64(width), hint: "pj") { jj in
                    store(kk, jj, elements.bElement(b, batch: bi, k: kk, column: b.add(j0, jj)))
                }
            }
        }
        if width < nvp * 16 {
            b.forEach(from: k0, to: kEnd, hint: "pz") { kk in
                b.forEach(from: .i64(width), to: .i64(nvp * 16), hint: "pzj") { jj in
                    store(kk, jj, .floatZero)
                }
            }
        }
    }

    /// `pack` for a B packed line by line (see `LinePackedB`).
    private func packLines(_ source: any LinePackedB, _ bi: Value, _ j0: Value, _ k0: Value, _ kEnd: Value,
                           _ width: Int) {
        let lp = source.lines
        let pw = panelWidth
        let (fixedLo, fixedHi) = lp.alongK ? (Value.i64(0), Value.i64(width)) : (k0, kEnd)
        let (aLo, aHi) = lp.alongK ? (k0, kEnd) : (j0, b.add(j0, .i64(width)))
        let lineLength = lp.lineLength
        b.forEach(from: fixedLo, to: fixedHi, hint: "pf") { fixed in
            let global = lp.alongK ? b.add(j0, fixed) : fixed
            // Scratch offset of packed position a: base + a·step.
            let step = lp.alongK ? pw : 1
            let scratchBase = lp.alongK ? b.sub(fixed, b.mul(k0, pw)) : b.sub(b.mul(b.sub(fixed, k0), pw), j0)
            let store = { (a: Value, value: Value) in
                let p = self.b.gep(self.scratch, self.b.add(scratchBase, self.b.mul(a, step)))
                self.b.emit("store float \(value), ptr \(p), align 4")
            }
            let offsets = source.lineOffsets(b, batch: bi, fixed: global)
            let (cOff, sOff) = (offsets.position, offsets.source)
            let rLo = b.udiv(aLo, lineLength)
            let rHi = b.add(b.udiv(b.sub(aHi, .i64(1)), lineLength), .i64(1))
            b.forEach(from: rLo, to: rHi, hint: "pr") { r in
                let lineStart = b.mul(r, lineLength)
                let segLo = b.sub(b.smax(aLo, lineStart), lineStart)
                let segHi = b.sub(b.smin(aHi, b.add(lineStart, .i64(lineLength))), lineStart)
                let line = source.sourceLine(b, batch: bi, fixed: global, line: r)
                let tLo = b.smax(b.smax(.i64(0), b.ceilDiv(b.sub(segLo, cOff), lp.positionStride)),
                                 b.ceilDiv(b.sub(.i64(0), sOff), lp.sourceStride))
                let tHi0 = b.smin(b.smin(.i64(lp.count), b.ceilDiv(b.sub(segHi, cOff), lp.positionStride)),
                                  b.ceilDiv(b.sub(.i64(lp.sourceLength), sOff), lp.sourceStride))
                let tHi = b.smax(b.value("select i1 \(line.isValid), i64 \(tHi0), i64 \(tLo)"), tLo)
                let scalarCopy = { (from: Value, to: Value) in
                    self.b.forEach(from: from, to: to, hint: "pt") { t in
                        let q = self.b.add(self.b.mul(t, lp.positionStride), cOff)
                        let offset = self.b.add(line.base, self.b.add(self.b.mul(t, lp.sourceStride), sOff))
                        let x = self.b.loadFloat(self.operands.bPointer, offset)
                        store(self.b.add(lineStart, q), x)
                    }
                }
                let zeroFill = { (from: Value, to: Value) in
                    self.b.forEach(from: from, to: to, hint: "pz") { q in
                        store(self.b.add(lineStart, q), .floatZero)
                    }
                }
                if lp.positionStride == 1 {
                    let zEnd = b.smin(b.add(tLo, cOff), segHi)
                    zeroFill(segLo, zEnd)
                    zeroFill(b.smax(b.add(tHi, cOff), zEnd), segHi)
                } else {
                    zeroFill(segLo, segHi)
                }
                scalarCopy(tLo, tHi)
            }
        }
    }
}
