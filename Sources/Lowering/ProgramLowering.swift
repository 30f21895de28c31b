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
            return (text, fs.sorted())
        }
    }

    /// Lowers `p`.
    public static func lower(_ p: KernelProgram, name: String = "step", tunedDense: Bool = true) -> LoweredProgram {
        var functions: [String: Int] = [:]
        var bodies: [String] = []
        var declarations = Set<String>()
        var calls: [KernelCall] = []
        for (ki, k) in p.kernels.enumerated() {
            let lowered = KernelLowering.lower(k, in: p, tunedDense: tunedDense)
            declarations.formUnion(lowered.declarations)
            let index: Int
            if let known = functions[lowered.text] {
                index = known
            } else {
                index = bodies.count
                functions[lowered.text] = index
                bodies.append(lowered.text)
            }
            calls.append(KernelCall(function: index, arguments: lowered.arguments, outerExtent: lowered.outerExtent,
                                    work: lowered.work, kernel: ki))
        }
        let symbol = sanitize(name)
        let names = bodies.indices.map { "\(symbol)_k\($0)" }
        let texts = bodies.enumerated().map { i, body in body.replacingAll(KernelLowering.placeholder, with: names[i]) }
        var module = "; MetaJIT module \(name): \(p.kernels.count) kernels, \(bodies.count) distinct functions\n"
        module += "source_filename = \"\(symbol)\"\n\n"
        for d in declarations.sorted() { module += d + "\n" }
        module += "\n"
        for t in texts { module += t + "\n" }
        return LoweredProgram(module: module, functionNames: names, calls: calls, functionTexts: texts,
                              declarations: declarations.sorted())
    }

    static func sanitize(_ s: String) -> String {
        let ok = s.map { $0.isLetter || $0.isNumber ? $0 : "_" }
        return String(ok.isEmpty ? ["k"] : ok)
    }
}
