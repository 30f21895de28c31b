import Foundation
import JIT
import MetaIR
import MetaLearning
import Runtime

/// Makes an executable for a back end.
enum ProgramFactory {
    static func make(_ g: Graph, backend: BackendKind, optLevel: OptLevel = .O3, threads: Int = 2, verbose: Bool = false,
                     memoryLimit: MemoryLimit) throws -> Executable {
        switch backend {
        case .interp: return try InterpretedProgram(graph: g, memoryLimit: memoryLimit)
        case .jit:
            let options = CompileOptions(optLevel: optLevel, threads: threads, memoryLimit: memoryLimit)
            let p = try CompiledProgram(graph: g, options: options)
            let line = "compile \(g.name) (\(optLevel)): \(p.report)"
            if verbose { log(line) } else { logger.debug("\(line)") }
            return p
        }
    }

    /// The training step of `c` (`graph` is its fused form): with the JIT and `parallel ==
    /// .tasks`, one share of the meta-batch per thread (``TaskParallelProgram``) where the
    /// step has that form; otherwise the fused graph.
    static func makeTrainStep(_ c: StepConfig, graph g: Graph, backend: BackendKind, threads: Int, parallel: ParallelMode,
                              memoryLimit: MemoryLimit) throws -> Executable {
        if backend == .jit, parallel == .tasks, let split = try TaskShares.graphs(c, threads: threads) {
            let p = try TaskParallelProgram(shares: split.shares, update: split.update,
                                            options: CompileOptions(optLevel: .O3, threads: threads, memoryLimit: memoryLimit))
            logger.debug("compile \(p.graph.name): \(p.shares[0].report)")
            return p
        }
        return try make(g, backend: backend, threads: threads, memoryLimit: memoryLimit)
    }
}
