import Foundation
import JIT
import MetaIR
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
}
