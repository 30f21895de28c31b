import Autodiff
import Foundation
import GraphDSL
import Interpreter
import MetaIR
import MetaLearning
import Testing

/// A 3 → 2 classifier, logits 3·tanh(xw + b): the smallest learner the learned rules can
/// adapt. (Plain linear logits would make every layer-wise mean gradient exactly 0, since
/// softmax − one-hot sums to 0 over the classes, and leave LRAIN's τ blind to ∇.)
private struct TinyLinear: Model {
    var parameterSpecs: [ParameterSpec] { [.weight("w", [3, 2]), .bias("b", [2])] }
    func callAsFunction(_ x: Tensor, _ p: Parameters) throws -> Tensor { try tanh(linear(x, p.tensor("w"), p.tensor("b"))) * 3 }
}

/// The learned inner-loop rules (`LSLR`, `LRAIN`, `MetaLSTM`) against hand computations, at
/// initialisation, and against finite differences to second order.
@Suite("Learned inner-loop rules")
struct LearnedRuleTests {
    /// Runs a graph whose inputs are `feeds` (Float64 interpreter) and returns its outputs.
    static func run(_ b: GraphBuilder, _ feeds: [String: HostTensor]) throws -> [String: HostTensor] {
        try Interpreter(precision: .float64).run(try b.finish(), feeds: feeds)
    }

    static func close(_ got: HostTensor?, _ expected: [Double], _ tolerance: Double = 1e-6,
                      sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let data = got?.data ?? []
        #expect(data.count == expected.count, sourceLocation: sourceLocation)
        for (g, e) in zip(data, expected) {
            #expect(abs(g - e) <= tolerance, "got \(data), expected \(expected)", sourceLocation: sourceLocation)
        }
    }

    /// Two "layers" θa = [1, 3], θb = [−2] with gradients ga = [0.2, 0.4], gb = [−1], as inputs.
    static func twoLayers(_ b: GraphBuilder) throws -> (Parameters, [Tensor], [String: HostTensor]) {
        var p = Parameters()
        p["a"] = try b.input("a", [2])
        p["b"] = try b.input("b", [1])
        let grads = [try b.input("ga", [2]), try b.input("gb", [1])]
        let feeds = ["a": HostTensor(shape: [2], [1, 3]), "b": HostTensor(shape: [1], [-2]),
                     "ga": HostTensor(shape: [2], [0.2, 0.4]), "gb": HostTensor(shape: [1], [-1])]
        return (p, grads, feeds)
    }

    @Test("LSLR: θ − α(k, layer)·∇ with step k's own rates")
    func lslrByHand() throws {
        let b = GraphBuilder(name: "lslr")
        var (p, grads, feeds) = try Self.twoLayers(b)
        var rule = Parameters()
        rule["mamlpp.lr.0"] = try b.input("lr0", [2])
        rule["mamlpp.lr.1"] = try b.input("lr1", [2])
        feeds["lr0"] = HostTensor(shape: [2], [9, 9])
        feeds["lr1"] = HostTensor(shape: [2], [0.5, 0.25])
        p = try LSLR.update(step: 1, current: p, names: ["a", "b"], grads: grads, rule: rule)
        b.output("a", try p.tensor("a"))
        b.output("b", try p.tensor("b"))
        let out = try Self.run(b, feeds)
        // a: [1 − 0.5·0.2, 3 − 0.5·0.4]; b: −2 − 0.25·(−1).
        Self.close(out["a"], [0.9, 2.8])
        Self.close(out["b"], [-1.75])
    }

    @Test("LRAIN: τ = [mean θ, mean ∇] → MLP → θ ← (1 − b·β̂)θ − a·α̂·∇")
    func lrainByHand() throws {
        let b = GraphBuilder(name: "lrain")
        var (p, grads, feeds) = try Self.twoLayers(b)
        var rule = Parameters()
        for (n, shape) in [("lrain.w1", Shape([4, 4])), ("lrain.b1", [4]), ("lrain.w2", [4, 4]), ("lrain.b2", [4]),
                           ("lrain.alpha.0", [2]), ("lrain.beta.0", [2])] {
            rule[n] = try b.input(n, shape)
        }
        var identity = [Double](repeating: 0, count: 16)
        for i in 0..<4 { identity[i * 5] = 1 }
        feeds["lrain.w1"] = HostTensor(shape: [4, 4], identity)
        feeds["lrain.b1"] = HostTensor(shape: [4], [0, 0, 0, 0])
        feeds["lrain.w2"] = HostTensor(shape: [4, 4], [Double](repeating: 0.1, count: 16))
        feeds["lrain.b2"] = HostTensor(shape: [4], [1, 2, 3, 4])
        feeds["lrain.alpha.0"] = HostTensor(shape: [2], [0.1, 0.2])
        feeds["lrain.beta.0"] = HostTensor(shape: [2], [0.01, 0.02])
        let (alpha, beta) = try LRAIN.rates(step: 0, current: p, names: ["a", "b"], grads: grads, rule: rule)
        b.output("alpha", alpha)
        b.output("beta", beta)
        p = try LRAIN.update(step: 0, current: p, names: ["a", "b"], grads: grads, rule: rule)
        b.output("a", try p.tensor("a"))
        b.output("b", try p.tensor("b"))
        let out = try Self.run(b, feeds)
        // τ = [2, −2, 0.3, −1]; relu(τ) = [2, 0, 0.3, 0]; out = 0.1·2.3 + b2 = [1.23, 2.23, 3.23, 4.23].
        // α = [1.23·0.1, 2.23·0.2] = [0.123, 0.446]; β = [1 − 3.23·0.01, 1 − 4.23·0.02] = [0.9677, 0.9154].
        Self.close(out["alpha"], [0.123, 0.446])
        Self.close(out["beta"], [0.9677, 0.9154])
        // a = 0.9677·[1, 3] − 0.123·[0.2, 0.4]; b = 0.9154·(−2) − 0.446·(−1).
        Self.close(out["a"], [0.9431, 2.8539])
        Self.close(out["b"], [-1.3848])
    }

