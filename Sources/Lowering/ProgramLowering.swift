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
        var module = "; MetaJIT module \(name): \(p.kernels.count) kernels, \(bodies.count) distinct functions\n"
        module += "source_filename = \"\(symbol)\"\n\n"
        for d in declarations.sorted() { module += d + "\n" }
        module += "\n"
        for (i, body) in bodies.enumerated() {
            module += body.replacingAll(KernelLowering.placeholder, with: names[i]) + "\n"
        }
        return LoweredProgram(module: module, functionNames: names, calls: calls)
    }

    static func sanitize(_ s: String) -> String {
        let ok = s.map { $0.isLetter || $0.isNumber ? $0 : "_" }
        return String(ok.isEmpty ? ["k"] : ok)
    }
}
