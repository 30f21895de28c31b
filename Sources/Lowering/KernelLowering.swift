import MetaIR
import Passes

/// One lowered kernel: its function text (named by a placeholder until the module is
/// assembled, so identical kernels can share one function) and how to call it.
public struct LoweredKernel {
    /// The function with the name `@@KERNEL@@`, plus the declarations it needs.
    public var text: String
    /// Intrinsics and libm functions it calls.
    public var declarations: Set<String>
    /// Pointer arguments: program buffer and element offset into it, in ABI order.
    public var arguments: [(buffer: Int, offset: Int)]
    /// Extent of the range that may be split between threads.
    public var outerExtent: Int
    /// Arithmetic work of one call (FLOPs for dense kernels, element operations otherwise).
    public var work: Int
}

/// Lowers fused kernels to LLVM IR text.
public enum KernelLowering {
    static let placeholder = "@@KERNEL@@"

    /// Lowers kernel `k` of program `p`.
    public static func lower(_ k: Kernel, in p: KernelProgram, tunedDense: Bool = true, unit: VectorUnit = .avx512) -> LoweredKernel {
        switch k.body {
        case .elementwise(let e, let shape):
            return loop(k, p, expr: e, shape: shape, reduced: 0) { em, b, value, outIndex, args in
                em.store(value, p.buffers[k.output].dtype, ptr: args, index: outIndex)
            }
        case .reduce(let kind, let e, let inShape, let axes):
            let kept = inShape.indices.filter { !axes.contains($0) }
            let perm = kept + axes
            return loop(k, p, expr: IndexSpace.permute(e, perm), shape: perm.map { inShape[$0] }, reduced: axes.count,
                        reduceKind: kind) { em, b, value, outIndex, args in
                em.store(value, p.buffers[k.output].dtype, ptr: args, index: outIndex)
            }
        case .argmax(let e, let inShape, let axis):
            let kept = inShape.indices.filter { $0 != axis }
            return loop(k, p, expr: IndexSpace.permute(e, kept + [axis]), shape: (kept + [axis]).map { inShape[$0] },
                        reduced: 1, argmax: true) { em, b, value, outIndex, args in
                em.store(value, .i32, ptr: args, index: outIndex)
            }
        case .matmul, .convolution:
            return dense(k, p, tuned: tunedDense, unit: unit)
        case .rowIndexed(let kind, let spec):
            return rowIndexed(k, p, kind, spec)
        }
    }

    /// Maps (operand, view) to an argument: unmasked loads get a pointer pre-advanced by the
    /// view's offset (so kernels that differ only in where they read share code), masked
    /// loads the buffer's base with the offset in the code.
    final class ArgumentTable {
        var arguments: [(buffer: Int, offset: Int)]
        let operands: [Int]
        init(first: [(buffer: Int, offset: Int)], operands: [Int]) {
            arguments = first
            self.operands = operands
        }
        func pointer(_ operand: Int, _ view: View) -> (ptr: Value, offset: Int) {
            let key = (buffer: operands[operand], offset: view.mask == nil ? view.offset : 0)
            let i = arguments.firstIndex { $0.buffer == key.buffer && $0.offset == key.offset } ?? {
                arguments.append(key)
                return arguments.count - 1
            }()
            return (KernelFunctionText.pointer(i), view.mask == nil ? 0 : view.offset)
        }
    }

