import MetaIR

/// A graph-to-graph transformation.
public protocol GraphPass: Sendable {
    /// Name used by `--dump-after`.
    var name: String { get }
    /// Transforms the graph; the result must verify.
    func run(_ g: Graph) -> Graph
}

/// The ordered graph-level pipeline. Each pass says why it is where it is.
public struct Pipeline: Sendable {
    /// The passes, in order.
    public var passes: [any GraphPass]

    /// The standard pipeline for an optimisation level (`O0`: no pass).
    public static func standard(optLevel: OptLevel = .O3) -> Pipeline {
        guard optLevel.runsGraphPasses else { return Pipeline(passes: []) }
        // Simplify first: gradient graphs are mostly identities, splat constants and repeats,
        // and every later pass is cheaper on the smaller graph.
        return Pipeline(passes: [Simplify()])
    }

    /// Creates a pipeline.
    public init(passes: [any GraphPass]) { self.passes = passes }

    /// Runs every pass, verifying after each one when `verify` is set; `after` sees each
    /// intermediate graph (for `--dump-after`).
    public func run(_ g: Graph, verify: Bool = true, after: (String, Graph) -> Void = { _, _ in }) throws -> Graph {
        var current = g
        for p in passes {
            current = p.run(current)
            if verify {
                do { try Verifier.verify(current) } catch {
                    throw PassError(pass: p.name, message: "\(error)")
                }
            }
            after(p.name, current)
        }
        return current
    }
}

/// A pass produced an ill-formed graph (a compiler bug, reported rather than crashing).
public struct PassError: Error, CustomStringConvertible {
    /// The pass.
    public var pass: String
    /// The verifier's complaint.
    public var message: String
    /// Human-readable message.
    public var description: String { "after pass \(pass): \(message)" }
}