    @Test("meta-LSTM preprocessing (p = 10): (log|x|/p, sgn x) or (−1, eᵖx); finite gradient at 0")
    func preprocessing() throws {
        let b = GraphBuilder(name: "pre")
        let x = try b.input("x", [5, 1])
        let y = try MetaLSTM.preprocess(x)
        b.output("y", y)
        b.output("g", try #require(Autodiff.grad(of: y.sum(), wrt: [x]).first))
        let out = try Self.run(b, ["x": HostTensor(shape: [5, 1], [1, -0.001, 1e-6, 0, -1e-4])])
        let e10 = exp(10.0)
        Self.close(out["y"], [0, 1, log(0.001) / 10, -1, -1, 1e-6 * e10, -1, 0, log(1e-4) / 10, -1])
        // Below e⁻ᵖ only the linear branch has a slope (eᵖ); above it d(log|x|/p)/dx = 1/(p·x).
        Self.close(out["g"], [0.1, 1 / (10 * -0.001), e10, e10, 1 / (10 * -1e-4)], 1e-6)
    }

    /// Rule inputs with the values `specs` initialises them to (random ones drawn normal·0.3).
    static func ruleInputs(_ specs: [ParameterSpec], _ b: GraphBuilder, _ feeds: inout [String: HostTensor],
                           seed: UInt64 = 5) throws -> Parameters {
        var rng = SeededRandom(seed: seed)
        var rule = Parameters()
        for s in specs {
            rule[s.name] = try b.input(s.name, s.type.shape)
            let n = s.type.shape.count
            let values: [Double]
            switch s.initializer {
            case .zeros: values = Array(repeating: 0, count: n)
            case .ones: values = Array(repeating: 1, count: n)
            case .constant(let v): values = Array(repeating: v, count: n)
            case .glorotUniform, .normal, .uniform: values = (0..<n).map { _ in rng.normal() * 0.3 }
            }
            feeds[s.name] = HostTensor(shape: s.type.shape, values)
        }
        return rule
    }

    @Test("meta-LSTM at initialisation: θ₁ = σ(5)·θ₀ − α∇, within (1 − σ(5))·|θ₀| + 1e-9 of an SGD step")
    func metaLSTMStartsAsSGD() throws {
        let alpha = 0.1
        let b = GraphBuilder(name: "sgd")
        var (p, grads, feeds) = try Self.twoLayers(b)
        let rule = try Self.ruleInputs(MetaLSTM.specs(learningRate: alpha), b, &feeds)
        let loss = try b.input("loss", .scalar)
        feeds["loss"] = HostTensor(shape: .scalar, [0.7])
        var state: MetaLSTM.State? = nil
        for step in 0..<2 {
            (p, state) = try MetaLSTM.update(current: p, names: ["a", "b"], grads: grads, loss: loss, rule: rule,
                                             state: state, stopInputGradients: true)
            b.output("a\(step)", try p.tensor("a"))
            b.output("b\(step)", try p.tensor("b"))
        }
        let out = try Self.run(b, feeds)
        let f = 1 / (1 + exp(-MetaLSTM.forgetBias))
        let theta0 = [1.0, 3, -2], grad = [0.2, 0.4, -1]
        let first = zip(theta0, grad).map { f * $0 - alpha * $1 }
        let got = (out["a0"]?.data ?? []) + (out["b0"]?.data ?? [])
        #expect(got.count == 3)
        for (k, (g, e)) in zip(got, first).enumerated() {
            #expect(abs(g - e) <= 1e-9, "coordinate \(k): \(g) vs \(e)")
            let sgd = theta0[k] - alpha * grad[k]
            #expect(abs(g - sgd) <= (1 - f) * abs(theta0[k]) + 1e-9, "coordinate \(k): \(g) vs SGD \(sgd)")
        }
        // The gates' zero weights keep the second step SGD-like too, whatever the LSTM state.
        let second = zip(first, grad).map { f * $0 - alpha * $1 }
        Self.close(HostTensor(shape: [3], (out["a1"]?.data ?? []) + (out["b1"]?.data ?? [])), second, 1e-9)
    }

    // Finite-difference checks of a whole learned-rule inner loop (two steps, second order in
    // the inner loop) on TinyLinear: f = query logits after adaptation, as a function of the
    // initial weights, the rule's parameters and the data. gradCheck's second order then
    // differentiates the second-order meta-gradient once more.

    static let data = [Operand(shape: [4, 3]), Operand(shape: [4], domain: .labels(2)), Operand(shape: [4, 3])]

    static func adapted(_ xs: [Tensor], rule: Parameters, update: @escaping LearnedRules.Update) throws -> Tensor {
        var p = Parameters()
        p["w"] = xs[0]
        p["b"] = xs[1]
        let n = xs.count
        let (sx, sy, qx) = (xs[n - 3], xs[n - 2], xs[n - 1])
        let model = TinyLinear()
        let a = try LearnedRules.unroll(model: model, params: p, supportX: sx, supportY: sy,
                                        loss: { try crossEntropy(logits: $0, labels: $1) }, steps: 2, firstOrder: false, update: update)
        return try model(qx, a)
    }

    @Test("LSLR inner loop: first and second order match finite differences")
    func lslrGradients() throws {
        let rates = [Operand(shape: [2], domain: .positive), Operand(shape: [2], domain: .positive)]
        try gradCheck([Operand(shape: [3, 2]), Operand(shape: [2])] + rates + Self.data, tolerance: 1e-5) { xs in
            var rule = Parameters()
            rule["mamlpp.lr.0"] = xs[2]
            rule["mamlpp.lr.1"] = xs[3]
            return try Self.adapted(xs, rule: rule) { step, cur, names, grads, _ in
                try LSLR.update(step: step, current: cur, names: names, grads: grads, rule: rule)
            }
        }
    }

    @Test("LRAIN inner loop: first and second order match finite differences")
    func lrainGradients() throws {
        let specs = LRAIN.specs(layers: 2, steps: 2, learningRate: 0.3)
        try gradCheck([Operand(shape: [3, 2]), Operand(shape: [2])] + specs.map { Operand(shape: $0.type.shape) } + Self.data,
                      tolerance: 1e-5) { xs in
            var rule = Parameters()
            for (k, s) in specs.enumerated() { rule[s.name] = xs[2 + k] }
            return try Self.adapted(xs, rule: rule) { step, cur, names, grads, _ in
                try LRAIN.update(step: step, current: cur, names: names, grads: grads, rule: rule, constantGradientStatistics: false)
            }
        }
    }

    @Test("meta-LSTM inner loop (exact, ∇ not stopped): first and second order match finite differences")
    func metaLSTMGradients() throws {
        let specs = MetaLSTM.specs(learningRate: 0.3)
        try gradCheck([Operand(shape: [3, 2]), Operand(shape: [2])] + specs.map { Operand(shape: $0.type.shape) } + Self.data,
                      tolerance: 1e-5) { xs in
            var rule = Parameters()
            for (k, s) in specs.enumerated() { rule[s.name] = try xs[2 + k] * 0.3 }
            var state: MetaLSTM.State? = nil
            return try Self.adapted(xs, rule: rule) { _, cur, names, grads, loss in
                let (next, s) = try MetaLSTM.update(current: cur, names: names, grads: grads, loss: loss, rule: rule,
                                                    state: state, stopInputGradients: false)
                state = s
                return next
            }
        }
    }

    @Test("the step builder refuses a meta-LSTM inner rate outside (0, 1) with a clear error")
    func metaLSTMRateMustBeAProbability() throws {
        let c = StepConfig(algorithm: .metalstm, ways: 2, shots: 1, queries: 1, metaBatch: 1, innerSteps: 1,
                           innerLR: 1.5, imageSize: 8, width: 2, strided: true)
        #expect(throws: StepConfigError.self) { try StepBuilder.trainStep(c) }
        #expect(throws: StepConfigError.self) { try StepBuilder.evalStep(c) }
    }

    @Test("learned-rule steps declare the rule's parameters beside the model's", arguments: [Algorithm.mamlpp, .lrain, .metalstm])
    func ruleParametersAreLearned(_ a: Algorithm) throws {
        let c = StepConfig(algorithm: a, ways: 2, shots: 1, queries: 1, metaBatch: 1, innerSteps: 2,
                           innerLR: 0.4, imageSize: 8, width: 2, strided: true)
        let step = try StepBuilder.trainStep(c)
        let prefix = a == .mamlpp ? "mamlpp." : a == .lrain ? "lrain." : "metalstm."
        let rule = step.parameters.map(\.name).filter { $0.hasPrefix(prefix) }
        #expect(!rule.isEmpty)
        // Every rule parameter gets an outer update, so it is meta-learned and checkpointed.
        for n in rule { #expect(step.signature.updates.contains { $0.parameter == n }, "\(n)") }
        if a != .metalstm { #expect(rule.contains { $0.hasSuffix(".1") } && !rule.contains { $0.hasSuffix(".2") }) }
    }
}
