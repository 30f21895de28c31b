import Passes

/// Straightforward loop nests for the dense ops: the `-O0` reference the tuned
/// `DenseKernels` are checked against, and code that is obviously correct by reading.
public enum NaiveDense {
    static func load(_ b: LLVMText, _ ptr: Value, _ index: Value) -> Value {
        let p = b.value("getelementptr float, ptr \(ptr), i64 \(index)")
        return b.value("load float, ptr \(p), align 4")
    }

    static func store(_ b: LLVMText, _ v: Value, _ ptr: Value, _ index: Value) {
        let p = b.value("getelementptr float, ptr \(ptr), i64 \(index)")
        b.emit("store float \(v), ptr \(p), align 4")
    }

    /// `i·a + j·c + …` as i64 IR.
    static func affine(_ b: LLVMText, _ terms: [(Value, Int)], constant: Int = 0) -> Value {
        var acc = Value.i64(constant)
        for (v, s) in terms where s != 0 {
            let t = s == 1 ? v : b.value("mul nsw i64 \(v), \(s)")
            acc = acc.constant == 0 ? t : b.value("add nsw i64 \(acc), \(t)")
        }
        return acc
    }

    /// Batched matmul; the range covers `batch·m` rows.
    public static func matmul(_ s: MatmulSpec, name: String, epilogue: Epilogue? = nil) -> DenseKernel {
        let fn = KernelFunctionText(name: name, bufferCount: 3 + (epilogue?.extraBuffers ?? 0))
        let b = fn.body
        b.forEach(from: KernelFunctionText.begin, to: KernelFunctionText.end, hint: "row") { row in
            let bi = b.value("udiv i64 \(row), \(s.m)"), i = b.value("urem i64 \(row), \(s.m)")
            b.forEach(from: .i64(0), to: .i64(s.n), hint: "j") { j in
                let acc = b.loop(from: .i64(0), to: .i64(s.k), carried: [("float", .floatZero)], hint: "k") { k, c in
                    let ai = affine(b, [(bi, s.aBatchStride), (i, s.transposeA ? 1 : s.k), (k, s.transposeA ? s.m : 1)])
                    let bj = affine(b, [(bi, s.bBatchStride), (k, s.transposeB ? 1 : s.n), (j, s.transposeB ? s.k : 1)])
                    let x = load(b, KernelFunctionText.pointer(1), ai), y = load(b, KernelFunctionText.pointer(2), bj)
                    let prod = b.value("fmul float \(x), \(y)")
                    return [b.value("fadd float \(c[0]), \(prod)")]
                }
                let v = epilogue.map { $0.emit(b, acc[0], [bi, i, j], []) } ?? acc[0]
                store(b, v, KernelFunctionText.pointer(0), affine(b, [(row, s.n), (j, 1)]))
            }
        }
        b.emit("ret void")
        return DenseKernel(function: fn, outerExtent: s.batch * s.m, flops: s.flops)
    }

    /// `x[n,c,y,x]` with zero outside the image (`valid` guards the load).
    static func paddedLoad(_ b: LLVMText, _ ptr: Value, _ s: ConvSpec, n: Value, c: Value, y: Value, x: Value) -> Value {
        let y0 = b.value("icmp sge i64 \(y), 0"), y1 = b.value("icmp slt i64 \(y), \(s.h)")
        let x0 = b.value("icmp sge i64 \(x), 0"), x1 = b.value("icmp slt i64 \(x), \(s.w)")
        let ok = b.value("and i1 \(b.value("and i1 \(y0), \(y1)")), \(b.value("and i1 \(x0), \(x1)"))")
        let idx = affine(b, [(n, s.c * s.h * s.w), (c, s.h * s.w), (y, s.w), (x, 1)])
        let safe = b.value("select i1 \(ok), i64 \(idx), i64 0")
        let v = load(b, ptr, safe)
        return b.value("select i1 \(ok), float \(v), float 0.0")
    }

