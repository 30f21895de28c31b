import Foundation
import GraphDSL
import MetaIR

/// The LSTM meta-optimiser of Ravi & Larochelle (2017), "Optimization as a model for
/// few-shot learning", as graph code.
///
/// Coordinate-wise: every scalar parameter of the learner is one row of a batch, and all rows
/// share the meta-learner's weights. Two layers, as in the paper:
/// 1. an ordinary LSTM (`hidden` = 20 units) reads the preprocessed gradient and loss of each
///    coordinate, `[p(∇), p(L)]` (4 values; `preprocess`, p = 10);
/// 2. the meta-learner cell, whose cell state is the learner's parameters θ:
///
///        fₜ = σ(W_F·[hₜ, θₜ₋₁, fₜ₋₁] + b_F),   iₜ = σ(W_I·[hₜ, θₜ₋₁, iₜ₋₁] + b_I),
///        θₜ = fₜ ⊙ θₜ₋₁ − iₜ ⊙ ∇ₜ,
///
///    with θ₀ (the cell's initial state) meta-learned: it is the model's parameters.
///
/// Initialised to start as SGD: W_F = W_I = 0, b_F = 5 (fₜ = σ(5) ≈ 0.9933) and b_I = logit(α)
/// (iₜ = α), so the first inner step is θ₁ = σ(5)·θ₀ − α∇, within (1 − σ(5))·|θ₀| of SGD.
///
/// Like the paper, training treats the learner's gradients and losses as inputs
/// (`stopInputGradients`: no second derivatives of the learner's loss); the meta-gradient
/// flows through the gates and the cell-state path θₜ₋₁ → θₜ.
public enum MetaLSTM {
    /// Units of the first (ordinary) LSTM layer, the paper's 20.
    public static let hidden = 20
    /// The preprocessing constant p of Andrychowicz et al. (2016) that Ravi & Larochelle use.
    public static let p = 10.0
    /// Initial forget-gate bias: σ(5) ≈ 0.9933 keeps almost all of θ at each step.
    public static let forgetBias = 5.0

    /// The recurrent state carried across inner steps: the first layer's h and c `[N, H]` and
    /// the previous gates `[N, 1]`.
    public struct State {
        /// First-layer hidden state.
        public var h: Tensor
        /// First-layer cell state.
        public var c: Tensor
        /// Previous forget gate.
        public var f: Tensor
        /// Previous input gate.
        public var i: Tensor
    }

    /// `metalstm.wx` `[4, 4H]`, `metalstm.wh` `[H, 4H]`, `metalstm.b` `[4H]`, `metalstm.wf`,
    /// `metalstm.wi` `[H + 2, 1]` (zeros), `metalstm.bf` (5) and `metalstm.bi` (logit α) `[1]`.
    public static func specs(learningRate: Double) -> [ParameterSpec] {
        let h = hidden
        let logit = log(learningRate / (1 - learningRate))
        return [.weight("metalstm.wx", [4, 4 * h]), .weight("metalstm.wh", [h, 4 * h]), .bias("metalstm.b", [4 * h]),
                ParameterSpec(name: "metalstm.wf", type: TensorType(.f32, [h + 2, 1]), initializer: .zeros),
                ParameterSpec(name: "metalstm.bf", type: TensorType(.f32, [1]), initializer: .constant(forgetBias)),
                ParameterSpec(name: "metalstm.wi", type: TensorType(.f32, [h + 2, 1]), initializer: .zeros),
                ParameterSpec(name: "metalstm.bi", type: TensorType(.f32, [1]), initializer: .constant(logit))]
    }

    /// The paper's preprocessing of `x` `[N, 1]` to `[N, 2]`: (log|x| / p, sgn x) where
    /// |x| ≥ e⁻ᵖ, otherwise (−1, eᵖ x). The logarithm reads max(|x|, e⁻ᵖ), so neither branch
    /// ever sees log 0 (select's unused branch would otherwise put 0·∞ = NaN in a gradient).
    public static func preprocess(_ x: Tensor) throws -> Tensor {
        let tiny = exp(-p)
        let magnitude = try maximum(x, -x)
        let large = try magnitude.compare(.ge, x.scalar(tiny))
        let logPart = try log(maximum(magnitude, x.scalar(tiny))) * (1 / p)
        func full(_ v: Double) throws -> Tensor { try x.scalar(v).broadcast(to: x.shape) }
        let sign = try select(x.compare(.gt, x.scalar(0)), full(1), full(-1))
        let first = try select(large, logPart, full(-1))
        let second = try select(large, sign, x * exp(p))
        return try concat([first, second], axis: 1)
    }

    /// One meta-LSTM step over all of `names` at once; returns the new parameters and state.
    public static func update(current: Parameters, names: [String], grads: [Tensor], loss: Tensor, rule: Parameters,
                              state: State?, stopInputGradients: Bool) throws -> (Parameters, State) {
        let b = loss.builder
        let theta = try concat(names.map { try current.tensor($0).reshaped([current.tensor($0).shape.count, 1]) }, axis: 0)
        var grad = try concat(grads.map { try $0.reshaped([$0.shape.count, 1]) }, axis: 0)
        var l = try loss.reshaped([1, 1])
        if stopInputGradients {
            grad = try grad.stopGradient()
            l = try l.stopGradient()
        }
        let n = theta.shape[0], h = hidden
        let x = try concat([preprocess(grad), preprocess(l).broadcast(to: [n, 2])], axis: 1)       // [N, 4]
        let previous = state ?? State(h: b.constant(0, [n, h]), c: b.constant(0, [n, h]),
                                      f: b.constant(0, [n, 1]), i: b.constant(0, [n, 1]))
        let (h1, c1) = try lstmCell(x: x, h: previous.h, c: previous.c, wx: rule.tensor("metalstm.wx"),
                                    wh: rule.tensor("metalstm.wh"), b: rule.tensor("metalstm.b"))
        let f = try sigmoid(concat([h1, theta, previous.f], axis: 1).matmul(rule.tensor("metalstm.wf")) + rule.tensor("metalstm.bf"))
        let i = try sigmoid(concat([h1, theta, previous.i], axis: 1).matmul(rule.tensor("metalstm.wi")) + rule.tensor("metalstm.bi"))
        let next = try f * theta - i * grad
        var out = current
        var offset = 0
        for name in names {
            let shape = try current.tensor(name).shape
            out[name] = try next.slice(start: [offset, 0], end: [offset + shape.count, 1]).reshaped(shape)
            offset += shape.count
        }
        return (out, State(h: h1, c: c1, f: f, i: i))
    }
}
