import MetaIR
import Runtime

/// Makes an executable for a back end.
enum ProgramFactory {
    static func make(_ g: Graph, backend: BackendKind) throws -> Executable {
        switch backend {
        case .interp: return try InterpretedProgram(graph: g)
        case .jit: throw BackendUnavailable()
        }
    }
}

struct BackendUnavailable: Error, CustomStringConvertible {
    var description: String { "the jit back end is not wired into the CLI yet; use --backend interp" }
}
