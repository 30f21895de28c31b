import Interpreter
import JIT
import MetaIR
import MetaLearning
import Runtime
import Testing

/// The MANN and SNAIL training and evaluation steps, compiled at -O0 and -O3, agree with the
/// interpreter on every output: loss, accuracies, per-step correctness and the updated
/// parameters (the whole BPTT gradient behind them).
@Suite struct SequenceLearnerJITTests {
    /// Small but complete configurations (string labels, several heads; all SNAIL blocks).
    /// The steps update by SGD here: Adam's first step is `lr·sign(g)` wherever `|g| ≫ ε`,
    /// which turns rounding-level differences in gradients that are exactly zero in theory
    /// (Conv-4's biases before batch norm) into full-size differences in the update.
    static let configs: [SequenceStepConfig] = {
        var mann = SequenceStepConfig(learner: .mann, ways: 3, samplesPerClass: 3, batchSize: 2, stringLabels: true, imageSize: 5)
        (mann.controllerSize, mann.memorySlots, mann.memoryWidth, mann.readHeads) = (16, 8, 6, 2)
        var snail = SequenceStepConfig(learner: .snail, ways: 3, samplesPerClass: 1, batchSize: 2, imageSize: 16)
        (snail.convWidth, snail.embeddingSize, snail.tcFilters) = (4, 8, 4)
        (snail.attentionKeys, snail.attentionValues) = ([4, 8, 8], [4, 4, 8])
        mann.optimizer = .sgd
        snail.optimizer = .sgd
        return [mann, snail]
    }()

    static func feeds(_ c: SequenceStepConfig, _ graph: Graph, seed: UInt64) throws -> [String: HostTensor] {
        var rng = SeededRandom(seed: seed)
        let (n, t, s) = (c.batchSize, c.length, c.imageSize)
        var labels = [Double](repeating: 0, count: n * t * c.labelWidth), targets = [Double](repeating: 0, count: n * t * c.labelGroups)
        for row in 0..<(n * t) {
            for g in 0..<c.labelGroups {
                targets[row * c.labelGroups + g] = Double(rng.int(below: c.labelAlphabet))
                labels[row * c.labelWidth + g * c.labelAlphabet + rng.int(below: c.labelAlphabet)] = 1
            }
        }
        var feeds = ParameterStore(specs: try SequenceSteps.trainStep(c).parameters, seed: seed).values
        feeds[SequenceSteps.imagesName] = HostTensor(TensorType(.f32, [n, t, 1, s, s]), (0..<(n * t * s * s)).map { _ in rng.uniform() })
        feeds[SequenceSteps.labelInputsName] = HostTensor(TensorType(.f32, [n, t, c.labelWidth]), labels)
        feeds[SequenceSteps.targetsName] = HostTensor(TensorType(.i32, [n, t, c.labelGroups]), targets)
        if graph.inputs.contains(where: { $0.name == StepSignature.learningRateName }) {
            feeds[StepSignature.learningRateName] = HostTensor(TensorType(.f32, .scalar), [0.1])
        }
        return feeds
    }

    @Test(arguments: configs)
    func compiledStepsAgreeWithTheInterpreter(_ c: SequenceStepConfig) throws {
        // The training step at both levels; the evaluation step (its forward part) at -O3.
        for (step, levels) in [(try SequenceSteps.trainStep(c), [OptLevel.O0, .O3]), (try SequenceSteps.evalStep(c), [.O3])] {
            let g = step.graph
            let feeds = try Self.feeds(c, g, seed: 5)
            let reference = try Interpreter().run(g, feeds: feeds)
            for level in levels {
                let got = try CompiledProgram(graph: g, options: CompileOptions(optLevel: level, cache: nil)).run(feeds)
                for o in g.outputs {
                    let r = try #require(reference[o.name]), v = try #require(got[o.name])
                    #expect(v.shape == r.shape)
                    let err = maxRelativeError(v, r)
                    #expect(err <= 1e-4, "\(g.name) -O\(level) output \(o.name): error \(err)")
                }
            }
        }
    }
}
