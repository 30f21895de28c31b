import Autodiff
import GraphDSL
import MetaIR

/// The training step split in two for data-parallel meta-training: a gradient step that
/// computes one process's share of the meta-gradient, and an update step that applies the
/// outer optimiser to the summed gradient.
///
/// With `P` processes, process `r` runs `gradientStep(c, tasks: n_r)` on its `n_r` tasks of the
/// meta-batch; every partial (gradients, `loss`, `accuracy`) is scaled by `1 / c.metaBatch`, so
/// the sum over processes equals what the fused `trainStep(c)` computes as a mean over the
/// whole meta-batch. `updateStep(c)` then takes the summed `grad.<param>` inputs and rewrites
/// the parameters and optimiser state exactly as the fused step does.
extension StepBuilder {
    /// The parameters that have a meta-gradient, in the order of the flat gradient buffer
    /// (Reptile's meta-gradient covers the model only).
    public static func gradientParameterNames(_ c: StepConfig) -> [String] {
        c.algorithm == .reptile ? model(c).parameterSpecs.map(\.name) : learnedSpecs(c).map(\.name)
    }

    /// The gradient half: the forward pass over `tasks` tasks (the process's share of the
    /// `c.metaBatch`-task meta-batch), their meta-gradient summed and divided by `c.metaBatch`
    /// (`grad.<param>` outputs), and `loss` / `accuracy` summed over the share and divided by
    /// `c.metaBatch`. Its parameters are the learned ones only (no optimiser state).
    public static func gradientStep(_ c: StepConfig, tasks: Int) throws -> StepGraph {
        try c.validate()
        try LearnedRules.validate(c)
        guard c.algorithm.usesInnerLoop || c.algorithm == .protonet else {
            throw StepConfigError(field: "algorithm", message: "distributed training splits the meta-batch of the MAML family "
                + "and ProtoNet; \(c.algorithm.rawValue) trains one episode or batch per step, so run it without --distributed")
        }
        guard tasks >= 1, tasks <= c.metaBatch else {
            throw StepConfigError(field: "metaBatch", message: "a share of the meta-batch must hold 1 to \(c.metaBatch) tasks, got \(tasks)")
        }
        var local = c
        local.metaBatch = tasks
        let learned = learnedSpecs(c)
        let b = GraphBuilder(name: "grad-\(c.algorithm.rawValue)")
        let p = try Parameters(declaring: learned, in: b)
        let io = try Inputs(b, local)
        let metaGradient = PerTaskGradients(p, scale: 1.0 / Double(c.metaBatch))
        let (loss, acc, taskAcc) = try forward(local, params: p, io: io, training: true,
                                               perTask: c.algorithm == .reptile ? nil : metaGradient.add)
        var grads = metaGradient.sums
        // `forward` returns means over the share; the partials are sums over the share / B.
        let share = Double(tasks) / Double(c.metaBatch)
        b.output(StepSignature.lossName, try loss * share)
        b.output(StepSignature.accuracyName, try acc * share)
        b.output(StepSignature.taskAccuracyName, taskAcc)
        if c.algorithm == .reptile {
            // θ − mean φ over the share, weighted by the share: Σₜ (θ − φₜ) / B.
            let phi = try reptileTargets(local, params: p, io: io)
            for n in p.names {
                guard let target = phi[n] else { continue }
                grads[n] = try (p.tensor(n) - target) * share
            }
        }
        for n in gradientParameterNames(c) {
            guard let g = grads[n] else {
                throw StepConfigError(field: "algorithm", message: "the meta-gradient has no entry for parameter \(n)")
            }
            b.output(StepSignature.gradientName(for: n), g)
        }
        return try StepGraph(graph: try b.finish(), parameters: learned, kind: .gradient)
    }

    /// The update half: the outer optimiser's step from `grad.<param>` inputs and `lr`, with
    /// the learned parameters and the optimiser state as parameters (`update.<param>` outputs).
    public static func updateStep(_ c: StepConfig) throws -> StepGraph {
        try c.validate()
        let learned = learnedSpecs(c)
        let state = c.optimizer.stateSpecs(for: learned)
        let b = GraphBuilder(name: "update-\(c.algorithm.rawValue)")
        let p = try Parameters(declaring: learned, in: b)
        let s = try Parameters(declaring: state, in: b)
        let types = Dictionary(learned.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
        var grads: [String: Tensor] = [:]
        for n in gradientParameterNames(c) {
            guard let t = types[n] else { throw StepConfigError(field: "algorithm", message: "no parameter \(n) to update") }
            grads[n] = try b.input(StepSignature.gradientName(for: n), t.shape, dtype: t.dtype)
        }
        let lr = try b.input(StepSignature.learningRateName, .scalar)
        try c.optimizer.update(params: p, grads: grads, state: s, learningRate: lr, builder: b)
        return try StepGraph(graph: try b.finish(), parameters: learned + state, kind: .update)
    }
}
