import MetaIR

/// How a compiled training step uses its threads.
public enum ParallelMode: String, Sendable, Codable, CaseIterable {
    /// One program; each kernel large enough is split between the threads.
    case kernels
    /// Task-level parallelism: the meta-batch split into one share per thread, each share's
    /// gradient step run whole on its own core, then one update step (`TaskParallelProgram`
    /// in Runtime). Steps without a split form (one task per step) fall back to `kernels`.
    case tasks
}

/// The meta-batch cut into contiguous shares for task-parallel training.
public enum TaskShares {
    /// Task counts of `threads` contiguous shares of `metaBatch` tasks (sizes differ by at
    /// most one, larger first): 32 over 2 → [16, 16], 5 over 2 → [3, 2].
    public static func sizes(metaBatch: Int, threads: Int) -> [Int] {
        let n = max(1, min(threads, metaBatch))
        return (0..<n).map { metaBatch / n + ($0 < metaBatch % n ? 1 : 0) }
    }

    /// The gradient graph of each share (one graph per distinct size) and the update graph,
    /// or `nil` when splitting does not apply: fewer than two threads or tasks, or an
    /// algorithm whose step is not a meta-batch of tasks (metric learners with one episode,
    /// the baselines).
    public static func graphs(_ c: StepConfig, threads: Int) throws -> (shares: [(graph: Graph, tasks: Int)], update: Graph)? {
        guard threads >= 2, c.metaBatch >= 2, c.algorithm.usesInnerLoop || c.algorithm == .protonet else { return nil }
        var built: [Int: Graph] = [:]
        var shares: [(graph: Graph, tasks: Int)] = []
        for n in sizes(metaBatch: c.metaBatch, threads: threads) {
            let g = try built[n] ?? StepBuilder.gradientStep(c, tasks: n).graph
            built[n] = g
            shares.append((g, n))
        }
        return (shares, try StepBuilder.updateStep(c).graph)
    }
}
