import ArgumentParser
import MetaIR

/// Range checks for numeric flags, as ArgumentParser `ValidationError`s: a plain message
/// and a non-zero exit, before any work starts.
enum FlagCheck {
    /// Throws unless `value` (when given) is at least `minimum`.
    static func atLeast(_ minimum: Int, _ value: Int?, _ flag: String) throws {
        guard let value, value < minimum else { return }
        throw ValidationError("\(flag) must be at least \(minimum), got \(value)")
    }

    /// Throws unless `value` (when given) is at most `maximum`.
    static func atMost(_ maximum: Int, _ value: Int?, _ flag: String) throws {
        guard let value, value > maximum else { return }
        throw ValidationError("\(flag) must be at most \(maximum), got \(value)")
    }

    /// Throws unless `value` (when given) is finite and above zero, or at least zero with
    /// `allowZero`.
    static func finiteRate(_ value: Double?, _ flag: String, allowZero: Bool = false) throws {
        guard let value else { return }
        guard value.isFinite, allowZero ? value >= 0 : value > 0 else {
            throw ValidationError("\(flag) must be a finite number \(allowZero ? "of at least 0" : "above 0"), got \(value)")
        }
    }
}

/// `--memory-limit`, shared by the commands that compile or interpret a graph.
struct MemoryLimitOptions: ParsableArguments {
    @Option(name: .customLong("memory-limit"),
            help: "Most memory a graph may use, in bytes or with K/M/G (default: $METAJIT_MEMORY_LIMIT, else half of physical memory).")
    var memoryLimit: String?

    func validate() throws {
        if let memoryLimit, MemoryLimit.parseBytes(memoryLimit) == nil {
            throw ValidationError("--memory-limit: '\(memoryLimit)' is not a byte count (expected e.g. 8000000000, 512M or 12G)")
        }
    }

    /// The limit in effect: the flag, else the environment, else half of physical memory.
    func resolve() throws -> MemoryLimit { try MemoryLimit.resolve(flag: memoryLimit) }
}
