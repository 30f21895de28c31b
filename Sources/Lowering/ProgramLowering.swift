import MetaIR
import Passes

/// One call of the compiled schedule.
public struct KernelCall: Sendable {
    /// Index into `LoweredProgram.functionNames`.
    public var function: Int
    /// Pointer arguments: buffer and element offset.
    public var arguments: [(buffer: Int, offset: Int)]
    /// Range the runtime may split between threads.
    public var outerExtent: Int
    /// Work estimate (decides whether splitting pays).
    public var work: Int
    /// Index of the fused kernel in the program (for profiles).
    public var kernel: Int
}

/// A whole kernel program as one LLVM module plus the schedule that calls into it.
///
/// Kernels whose code is identical (the same ops on the same shapes, reading at different
/// offsets, as every task of an unrolled meta-batch does) share one function, so the module
/// grows with the number of distinct kernels, not with the meta-batch.
public struct LoweredProgram: Sendable {
    /// The module text.
    public var module: String
    /// Exported kernel symbols, indexed by `KernelCall.function`.
    public var functionNames: [String]
    /// The schedule, in execution order.
    public var calls: [KernelCall]
    /// Each function's definition text (final names), for splitting into several modules.
    public var functionTexts: [String]
    /// `declare` lines every module needs.
    public var declarations: [String]

    /// The functions split into `parts` modules of similar size (LLVM compiles each module on
    /// one thread, so two modules compile in about half the time on two cores). Returns each
    /// module's text and the indices of the functions it defines.
    public func modules(parts: Int) -> [(text: String, functions: [Int])] {
        let n = max(1, min(parts, functionTexts.count))
        var buckets = [[Int]](repeating: [], count: n), sizes = [Int](repeating: 0, count: n)
        // Largest first into the lightest bucket.
        for i in functionTexts.indices.sorted(by: { functionTexts[$0].utf8.count > functionTexts[$1].utf8.count }) {
            let b = sizes.indices.min { sizes[$0] < sizes[$1] } ?? 0
            buckets[b].append(i)
            sizes[b] += functionTexts[i].utf8.count
        }
        return buckets.enumerated().map { k, fs in
            var text = "; MetaJIT module part \(k + 1)/\(n)\nsource_filename = \"part\(k)\"\n\n"
            text += declarations.joined(separator: "\n") + "\n\n"
            for f in fs.sorted() { text += functionTexts[f] + "\n" }
            if k == 0 { text += Self.floatControl }
            return (text, fs.sorted())
        }
    }

    /// Lowers `p`, sizing the dense kernels' register tiles to `unit` (the host's, from
    /// `Runtime`; AVX-512's where a caller names none).
    public static func lower(_ p: KernelProgram, name: String = "step", tunedDense: Bool = true,
                             unit: VectorUnit = .avx512) -> LoweredProgram {
        var functions: [String: Int] = [:]
        var bodies: [String] = []
        var declarations = Set<String>()
        var calls: [KernelCall] = []
        // Kernels that differ only in where they read (every task of an unrolled meta-batch)
        // have the same code key: emit once, then only re-bind arguments.
        var byKey: [CodeKey: (function: Int, recipe: [Int], outerExtent: Int, work: Int)] = [:]
        for (ki, k) in p.kernels.enumerated() {
            let (key, pairs) = CodeKey.make(k, p)
            if let hit = byKey[key] {
                calls.append(KernelCall(function: hit.function, arguments: hit.recipe.map { pairs[$0] },
                                        outerExtent: hit.outerExtent, work: hit.work, kernel: ki))
                continue
            }
            let lowered = KernelLowering.lower(k, in: p, tunedDense: tunedDense, unit: unit)
            declarations.formUnion(lowered.declarations)
            let index: Int
            if let known = functions[lowered.text] {
                index = known
            } else {
                index = bodies.count
                functions[lowered.text] = index
                bodies.append(lowered.text)
            }
            let recipe = lowered.arguments.map { a in pairs.firstIndex { $0.buffer == a.buffer && $0.offset == a.offset } }
            if recipe.allSatisfy({ $0 != nil }) {
                byKey[key] = (index, recipe.compactMap { $0 }, lowered.outerExtent, lowered.work)
            }
            calls.append(KernelCall(function: index, arguments: lowered.arguments, outerExtent: lowered.outerExtent,
                                    work: lowered.work, kernel: ki))
        }
        let symbol = sanitize(name)
        let names = bodies.indices.map { "\(symbol)_k\($0)" }
        // Loop metadata ids: `@@LOOP<k>@@` is local to a function's text; number them module-wide.
        let texts = LLVMText.numberingLoops(bodies.enumerated().map { i, body in
            body.replacingAll(KernelLowering.placeholder, with: names[i])
        })
        var module = "; MetaJIT module \(name): \(p.kernels.count) kernels, \(bodies.count) distinct functions\n"
        module += "source_filename = \"\(symbol)\"\n\n"
        for d in declarations.sorted() { module += d + "\n" }
        module += "\n"
        for t in texts { module += t + "\n" }
        return LoweredProgram(module: module, functionNames: names, calls: calls, functionTexts: texts,
                              declarations: declarations.sorted())
    }