    /// A loop nest over `shape` whose last `reduced` axes are reduced (sum/max) or searched
    /// (argmax); the rest index the contiguous output.
    static func loop(_ k: Kernel, _ p: KernelProgram, expr: Expr, shape: [Int], reduced: Int,
                     reduceKind: ReduceOp = .sum, argmax: Bool = false,
                     store: (inout ExprEmitter, LLVMText, Value, Value, Value) -> Void) -> LoweredKernel {
        let keptCount = shape.count - reduced
        let (e, mshape, groups) = IndexSpace.merge(expr, shape: shape, boundaries: [keptCount])
        let newKept = groups.prefix { $0.allSatisfy { $0 < keptCount } }.count
        let kept = Array(mshape.prefix(newKept)), red = Array(mshape.dropFirst(newKept))
        let table = ArgumentTable(first: [(k.output, 0)], operands: k.operands)
        var fn = KernelFunctionText(name: placeholder, bufferCount: 0)
        let b = fn.body
        var em = ExprEmitter(b: b, index: [], pointer: table.pointer)
        let outStrides = Shape(kept).strides
        let dtype = e.dtype
        let ty = ExprEmitter.reg(dtype)

        // A short contiguous innermost sum (the 49 or 196 pixels of one channel of a batch-
        // norm reduction): LLVM's cost model leaves it scalar, or fully unrolls it and
        // vectorises the strided loop around it with element-by-element inserts (~1 G
        // elements/s). Ask for 8 lanes × 2 accumulators and no unrolling instead (4× faster
        // on a 49-pixel channel). Only where every load walks that axis with unit stride
        // (or broadcasts it), so no gathers are forced.
        let innermost = red.count - 1 + kept.count
        let contiguous = !red.isEmpty && IndexSpace.views(e).allSatisfy { v in
            (v.strides[innermost] == 1 || v.strides[innermost] == 0) && (v.mask.map { $0[innermost] == 0..<v.shape[innermost] } ?? true)
        }
        let extent = red.last ?? 0
        let shortSumHints: [String] = !argmax && reduceKind == .sum && dtype.isFloat && contiguous && extent >= 8 && extent <= 1024
            ? [LLVMText.noUnrolling, "!{!\"llvm.loop.vectorize.width\", i32 8}",
               "!{!\"llvm.loop.interleave.count\", i32 \(extent >= 16 ? 2 : 1)}"]
            : []

        func body(_ keptIndex: [Value]) {
            var outIndex = Value.i64(0)
            for (a, i) in keptIndex.enumerated() {
                let t = outStrides[a] == 1 ? i : b.value("mul nsw i64 \(i), \(outStrides[a])")
                outIndex = outIndex.constant == 0 ? t : b.value("add nsw i64 \(outIndex), \(t)")
            }
            if red.isEmpty {
                em = ExprEmitter(b: b, index: keptIndex, pointer: table.pointer).carrying(em.declarations)
                let v = em.emit(e)
                store(&em, b, v, outIndex, KernelFunctionText.pointer(0))
                return
            }
            // Reduction: nested loops over the reduced axes carrying the accumulator(s).
            let initial: [(type: String, initial: Value)] = argmax
                ? [(ty, .literal(LLVMType.literal(-.infinity, dtype))), ("i32", .i64(0))]
                : [(ty, .literal(LLVMType.literal(reduceKind == .sum ? 0 : -.infinity, dtype)))]
            var declarations = em.declarations
            func reduceLoops(_ depth: Int, _ index: [Value], _ acc: [Value]) -> [Value] {
                if depth == red.count {
                    var inner = ExprEmitter(b: b, index: index, pointer: table.pointer).carrying(declarations)
                    let v = inner.emit(e)
                    declarations = inner.declarations
                    if argmax {
                        // First maximum wins: replace only on a strictly greater value.
                        let better = b.value("fcmp ogt \(ty) \(v), \(acc[0])")
                        let pos = b.value("trunc i64 \(index[index.count - 1]) to i32")
                        return [b.value("select i1 \(better), \(ty) \(v), \(ty) \(acc[0])"),
                                b.value("select i1 \(better), i32 \(pos), i32 \(acc[1])")]
                    }
                    if reduceKind == .sum {
                        // reassoc lets LLVM vectorise the sum (the order differs from the interpreter's
                        // by rounding only).
                        let op = dtype.isFloat ? "fadd reassoc" : "add"
                        return [b.value("\(op) \(ty) \(acc[0]), \(v)")]
                    }
                    if dtype.isFloat {
                        // NaN propagates, as in the interpreter.
                        let gt = b.value("fcmp ogt \(ty) \(v), \(acc[0])")
                        let nan = b.value("fcmp uno \(ty) \(v), \(v)")
                        let take = b.value("or i1 \(gt), \(nan)")
                        return [b.value("select i1 \(take), \(ty) \(v), \(ty) \(acc[0])")]
                    }
                    let gt = b.value("icmp sgt \(ty) \(v), \(acc[0])")
                    return [b.value("select i1 \(gt), \(ty) \(v), \(ty) \(acc[0])")]
                }
                let hints = depth == red.count - 1 ? shortSumHints : []
                return b.loop(from: .i64(0), to: .i64(red[depth]), carried: zip(initial, acc).map { ($0.type, $1) }, hint: "r",
                              properties: hints) { i, c in
                    reduceLoops(depth + 1, index + [i], c)
                }
            }
            let result = reduceLoops(0, keptIndex, initial.map(\.initial))
            em = ExprEmitter(b: b, index: keptIndex, pointer: table.pointer).carrying(declarations)
            store(&em, b, argmax ? result[1] : result[0], outIndex, KernelFunctionText.pointer(0))
        }

        // A small window reduced per output (a 2×2 max-pool and its backward: 4 values per
        // output, rows 28 floats apart): LLVM unrolls the window and the short output row, then
        // vectorises the loop over rows with one gather per window element, which defeats the
        // hardware prefetcher (0.5 G elements/s on cold data, against 8 for an elementwise pass
        // over the same bytes). Keep the loop over rows scalar: the unrolled row body reads its
        // inputs in address order, so the prefetcher streams them.
        let window = red.reduce(1, *)
        let rowHints: [String] = !red.isEmpty && window <= 16 && kept.count >= 2
            ? ["!{!\"llvm.loop.vectorize.enable\", i1 false}"]
            : []
        // The kept axes, the first over the chunk's range, as `visit(keptIndex)`.
        func keptLoops(_ depth: Int, _ index: [Value], hints: [String] = [], _ visit: ([Value]) -> Void) {
            if depth == kept.count { visit(index); return }
            let from = depth == 0 ? KernelFunctionText.begin : .i64(0)
            let to = depth == 0 ? KernelFunctionText.end : .i64(kept[depth])
            b.forEach(from: from, to: to, hint: "i", properties: depth == 0 ? hints : []) { i in
                keptLoops(depth + 1, index + [i], visit)
            }
        }
        // A sum whose outer reduced axes lie outside the kept ones in memory (a batch-norm
        // statistic over [n, c, h·w]: kept c, reduced n and h·w): per kept index the loop nest
        // would read n runs of h·w values a whole image apart, each run starting with a cache
        // miss the prefetcher cannot foresee. Loop over the outer reduced axes first instead
        // and add each kept index's inner sum into the output, so that the chunk streams
        // through memory in address order (measured on Conv-4's [75, 64, 196] statistics
        // inside the MAML step: 7.5–11 GB/s before).
        let views = IndexSpace.views(e)
        let streams = !argmax && reduceKind == .sum && dtype == .f32 && p.buffers[k.output].dtype == .f32
            && !kept.isEmpty && red.count >= 2
            && views.contains { v in v.strides[kept.count] > v.strides[0] && v.strides[0] > 0 }
        if streams {
            let f = ExprEmitter.reg(dtype)
            func outPointer(_ keptIndex: [Value]) -> Value {
                var outIndex = Value.i64(0)
                for (a, i) in keptIndex.enumerated() { outIndex = b.add(outIndex, b.mul(i, outStrides[a])) }
                return b.gep(KernelFunctionText.pointer(0), outIndex)
            }
            keptLoops(0, []) { index in b.emit("store \(f) 0.0, ptr \(outPointer(index)), align 4") }
            var declarations = em.declarations
            func outerNest(_ depth: Int, _ reducedIndex: [Value]) {
                if depth == red.count - 1 {
                    keptLoops(0, []) { keptIndex in
                        let sum = b.loop(from: .i64(0), to: .i64(extent), carried: [(f, .literal("0.0"))], hint: "r",
                                         properties: shortSumHints) { i, acc in
                            var inner = ExprEmitter(b: b, index: keptIndex + reducedIndex + [i], pointer: table.pointer)
                                .carrying(declarations)
                            let v = inner.emit(e)
                            declarations = inner.declarations
                            return [b.value("fadd reassoc \(f) \(acc[0]), \(v)")]
                        }[0]
                        let target = outPointer(keptIndex)
                        let old = b.value("load \(f), ptr \(target), align 4")
                        b.emit("store \(f) \(b.value("fadd \(f) \(old), \(sum)")), ptr \(target), align 4")
                    }
                    return
                }
                // Not unrolled: a few images' worth (5 in a MAML support set) would be copied
                // whole, inner vector loops and all, for no speed.
                b.forEach(from: .i64(0), to: .i64(red[depth]), hint: "ro", properties: [LLVMText.noUnrolling]) { i in
                    outerNest(depth + 1, reducedIndex + [i])
                }
            }
            outerNest(0, [])
            em = ExprEmitter(b: b, index: [], pointer: table.pointer).carrying(declarations)
        } else if kept.isEmpty {
            // A scalar result: the range is [0, 1).
            b.forEach(from: KernelFunctionText.begin, to: KernelFunctionText.end, hint: "i") { _ in body([]) }
        } else {
            keptLoops(0, [], hints: rowHints, body)
        }
        b.emit("ret void")
        fn.bufferCount = table.arguments.count
        let work = max(shape.reduce(1, *), 1) * max(e.cost, 1)
        return LoweredKernel(text: fn.text, declarations: em.declarations, arguments: table.arguments,
                             outerExtent: kept.first ?? 1, work: work)
    }

