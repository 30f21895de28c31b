import ArgumentParser
import Foundation
import Interpreter
import MetaIR
import Runtime

/// `metajit run`: evaluate a graph on seeded random inputs and summarise the outputs.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a graph on random inputs drawn from a seed and print its outputs.")

    @OptionGroup var source: GraphOptions

    @Option(help: "Execution back end: jit (LLVM, default) or interp (reference interpreter).")
    var backend: BackendKind = .jit

    @Option(name: .customLong("opt-level"), help: "Optimisation level for the jit back end: 0 or 3 (also -O0/-O3).")
    var optLevel: OptLevel = .O3

    @Option(help: "Threads for the jit back end.")
    var threads: Int = 2

    @Option(help: "Calls to time after the first (jit: the first call is reported separately).")
    var repeats: Int = 0

    @Flag(help: "Print compile-phase timings.")
    var verbose = false

    @Option(help: "jit: print the N kernels that take the most time in one call.")
    var profile: Int = 0

    @Option(help: "Seed for the random inputs and parameters.")
    var seed: UInt64 = 0

    @OptionGroup var limit: MemoryLimitOptions

    func validate() throws {
        try FlagCheck.atLeast(1, threads, "--threads")
        try FlagCheck.atLeast(0, repeats, "--repeats")
        try FlagCheck.atLeast(0, profile, "--profile")
    }

    func run() throws {
        let g = try source.load().graph
        let memoryLimit = try limit.resolve()
        // Compiled (and so checked against the limit) before the random feeds are drawn:
        // a graph too large to run is refused before anything of its size is allocated.
        let compileStart = Date()
        let program = try ProgramFactory.make(g, backend: backend, optLevel: optLevel, threads: threads, verbose: verbose,
                                              memoryLimit: memoryLimit)
        let compiled = Date().timeIntervalSince(compileStart)
        let feeds = try RandomFeeds.make(for: g, seed: seed, limit: memoryLimit)
        let start = Date()
        let outputs = try program.run(feeds)
        var elapsed = Date().timeIntervalSince(start)
        if repeats > 0 {
            let t = Date()
            for _ in 0..<repeats { _ = try program.run(feeds) }
            elapsed = Date().timeIntervalSince(t) / Double(repeats)
        }
        if profile > 0, let compiled = program as? CompiledProgram {
            let entries = compiled.profile()
            let total = entries.reduce(0) { $0 + $1.seconds }
            log(String(format: "profile: %.4f s in %d kernel calls", total, compiled.lowered.calls.count))
            for e in entries.prefix(profile) {
                let gflops = Double(e.work) / max(e.seconds, 1e-12) / 1e9
                log(String(format: "%6.2f%% %8.4f s %5d calls %7.2f G/s  ", 100 * e.seconds / max(total, 1e-12), e.seconds, e.calls, gflops)
                    + String(e.example.prefix(220)))
            }
        }
        print("graph \(g.name): \(g.nodes.count) nodes, backend \(backend.rawValue), seed \(seed)")
        for o in g.outputs {
            guard let v = outputs[o.name] else { continue }
            print("  \(o.name): \(Summary.describe(v))")
        }
        FileHandle.standardError.write(Data(String(format: "prepare %.3f s, time %.6f s per call\n", compiled, elapsed).utf8))
    }
}

/// One-line summaries of output tensors.
enum Summary {
    static func describe(_ v: HostTensor) -> String {
        if v.shape.count == 1 { return "\(v.type) = \(format(v.data[0]))" }
        let finite = v.data.filter(\.isFinite)
        let mean = finite.reduce(0, +) / Double(max(finite.count, 1))
        let lo = finite.min() ?? .nan, hi = finite.max() ?? .nan
        var s = "\(v.type) mean=\(format(mean)) min=\(format(lo)) max=\(format(hi))"
        if finite.count != v.data.count { s += " non-finite=\(v.data.count - finite.count)" }
        return s
    }

    static func format(_ x: Double) -> String { String(format: "%.6g", x) }
}
