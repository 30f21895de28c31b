/// An error raised while turning LLVM IR text into callable machine code.
///
/// Each case carries LLVM's own diagnostic text (for `.parse`, `buffer:line:col: error: …`),
/// so a caller can print it unchanged.
public enum JITError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The native target (x86-64 code generator, assembly printer and parser) could not be set up.
    case targetInitialization(String)
    /// The IR text does not parse; the message names the line and column.
    case parse(String)
    /// The IR parses but the LLVM verifier rejects it (e.g. a use not dominated by its definition).
    case verify(String)
    /// The optimisation pipeline (`default<O0>` / `default<O3>`) failed.
    case optimize(String)
    /// Machine-code generation (object or assembly emission) failed.
    case codegen(String)
    /// Creating the ORC LLJIT, adding code to it, or linking that code failed.
    case jit(String)
    /// A symbol lookup found no definition with this name; the second value is LLVM's message.
    case symbolNotFound(name: String, message: String)
    /// A requested Swift function type cannot hold a raw C function pointer.
    case invalidFunctionType(String)
    /// The on-disk compile cache could not be written (reads never throw: a bad entry is rebuilt).
    case cache(String)

    /// A one-line human-readable account of the error, prefixed by its phase.
    public var description: String {
        switch self {
        case .targetInitialization(let message): "target initialisation failed: \(message)"
        case .parse(let message): "LLVM IR parse error: \(message)"
        case .verify(let message): "LLVM IR verifier error: \(message)"
        case .optimize(let message): "optimisation failed: \(message)"
        case .codegen(let message): "code generation failed: \(message)"
        case .jit(let message): "JIT error: \(message)"
        case .symbolNotFound(let name, let message): "symbol '\(name)' not found: \(message)"
        case .invalidFunctionType(let message): "invalid function type: \(message)"
        case .cache(let message): "compile cache error: \(message)"
        }
    }
}
