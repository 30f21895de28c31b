import Foundation

/// What both trainers (``Trainer`` and ``DataParallelTrainer``) do once an iteration's update
/// is applied: the metrics record, validation and the checkpoint on their schedules, and the
/// progress line.
struct IterationRecorder {
    let options: TrainerOptions
    let bar: ProgressLine
    let start: Date
    let startIteration: Int

    init(options: TrainerOptions, bar: ProgressLine, startIteration: Int) {
        self.options = options
        self.bar = bar
        self.start = Date()
        self.startIteration = startIteration
    }

    /// Records iteration `iteration` (the count of iterations done, ≥ 1): appends its metrics
    /// (`extra` adds fields), and when the schedule says so brings the store up to date with
    /// `sync`, evaluates with `evaluate` and writes a checkpoint with `checkpoint`.
    /// - Returns: whether a checkpoint was written.
    func record(iteration: Int, loss: Double, accuracy: Double?, lr: Double, extra: [String: Double] = [:],
                metrics: MetricsLog?, sync: () throws -> Void, evaluate: (() throws -> EvalResult)?,
                checkpoint: () throws -> Void) throws -> Bool {
        let elapsed = Date().timeIntervalSince(start)
        let rate = Double((iteration - startIteration) * options.tasksPerBatch) / max(elapsed, 1e-9)
        var record: [String: Double] = ["iteration": Double(iteration), "loss": loss, "lr": lr,
                                        "episodes_per_s": rate, "elapsed_s": elapsed]
        record.merge(extra) { own, _ in own }
        if let accuracy { record["accuracy"] = accuracy }
        let evaluating = evaluate != nil && options.evaluateEvery > 0
            && (iteration % options.evaluateEvery == 0 || iteration == options.iterations)
        let checkpointing = iteration % options.checkpointEvery == 0 || iteration == options.iterations
        if evaluating || checkpointing { try sync() }
        if evaluating, let evaluate {
            let r = try evaluate()
            record["val_accuracy"] = r.accuracy
            record["val_ci95"] = r.ci95
            bar.note(String(format: "iteration %d: validation %@", iteration, r.description))
        }
        try metrics?.append(record)
        if checkpointing { try checkpoint() }
        bar.update(iteration: iteration, loss: loss, accuracy: accuracy, episodesPerSecond: rate,
                   remaining: Double(options.iterations - iteration) * elapsed / Double(iteration - startIteration))
        return checkpointing
    }
}