    static func dense(_ k: Kernel, _ p: KernelProgram, tuned: Bool, unit: VectorUnit) -> LoweredKernel {
        let offsets = k.operandOffsets.count == 2 ? k.operandOffsets : [0, 0]
        let table = ArgumentTable(first: [(k.output, 0), (k.operands[0], offsets[0]), (k.operands[1], offsets[1])],
                                  operands: k.operands)
        var declarations = Set<String>()
        func epilogue(_ e: Expr?) -> Epilogue? {
            guard let e else { return nil }
            // Loads of the epilogue's operands: their arguments follow the dense kernel's three
            // pointers; the dense emitter passes pointers %arg3… in that order.
            return Epilogue(extraBuffers: 0) { b, acc, index, _ in
                var em = ExprEmitter(b: b, index: index, pointer: table.pointer).carrying(declarations)
                em.accumulator = acc
                let v = em.emit(e)
                declarations = em.declarations
                return v
            }
        }
        let kernel: DenseKernel
        switch k.body {
        case .matmul(let spec, let e):
            kernel = tuned ? DenseKernels.matmul(spec, name: placeholder, epilogue: epilogue(e), unit: unit)
                : NaiveDense.matmul(spec, name: placeholder, epilogue: epilogue(e))
        case .convolution(let kind, let spec, let e):
            kernel = tuned ? DenseKernels.convolution(kind, spec, name: placeholder, epilogue: epilogue(e), unit: unit)
                : NaiveDense.convolution(kind, spec, name: placeholder, epilogue: epilogue(e))
        case .elementwise, .reduce, .argmax, .rowIndexed:
            preconditionFailure("dense() called on a loop kernel")
        }
        var fn = kernel.function
        fn.bufferCount = table.arguments.count
        declarations.formUnion(fn.declarations)
        return LoweredKernel(text: fn.text, declarations: declarations, arguments: table.arguments,
                             outerExtent: kernel.outerExtent, work: kernel.flops)
    }
}

extension ExprEmitter {
    /// The same emitter with `declarations` already recorded.
    func carrying(_ declarations: Set<String>) -> ExprEmitter {
        var e = self
        e.declarations.formUnion(declarations)
        return e
    }
}
