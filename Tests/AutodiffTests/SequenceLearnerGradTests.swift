import Autodiff
import GraphDSL
import Interpreter
import MetaIR
import MetaLearning
import Testing

/// Tiny MANN and SNAIL configurations: every part of the full models (string labels, several
/// heads, three attention and two TC blocks), at sizes the Float64 interpreter runs quickly.
enum TinySequence {
    static var mann: SequenceStepConfig {
        var c = SequenceStepConfig(learner: .mann, ways: 2, samplesPerClass: 2, batchSize: 2, stringLabels: true, imageSize: 3)
        (c.controllerSize, c.memorySlots, c.memoryWidth, c.readHeads) = (4, 4, 3, 2)
        return c
    }

    static var mannOneHot: SequenceStepConfig {
        var c = mann
        c.stringLabels = false
        c.ways = 3
        return c
    }

    static var snail: SequenceStepConfig {
        var c = SequenceStepConfig(learner: .snail, ways: 2, samplesPerClass: 1, batchSize: 2, imageSize: 16)
        (c.convWidth, c.embeddingSize, c.tcFilters) = (2, 3, 2)
        (c.attentionKeys, c.attentionValues) = ([2, 3, 2], [2, 1, 2])
        return c
    }

    /// Random episode inputs of `c`: images, a one-hot label input per step, targets in range.
    static func inputs(_ c: SequenceStepConfig, _ rng: inout SeededRandom) -> [String: HostTensor] {
        let (n, t, s) = (c.batchSize, c.length, c.imageSize)
        var labels = [Double](repeating: 0, count: n * t * c.labelWidth)
        var targets = [Double](repeating: 0, count: n * t * c.labelGroups)
        for row in 0..<(n * t) {
            for g in 0..<c.labelGroups {
                let k = rng.int(below: c.labelAlphabet)
                targets[row * c.labelGroups + g] = Double(k)
                labels[row * c.labelWidth + g * c.labelAlphabet + rng.int(below: c.labelAlphabet)] = 1
            }
        }
        return [SequenceSteps.imagesName: rng.tensor(TensorType(.f64, [n, t, 1, s, s])),
                SequenceSteps.labelInputsName: HostTensor(TensorType(.f64, [n, t, c.labelWidth]), labels),
                SequenceSteps.targetsName: HostTensor(TensorType(.i32, [n, t, c.labelGroups]), targets)]
    }
}

/// The sequence learners' loss gradients (BPTT through the whole unroll, every parameter)
/// against central finite differences in Float64.
@Suite struct SequenceLearnerGradTests {
    @Test(arguments: [("mann (strings)", TinySequence.mann), ("mann (one-hot)", TinySequence.mannOneHot), ("snail", TinySequence.snail)])
    func lossGradientMatchesFiniteDifferences(_ name: String, _ c: SequenceStepConfig) throws {
        let specs = SequenceSteps.parameterSpecs(c)
        let b = GraphBuilder(name: "grad-check-\(name)")
        var p = Parameters()
        for s in specs { p[s.name] = try b.input(s.name, s.type.shape) }
        let out = try SequenceSteps.episode(c, params: p, inputs: SequenceInputs(b, c))
        let grads = try Autodiff.grad(of: out.loss, wrt: p.all)
        b.output("loss", out.loss)
        for (s, g) in zip(specs, grads) { b.output("g.\(s.name)", g) }
        let graph = try b.finish()

        var rng = SeededRandom(seed: 3)
        var feeds = TinySequence.inputs(c, &rng)
        var directions: [String: HostTensor] = [:]
        for s in specs {
            let v = rng.tensor(TensorType(.f64, s.type.shape))
            feeds[s.name] = HostTensor(v.type, v.data.map { $0 * 0.5 })
            directions[s.name] = rng.tensor(TensorType(.f64, s.type.shape))
        }
        let interp = Interpreter(precision: .float64)
        let base = try interp.run(graph, feeds: feeds)
        func loss(_ eps: Double) throws -> Double {
            var f = feeds
            for s in specs {
                let (x, d) = (feeds[s.name]!, directions[s.name]!)
                f[s.name] = HostTensor(x.type, zip(x.data, d.data).map { $0 + eps * $1 })
            }
            return try interp.run(graph, feeds: f)["loss"]?.scalar ?? .nan
        }
        let eps = 1e-5
        let numeric = (try loss(eps) - loss(-eps)) / (2 * eps)
        var analytic = 0.0
        for s in specs {
            let g = try #require(base["g.\(s.name)"])
            analytic += zip(g.data, directions[s.name]!.data).reduce(0) { $0 + $1.0 * $1.1 }
        }
        #expect(numeric.isFinite && abs(numeric) > 1e-3, "\(name): the loss should depend on the parameters (\(numeric))")
        #expect(abs(analytic - numeric) <= 1e-6 * max(1, abs(numeric)), "\(name): analytic \(analytic) vs numeric \(numeric)")
        // Every parameter gets a gradient (the whole unroll is differentiated), except the
        // Conv-4 biases, which the batch norm after them cancels exactly.
        for s in specs where !(s.name.hasPrefix("conv") && s.name.hasSuffix(".b")) {
            let g = try #require(base["g.\(s.name)"])
            #expect(g.data.contains { $0 != 0 }, "\(name): no gradient reaches \(s.name)")
        }
    }

    @Test func stepsHaveTheSequenceSignature() throws {
        for c in [TinySequence.mann, TinySequence.snail] {
            let train = try SequenceSteps.trainStep(c), eval = try SequenceSteps.evalStep(c)
            #expect(train.signature.learningRate == StepSignature.learningRateName)
            #expect(Set(train.signature.inputs) == [SequenceSteps.imagesName, SequenceSteps.labelInputsName, SequenceSteps.targetsName, "lr"])
            #expect(train.signature.updates.count == SequenceSteps.parameterSpecs(c).count * 3 + 2, "Adam: the parameter, m and v, and two bias corrections")
            #expect(eval.signature.updates.isEmpty && eval.signature.learningRate == nil)
            let correct = try #require(eval.graph.outputs.first { $0.name == SequenceSteps.correctName })
            #expect(eval.graph.nodes[correct.node].type.shape == [c.batchSize, c.scoredSteps])
        }
    }

    @Test func badConfigurationsThrow() throws {
        var c = TinySequence.snail
        c.stringLabels = true
        #expect(throws: StepConfigError.self) { _ = try SequenceSteps.trainStep(c) }
        c = TinySequence.snail
        c.imageSize = 8
        #expect(throws: StepConfigError.self) { _ = try SequenceSteps.evalStep(c) }
        c = TinySequence.mann
        c.batchSize = 0
        #expect(throws: StepConfigError.self) { _ = try SequenceSteps.trainStep(c) }
        c = TinySequence.mann
        c.usageDecay = 1.5
        #expect(throws: StepConfigError.self) { _ = try SequenceSteps.trainStep(c) }
    }
}