    /// Name of the function that swaps the thread's floating-point control word (part 0 of
    /// `modules(parts:)` defines it on x86-64).
    public static let floatControlSymbol = "metajit_swap_mxcsr"

    /// `metajit_swap_mxcsr` in the kernel ABI (`buffers[0]` points at a 32-bit word): sets
    /// MXCSR to that word and stores the previous value there. The runtime sets flush-to-zero and denormals-are-zero while kernels run: a
    /// denormal operand costs an x86 core about a hundred cycles, and meta-gradients of
    /// trained networks produce them.
    static var floatControl: String {
        #if arch(x86_64)
        return """
            declare void @llvm.x86.sse.stmxcsr(ptr)
            declare void @llvm.x86.sse.ldmxcsr(ptr)
            define void @\(floatControlSymbol)(ptr %buffers, i64 %begin, i64 %end) nounwind {
            entry:
              %io = load ptr, ptr %buffers, align 8
              %old = alloca i32, align 4
              call void @llvm.x86.sse.stmxcsr(ptr %old)
              call void @llvm.x86.sse.ldmxcsr(ptr %io)
              %v = load i32, ptr %old, align 4
              store i32 %v, ptr %io, align 4
              ret void
            }

            """
        #else
        return ""
        #endif
    }

    static func sanitize(_ s: String) -> String {
        let ok = s.map { $0.isLetter || $0.isNumber ? $0 : "_" }
        return String(ok.isEmpty ? ["k"] : ok)
    }
}

/// A kernel with every buffer it touches renamed to a canonical argument id and every
/// unmasked view offset removed: equal keys mean equal code.
struct CodeKey: Hashable {
    var body: KernelBody
    var dtypes: [DType]

    /// The key and the (buffer, element offset) behind each canonical id.
    static func make(_ k: Kernel, _ p: KernelProgram) -> (CodeKey, [(buffer: Int, offset: Int)]) {
        var pairs: [(buffer: Int, offset: Int)] = [(k.output, 0)]
        func id(_ b: Int, _ off: Int) -> Int {
            if let i = pairs.firstIndex(where: { $0.buffer == b && $0.offset == off }) { return i }
            pairs.append((b, off))
            return pairs.count - 1
        }
        func norm(_ e: Expr) -> Expr {
            e.mapLeaves { leaf in
                guard case .load(let o, var v, let d) = leaf else { return leaf }
                let b = k.operands[o]
                if v.mask == nil {
                    let i = id(b, v.offset)
                    v.offset = 0
                    return .load(operand: i, view: v, dtype: d)
                }
                return .load(operand: id(b, 0), view: v, dtype: d)
            } ?? e
        }
        let body: KernelBody
        switch k.body {
        case .elementwise(let e, let s): body = .elementwise(norm(e), shape: s)
        case .reduce(let r, let e, let s, let a): body = .reduce(r, norm(e), inputShape: s, axes: a)
        case .argmax(let e, let s, let a): body = .argmax(norm(e), inputShape: s, axis: a)
        case .matmul, .convolution, .rowIndexed:
            let offs = k.operandOffsets.count == 2 ? k.operandOffsets : [0, 0]
            _ = id(k.operands[0], offs[0])
            _ = id(k.operands[1], offs[1])
            body = k.body.withEpilogue(k.body.epilogue.map(norm))
        }
        return (CodeKey(body: body, dtypes: pairs.map { p.buffers[$0.buffer].dtype }), pairs)
    }
}