    /// Forward convolution; the range covers `n·o`.
    public static func conv2d(_ s: ConvSpec, name: String, epilogue: Epilogue? = nil) -> DenseKernel {
        let fn = KernelFunctionText(name: name, bufferCount: 3 + (epilogue?.extraBuffers ?? 0))
        let b = fn.body
        b.forEach(from: KernelFunctionText.begin, to: KernelFunctionText.end, hint: "no") { no in
            let n = b.value("udiv i64 \(no), \(s.o)"), o = b.value("urem i64 \(no), \(s.o)")
            b.forEach(from: .i64(0), to: .i64(s.outH), hint: "oy") { oy in
                b.forEach(from: .i64(0), to: .i64(s.outW), hint: "ox") { ox in
                    let acc = b.loop(from: .i64(0), to: .i64(s.c), carried: [("float", .floatZero)], hint: "c") { c, a0 in
                        b.loop(from: .i64(0), to: .i64(s.kh), carried: [("float", a0[0])], hint: "u") { u, a1 in
                            b.loop(from: .i64(0), to: .i64(s.kw), carried: [("float", a1[0])], hint: "v") { v, a2 in
                                let y = affine(b, [(oy, s.stride), (u, 1)], constant: 0)
                                let yy = b.value("sub nsw i64 \(y), \(s.padding)")
                                let x = affine(b, [(ox, s.stride), (v, 1)])
                                let xx = b.value("sub nsw i64 \(x), \(s.padding)")
                                let xv = paddedLoad(b, KernelFunctionText.pointer(1), s, n: n, c: c, y: yy, x: xx)
                                let wv = load(b, KernelFunctionText.pointer(2), affine(b, [(o, s.c * s.kh * s.kw), (c, s.kh * s.kw), (u, s.kw), (v, 1)]))
                                return [b.value("fadd float \(a2[0]), \(b.value("fmul float \(xv), \(wv)"))")]
                            }
                        }
                    }
                    let r = epilogue.map { $0.emit(b, acc[0], [n, o, oy, ox], []) } ?? acc[0]
                    store(b, r, KernelFunctionText.pointer(0), affine(b, [(no, s.outH * s.outW), (oy, s.outW), (ox, 1)]))
                }
            }
        }
        b.emit("ret void")
        return DenseKernel(function: fn, outerExtent: s.n * s.o, flops: s.flops)
    }

    /// `dx[n,c,y,x] = Σ_{o,u,v : y = oy·s+u−p, x = ox·s+v−p} dy[n,o,oy,ox]·w[o,c,u,v]`;
    /// the range covers `n·c`.
    public static func conv2dInputGrad(_ s: ConvSpec, name: String, epilogue: Epilogue? = nil) -> DenseKernel {
        let fn = KernelFunctionText(name: name, bufferCount: 3 + (epilogue?.extraBuffers ?? 0))
        let b = fn.body
        b.forEach(from: KernelFunctionText.begin, to: KernelFunctionText.end, hint: "nc") { nc in
            let n = b.value("udiv i64 \(nc), \(s.c)"), c = b.value("urem i64 \(nc), \(s.c)")
            b.forEach(from: .i64(0), to: .i64(s.h), hint: "y") { y in
                b.forEach(from: .i64(0), to: .i64(s.w), hint: "x") { x in
                    let acc = b.loop(from: .i64(0), to: .i64(s.o), carried: [("float", .floatZero)], hint: "o") { o, a0 in
                        b.loop(from: .i64(0), to: .i64(s.kh), carried: [("float", a0[0])], hint: "u") { u, a1 in
                            b.loop(from: .i64(0), to: .i64(s.kw), carried: [("float", a1[0])], hint: "v") { v, a2 in
                                // oy = (y + p − u) / s when divisible and in range.
                                let ty = b.value("sub nsw i64 \(b.value("add nsw i64 \(y), \(s.padding)")), \(u)")
                                let tx = b.value("sub nsw i64 \(b.value("add nsw i64 \(x), \(s.padding)")), \(v)")
                                let oy = b.value("sdiv i64 \(ty), \(s.stride)"), ox = b.value("sdiv i64 \(tx), \(s.stride)")
                                let ry = b.value("srem i64 \(ty), \(s.stride)"), rx = b.value("srem i64 \(tx), \(s.stride)")
                                var ok = b.value("icmp sge i64 \(ty), 0")
                                for cond in ["icmp sge i64 \(tx), 0", "icmp eq i64 \(ry), 0", "icmp eq i64 \(rx), 0",
                                             "icmp slt i64 \(oy), \(s.outH)", "icmp slt i64 \(ox), \(s.outW)"] {
                                    ok = b.value("and i1 \(ok), \(b.value(cond))")
                                }
                                let di = affine(b, [(n, s.o * s.outH * s.outW), (o, s.outH * s.outW), (oy, s.outW), (ox, 1)])
                                let safe = b.value("select i1 \(ok), i64 \(di), i64 0")
                                let dv = load(b, KernelFunctionText.pointer(1), safe)
                                let wv = load(b, KernelFunctionText.pointer(2), affine(b, [(o, s.c * s.kh * s.kw), (c, s.kh * s.kw), (u, s.kw), (v, 1)]))
                                let prod = b.value("fmul float \(dv), \(wv)")
                                let term = b.value("select i1 \(ok), float \(prod), float 0.0")
                                return [b.value("fadd float \(a2[0]), \(term)")]
                            }
                        }
                    }
                    let r = epilogue.map { $0.emit(b, acc[0], [n, c, y, x], []) } ?? acc[0]
                    store(b, r, KernelFunctionText.pointer(0), affine(b, [(nc, s.h * s.w), (y, s.w), (x, 1)]))
                }
            }
        }
        b.emit("ret void")
        return DenseKernel(function: fn, outerExtent: s.n * s.c, flops: s.flops)
    }

