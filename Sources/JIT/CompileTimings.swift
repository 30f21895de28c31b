/// What the on-disk compile cache did for one compile.
public enum CacheOutcome: Equatable, Sendable, CustomStringConvertible {
    /// No cache was configured; the module went through LLVM's whole pipeline in memory.
    case disabled
    /// No entry existed; the module was compiled and its object file written to the cache.
    case miss
    /// A valid entry was loaded; parsing, verification, optimisation and codegen were skipped.
    case hit
    /// An entry existed but was rejected (the reason is given) and rebuilt as on a miss; the
    /// rebuilt entry replaces it by an atomic rename.
    case rebuilt(reason: String)
    /// The module was compiled as on a miss, but its entry could not be written (the reason
    /// is given); compilation still succeeded.
    case storeFailed(reason: String)

    /// A short label for logs: `disabled`, `miss`, `hit` or `rebuilt (reason)`.
    public var description: String {
        switch self {
        case .disabled: "disabled"
        case .miss: "miss"
        case .hit: "hit"
        case .rebuilt(let reason): "rebuilt (\(reason))"
        case .storeFailed(let reason): "store failed (\(reason))"
        }
    }
}

/// Wall-clock time spent in each phase of one `LLVMJIT.compile` call, for `--verbose`.
///
/// Phases a compile skipped stay `.zero`: a cache hit shows no parse, verify or optimise time.
public struct CompileTimings: Equatable, Sendable, CustomStringConvertible {
    /// Parsing the IR text into an LLVM module.
    public var parse: Duration = .zero
    /// Running the LLVM verifier.
    public var verify: Duration = .zero
    /// Running the `default<O0>` / `default<O3>` pass pipeline.
    public var optimize: Duration = .zero
    /// Generating machine code: object emission on the cache path, or the JIT's own
    /// compilation (triggered by the first lookup) on the in-memory path.
    public var codegen: Duration = .zero
    /// Creating the LLJIT, adding the code, linking it and looking up the first symbol.
    /// On the in-memory path the JIT's codegen is counted in `codegen`, not here.
    public var link: Duration = .zero
    /// Reading, checking, writing or deleting cache entries.
    public var cacheIO: Duration = .zero
    /// The whole `compile` call.
    public var total: Duration = .zero
    /// What the compile cache did.
    public var cache: CacheOutcome = .disabled

    /// Whether the compiled code came from a valid cache entry.
    public var cacheHit: Bool { cache == .hit }

    /// Creates all-zero timings with the cache disabled.
    public init() {}

    /// One line such as `parse 0.21 ms, verify 0.05 ms, optimize 3.10 ms, … (cache miss)`.
    public var description: String {
        let phases: [(String, Duration)] = [
            ("parse", parse), ("verify", verify), ("optimize", optimize),
            ("codegen", codegen), ("link", link), ("cache I/O", cacheIO), ("total", total),
        ]
        let parts = phases.map { "\($0.0) \(Self.milliseconds($0.1)) ms" }
        return parts.joined(separator: ", ") + " (cache \(cache))"
    }

    /// A duration in milliseconds with two decimals, e.g. `"3.14"`.
    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let hundredths = (Double(seconds) * 1e3 + Double(attoseconds) / 1e15) * 100
        let rounded = Int64(hundredths.rounded())
        let whole = rounded / 100
        let fraction = abs(rounded % 100)
        return "\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

/// Measures `body` with a monotonic clock and adds the time to `slot`.
func measure<T>(_ slot: inout Duration, _ body: () throws -> T) rethrows -> T {
    let clock = ContinuousClock()
    let start = clock.now
    defer { slot += clock.now - start }
    return try body()
}
