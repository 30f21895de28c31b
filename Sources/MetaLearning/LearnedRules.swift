import Autodiff
import GraphDSL
import MetaIR

/// Meta-learned inner-loop update rules, as graph code: MAML++'s per-layer per-step rates
/// (`LSLR`), the ALFA-style learned learning-rate network (`LRAIN`) and Ravi & Larochelle's
/// LSTM meta-optimiser (`MetaLSTM`).
///
/// Every rule adapts all of the model's parameters ("layers" are its parameter tensors, in
/// `Model.parameterSpecs` order) and keeps its own parameters under a prefix (`mamlpp.`,
/// `lrain.`, `metalstm.`) beside the model's, so checkpoints carry them and resume restores
/// them. Per-step parameters carry the step in their name (`mamlpp.lr.0`): a checkpoint
/// trained with K inner steps evaluates with at most K (more fails to load with a clear
/// "missing tensor" error instead of inventing rates for steps that were never trained).
public enum LearnedRules {
    /// One inner update (`MAML.InnerUpdate`); every parameter is adapted.
    public typealias Update = MAML.InnerUpdate

    /// The rule's parameter specs for a model whose parameters are `model` (no specs for
    /// algorithms without a learned rule).
    public static func specs(_ c: StepConfig, model: [ParameterSpec]) -> [ParameterSpec] {
        switch c.algorithm {
        case .mamlpp: return LSLR.specs(layers: model.count, steps: c.innerSteps, learningRate: c.innerLR)
        case .lrain: return LRAIN.specs(layers: model.count, steps: c.innerSteps, learningRate: c.innerLR)
        case .metalstm: return MetaLSTM.specs(learningRate: c.innerLR)
        case .maml, .fomaml, .reptile, .metasgd, .anil, .protonet, .relationnet, .matchingnet, .baseline, .baselinepp:
            return []
        }
    }

    /// Throws a `StepConfigError` for a configuration a rule cannot start from: the
    /// meta-LSTM's input gate starts at σ(b) = α, so it needs 0 < α < 1.
    public static func validate(_ c: StepConfig) throws {
        guard c.algorithm == .metalstm else { return }
        guard c.innerLR > 0, c.innerLR < 1 else {
            throw StepConfigError(field: "innerLR", message: "must lie strictly between 0 and 1 for metalstm (its input gate σ(b_I) starts at the inner learning rate), got \(c.innerLR)")
        }
    }

    /// Adapts `params` to one task's support set with the configuration's rule, `c.innerSteps` times.
    /// `firstOrder` stops gradients through the inner gradients (evaluation needs no second order).
    public static func adapt(_ c: StepConfig, model: any Model, params: Parameters, rule: Parameters,
                             supportX: Tensor, supportY: Tensor, loss: TaskLoss, firstOrder: Bool) throws -> Parameters {
        let update: Update
        switch c.algorithm {
        case .mamlpp: update = { step, cur, names, grads, _ in try LSLR.update(step: step, current: cur, names: names, grads: grads, rule: rule) }
        case .lrain: update = { step, cur, names, grads, _ in try LRAIN.update(step: step, current: cur, names: names, grads: grads, rule: rule) }
        case .metalstm:
            var state: MetaLSTM.State? = nil
            update = { _, cur, names, grads, l in
                let (next, s) = try MetaLSTM.update(current: cur, names: names, grads: grads, loss: l, rule: rule,
                                                    state: state, stopInputGradients: true)
                state = s
                return next
            }
        case .maml, .fomaml, .reptile, .metasgd, .anil, .protonet, .relationnet, .matchingnet, .baseline, .baselinepp:
            throw StepConfigError(field: "algorithm", message: "\(c.algorithm.rawValue) has no learned inner rule")
        }
        return try unroll(model: model, params: params, supportX: supportX, supportY: supportY, loss: loss,
                          steps: c.innerSteps, firstOrder: firstOrder, update: update)
    }

    /// `MAML.unroll` over every parameter: the inner loop with the rule's `update`.
    public static func unroll(model: any Model, params: Parameters, supportX: Tensor, supportY: Tensor, loss: TaskLoss,
                              steps: Int, firstOrder: Bool, update: Update) throws -> Parameters {
        try MAML.unroll(model: model, params: params, adapting: params.names, supportX: supportX, supportY: supportY,
                        loss: loss, steps: steps, firstOrder: firstOrder, update: update)
    }

    /// Element `i` of a rank-1 tensor, as a scalar.
    static func element(_ v: Tensor, _ i: Int) throws -> Tensor {
        try v.slice(start: [i], end: [i + 1]).reshaped(.scalar)
    }
}

/// MAML++'s learned per-layer, per-step learning rates (Antoniou et al. 2019, "LSLR"):
/// θₗ ← θₗ − αₖ,ₗ ∇ₗ at inner step k, with αₖ (`mamlpp.lr.k`, one entry per layer) meta-learned.
public enum LSLR {
    /// `mamlpp.lr.<k>` `[layers]` for each step, all starting at `learningRate`.
    public static func specs(layers: Int, steps: Int, learningRate: Double) -> [ParameterSpec] {
        (0..<steps).map { ParameterSpec(name: "mamlpp.lr.\($0)", type: TensorType(.f32, [layers]), initializer: .constant(learningRate)) }
    }

