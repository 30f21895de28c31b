/// How hard the compiler works, one setting for every stage.
///
/// `O0` is the reference: no graph passes, one kernel per op, every intermediate in a buffer
/// of its own (no memory reuse), naive dense loop nests and LLVM's `default<O0>`. `O3` runs
/// everything: simplification, fusion, memory reuse by liveness, the tuned dense kernels and
/// LLVM's optimising pipeline for the host CPU (the JIT's `OptLevel.pipeline` says which and
/// why). The two must agree within tolerance; tests pin it.
public enum OptLevel: Int, Sendable, Codable, CaseIterable, Hashable, CustomStringConvertible {
    /// The reference: nothing optimised.
    case O0 = 0
    /// Everything optimised.
    case O3 = 3

    /// The level for a compiler-style number (`-O0` … `-O3`): 0 is the reference, anything
    /// higher optimises fully; `nil` for a negative number or one above 3.
    public init?(number: Int) {
        switch number {
        case 0: self = .O0
        case 1...3: self = .O3
        default: return nil
        }
    }

    /// Whether the graph-level pass pipeline runs.
    public var runsGraphPasses: Bool { self != .O0 }
    /// Whether fusion groups ops into kernels (otherwise one kernel per op).
    public var fuses: Bool { self != .O0 }
    /// Whether the memory planner reuses dead buffers' space.
    public var reusesMemory: Bool { self != .O0 }
    /// Whether dense ops use the register-tiled kernels (otherwise naive loop nests).
    public var tunedDenseKernels: Bool { self != .O0 }

    /// `-O0` / `-O3`.
    public var description: String { "-O\(rawValue)" }
}