    /// `dw[o,c,u,v] = Σ_{n,oy,ox} x[n,c,oy·s+u−p,ox·s+v−p]·dy[n,o,oy,ox]`; the range covers `o`.
    public static func conv2dFilterGrad(_ s: ConvSpec, name: String, epilogue: Epilogue? = nil) -> DenseKernel {
        let fn = KernelFunctionText(name: name, bufferCount: 3 + (epilogue?.extraBuffers ?? 0))
        let b = fn.body
        b.forEach(from: KernelFunctionText.begin, to: KernelFunctionText.end, hint: "o") { o in
            b.forEach(from: .i64(0), to: .i64(s.c), hint: "c") { c in
                b.forEach(from: .i64(0), to: .i64(s.kh), hint: "u") { u in
                    b.forEach(from: .i64(0), to: .i64(s.kw), hint: "v") { v in
                        let acc = b.loop(from: .i64(0), to: .i64(s.n), carried: [("float", .floatZero)], hint: "n") { n, a0 in
                            b.loop(from: .i64(0), to: .i64(s.outH), carried: [("float", a0[0])], hint: "oy") { oy, a1 in
                                b.loop(from: .i64(0), to: .i64(s.outW), carried: [("float", a1[0])], hint: "ox") { ox, a2 in
                                    let y = b.value("sub nsw i64 \(affine(b, [(oy, s.stride), (u, 1)])), \(s.padding)")
                                    let x = b.value("sub nsw i64 \(affine(b, [(ox, s.stride), (v, 1)])), \(s.padding)")
                                    let xv = paddedLoad(b, KernelFunctionText.pointer(1), s, n: n, c: c, y: y, x: x)
                                    let dv = load(b, KernelFunctionText.pointer(2), affine(b, [(n, s.o * s.outH * s.outW), (o, s.outH * s.outW), (oy, s.outW), (ox, 1)]))
                                    return [b.value("fadd float \(a2[0]), \(b.value("fmul float \(xv), \(dv)"))")]
                                }
                            }
                        }
                        let r = epilogue.map { $0.emit(b, acc[0], [o, c, u, v], []) } ?? acc[0]
                        store(b, r, KernelFunctionText.pointer(0), affine(b, [(o, s.c * s.kh * s.kw), (c, s.kh * s.kw), (u, s.kw), (v, 1)]))
                    }
                }
            }
        }
        b.emit("ret void")
        return DenseKernel(function: fn, outerExtent: s.o, flops: s.flops)
    }
}

extension NaiveDense {
    /// The convolution form `kind` of `s` (one of the three entry points above).
    public static func convolution(_ kind: ConvKind, _ s: ConvSpec, name: String, epilogue: Epilogue? = nil) -> DenseKernel {
        switch kind {
        case .forward: return conv2d(s, name: name, epilogue: epilogue)
        case .inputGradient: return conv2dInputGrad(s, name: name, epilogue: epilogue)
        case .filterGradient: return conv2dFilterGrad(s, name: name, epilogue: epilogue)
        }
    }
}