    /// One LSLR step.
    public static func update(step: Int, current: Parameters, names: [String], grads: [Tensor], rule: Parameters) throws -> Parameters {
        let rates = try rule.tensor("mamlpp.lr.\(step)")
        var next = current
        for (l, (name, g)) in zip(names, grads).enumerated() {
            next[name] = try current.tensor(name) - LearnedRules.element(rates, l) * g
        }
        return next
    }
}

/// LRAIN, the learned learning-rate network, in the form of ALFA (Baik et al. 2020, and its
/// public code): at inner step k the task state τ = [mean θₗ for each layer l, mean ∇ₗ for
/// each layer] (`2L` values, so it depends on the task's x, y and the current θ) goes through
/// an MLP g (`2L → 2L`, ReLU, `2L → 2L`) whose output splits into a generated rate aₗ and
/// decay bₗ per layer; with meta-learned per-step, per-layer multipliers α̂ₖ,ₗ and β̂ₖ,ₗ,
///
///     αₖ,ₗ = aₗ · α̂ₖ,ₗ,   βₖ,ₗ = 1 − bₗ · β̂ₖ,ₗ,   θₗ ← βₖ,ₗ θₗ − αₖ,ₗ ∇ₗ.
///
/// As in ALFA's code, the gradient means in τ are treated as constants (stopGradient) while
/// the weight means stay differentiable; the update's ∇ is the exact inner gradient, so the
/// meta-gradient is second order. α̂ starts at the inner rate and β̂ at rate × 5·10⁻⁴ (ALFA's
/// initial weight decay). Unlike ALFA (PyTorch's default random init of g) g's output layer
/// starts at zero weights and unit bias, so a = b = 1 for every task at initialisation and
/// LRAIN starts as MAML with a tiny weight decay; meta-training then moves g.
public enum LRAIN {
    /// ALFA's initial inner weight decay, multiplied by the inner rate for β̂.
    public static let initialWeightDecay = 5e-4

    /// `lrain.w1` `[2L, 2L]`, `lrain.b1`, `lrain.w2` (zeros), `lrain.b2` (ones), then
    /// `lrain.alpha.<k>` and `lrain.beta.<k>` `[L]` for each step.
    public static func specs(layers: Int, steps: Int, learningRate: Double) -> [ParameterSpec] {
        let d = 2 * layers
        var specs: [ParameterSpec] = [.weight("lrain.w1", [d, d]), .bias("lrain.b1", [d]),
                                      ParameterSpec(name: "lrain.w2", type: TensorType(.f32, [d, d]), initializer: .zeros),
                                      ParameterSpec(name: "lrain.b2", type: TensorType(.f32, [d]), initializer: .ones)]
        for k in 0..<steps {
            specs.append(ParameterSpec(name: "lrain.alpha.\(k)", type: TensorType(.f32, [layers]), initializer: .constant(learningRate)))
            specs.append(ParameterSpec(name: "lrain.beta.\(k)", type: TensorType(.f32, [layers]),
                                       initializer: .constant(learningRate * initialWeightDecay)))
        }
        return specs
    }

    /// The task state τ `[1, 2L]`: layer-wise weight means, then gradient means (constants
    /// unless `constantGradientStatistics` is false, which only gradient checks want).
    public static func taskState(current: Parameters, names: [String], grads: [Tensor],
                                 constantGradientStatistics: Bool = true) throws -> Tensor {
        var parts: [Tensor] = []
        for n in names { parts.append(try current.tensor(n).mean().reshaped([1, 1])) }
        for g in grads {
            let m = try g.mean().reshaped([1, 1])
            parts.append(constantGradientStatistics ? try m.stopGradient() : m)
        }
        return try concat(parts, axis: 1)
    }

    /// Per-layer learning rates α and decay factors β `[L]` for step `step`.
    public static func rates(step: Int, current: Parameters, names: [String], grads: [Tensor], rule: Parameters,
                             constantGradientStatistics: Bool = true) throws -> (alpha: Tensor, beta: Tensor) {
        let layers = names.count
        let tau = try taskState(current: current, names: names, grads: grads, constantGradientStatistics: constantGradientStatistics)
        let h = try relu(linear(tau, rule.tensor("lrain.w1"), rule.tensor("lrain.b1")))
        let out = try linear(h, rule.tensor("lrain.w2"), rule.tensor("lrain.b2")).reshaped([2 * layers])
        let a = try out.slice(start: [0], end: [layers]), b = try out.slice(start: [layers], end: [2 * layers])
        let alpha = try a * rule.tensor("lrain.alpha.\(step)")
        let beta = try 1.0 - b * rule.tensor("lrain.beta.\(step)")
        return (alpha, beta)
    }

    /// One LRAIN step: θₗ ← βₗ θₗ − αₗ ∇ₗ.
    public static func update(step: Int, current: Parameters, names: [String], grads: [Tensor], rule: Parameters,
                              constantGradientStatistics: Bool = true) throws -> Parameters {
        let (alpha, beta) = try rates(step: step, current: current, names: names, grads: grads, rule: rule,
                                      constantGradientStatistics: constantGradientStatistics)
        var next = current
        for (l, (name, g)) in zip(names, grads).enumerated() {
            next[name] = try LearnedRules.element(beta, l) * current.tensor(name) - LearnedRules.element(alpha, l) * g
        }
        return next
    }
}
