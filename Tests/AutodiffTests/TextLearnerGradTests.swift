import Interpreter
import MetaIR
import MetaLearning
import Testing

/// The meta-gradients of the LSTM text learners against central finite differences in
/// Float64 on the interpreter. MAML's and Meta-SGD's meta-gradient goes through the inner
/// loop's gradient of the LSTM, so this checks second-order derivatives through it.
@Suite struct TextLearnerGradTests {
    static func config(_ learner: TextLearner) -> TextStepConfig {
        TextStepConfig(learner: learner, ways: 2, shots: 2, queries: 1, length: 3, vocabulary: 5, embedding: 3, hidden: 2,
                       metaBatch: 1, innerSteps: 2, innerLR: 0.5)
    }

    /// Random parameters and one episode: tokens in -1..<V with their mask (a word
    /// is a token >= 0; -1 is padding).
    static func feeds(_ c: TextStepConfig, seed: UInt64) -> [String: HostTensor] {
        var rng = SeededRandom(seed: seed)
        var f: [String: HostTensor] = [:]
        for spec in TextSteps.learnedSpecs(c) {
            let t = rng.tensor(TensorType(.f64, spec.type.shape), scale: 0.7)
            f[spec.name] = spec.name.hasPrefix("lr.") ? HostTensor(t.type, t.data.map { 0.3 + 0.1 * $0 }) : t
        }
        func tokens(_ rows: Int) -> (HostTensor, HostTensor) {
            var ids: [Double] = [], mask: [Double] = []
            for _ in 0..<rows {
                let len = 1 + rng.int(below: c.length)
                for t in 0..<c.length {
                    ids.append(t < len ? Double(rng.int(below: c.vocabulary)) : -1)
                    mask.append(t < len ? 1 : 0)
                }
            }
            let shape = Shape([1, rows, c.length])
            return (HostTensor(TensorType(.i32, shape), ids), HostTensor(TensorType(.f64, shape), mask))
        }
        (f[TextSteps.support], f[TextSteps.supportMask]) = tokens(c.ways * c.shots)
        (f[TextSteps.query], f[TextSteps.queryMask]) = tokens(c.ways * c.queries)
        f[TextSteps.queryLabels] = HostTensor(TensorType(.i32, [1, c.ways * c.queries]), (0..<(c.ways * c.queries)).map { Double($0 / c.queries) })
        return f
    }

    /// ⟨∇L, d⟩ from the graph's meta-gradient (second- or first-order) and from finite differences.
    static func directional(_ c: TextStepConfig, training: Bool) throws -> (analytic: Double, numeric: Double) {
        let graph = try TextSteps.lossGraph(c, training: training)
        let feeds = Self.feeds(c, seed: 3)
        var rng = SeededRandom(seed: 11)
        let specs = TextSteps.learnedSpecs(c)
        let directions = specs.map { rng.tensor(TensorType(.f64, $0.type.shape)) }
        let interp = Interpreter(precision: .float64)
        let base = try interp.run(graph, feeds: feeds)
        func loss(_ eps: Double) throws -> Double {
            var f = feeds
            for (spec, d) in zip(specs, directions) {
                let x = feeds[spec.name]!
                f[spec.name] = HostTensor(x.type, zip(x.data, d.data).map { $0 + eps * $1 })
            }
            return try interp.run(graph, feeds: f)["loss"]!.scalar
        }
        let eps = 1e-5
        let numeric = (try loss(eps) - loss(-eps)) / (2 * eps)
        var analytic = 0.0
        for (spec, d) in zip(specs, directions) {
            analytic += zip(base["grad.\(spec.name)"]!.data, d.data).reduce(0) { $0 + $1.0 * $1.1 }
        }
        return (analytic, numeric)
    }

    @Test(arguments: [TextLearner.protonet, .maml, .metasgd])
    func metaGradientMatchesFiniteDifferences(_ learner: TextLearner) throws {
        let (analytic, numeric) = try Self.directional(Self.config(learner), training: true)
        #expect(abs(analytic - numeric) <= 1e-6 * max(1, abs(numeric)), "\(learner): analytic \(analytic) vs numeric \(numeric)")
    }

    /// The second-order terms are there and matter: the first-order graph's gradient misses them.
    @Test(arguments: [TextLearner.maml, .metasgd])
    func firstOrderGradientDiffers(_ learner: TextLearner) throws {
        let (analytic, numeric) = try Self.directional(Self.config(learner), training: false)
        #expect(abs(analytic - numeric) > 1e-4 * max(1, abs(numeric)), "\(learner): first-order \(analytic) vs numeric \(numeric)")
    }
}
