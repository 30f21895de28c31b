import Autodiff
import GraphDSL
import MetaIR
import MetaLearning

/// Few-shot text classification graphs (issue 14).
public enum TextGraphs {
    /// The parameters of ``protoNetLSTM(ways:shots:queries:length:vocabulary:embedding:hidden:)``, in order.
    public static let protoNetLSTMParameters = ["table", "wx", "wh", "b"]

    /// Prototypical Networks on a masked LSTM sentence encoder, one episode.
    ///
    /// Inputs: the parameters `table` `[V, E]`, `wx` `[E, 4H]`, `wh` `[H, 4H]`, `b` `[4H]`;
    /// `support` `[N·K, T]` (`i32`, class-major, -1 at padding) with `support_mask`, `query`
    /// `[N·Q, T]` with `query_mask`, `query_labels` `[N·Q]`. Outputs `loss` (cross-entropy of
    /// the logits `−‖q − c_k‖²`), `accuracy`, and `grad_<parameter>` for each parameter.
    public static func protoNetLSTM(ways n: Int, shots k: Int, queries q: Int, length t: Int,
                                    vocabulary v: Int, embedding e: Int, hidden h: Int) throws -> Graph {
        let g = GraphBuilder(name: "protonet-lstm")
        let table = try g.input("table", [v, e]), wx = try g.input("wx", [e, 4 * h])
        let wh = try g.input("wh", [h, 4 * h]), b = try g.input("b", [4 * h])
        let st = try g.input("support", [n * k, t], dtype: .i32), sm = try g.input("support_mask", [n * k, t])
        let qt = try g.input("query", [n * q, t], dtype: .i32), qm = try g.input("query_mask", [n * q, t])
        let labels = try g.input("query_labels", [n * q], dtype: .i32)
        let es = try maskedLSTMEncoder(tokens: st, mask: sm, table: table, wx: wx, wh: wh, b: b)
        let eq = try maskedLSTMEncoder(tokens: qt, mask: qm, table: table, wx: wx, wh: wh, b: b)
        let protos = try es.reshaped([n, k, h]).sum(axes: [1]) * (1.0 / Double(k))  // [N, H]
        let logits = try negativeSquaredDistances(eq, protos)                          // [NQ, N]
        let loss = try crossEntropy(logits: logits, labels: labels)
        let params = [table, wx, wh, b]
        let grads = try Autodiff.grad(of: loss, wrt: params)
        g.output("loss", loss)
        g.output("accuracy", try accuracy(logits: logits, labels: labels))
        for (name, gr) in zip(protoNetLSTMParameters, grads) { g.output("grad_\(name)", gr) }
        return try g.finish()
    }
}

/// A few-shot text set-up: the source, the episode and LSTM shapes and the learner.
public struct TextRecipe: Sendable, Codable, Equatable {
    /// `wordnet` (glosses, word tokens) or `langid` (hunspell words, character tokens).
    public var source: String
    /// The step; its `vocabulary` is 0 in a recipe and set from the tokeniser when the
    /// corpus is read (a run records the value).
    public var step: TextStepConfig
    /// Inner steps at evaluation (MAML, Meta-SGD).
    public var evalInnerSteps: Int

    /// Creates a text recipe.
    public init(source: String, step: TextStepConfig, evalInnerSteps: Int) {
        self.source = source
        self.step = step
        self.evalInnerSteps = evalInnerSteps
    }
}

extension Recipes {
    /// Few-shot text classification on the masked LSTM encoder (issue 14), 5-way 5-shot with
    /// 10 queries per class in training and evaluation.
    ///
    /// WordNet glosses: the first 12 words (vocabulary of meta-train words seen twice, at most
    /// 8000), E = 32, H = 32. Language identification: the first 12 characters, E = 16,
    /// H = 32. ProtoNet: one episode per step, Adam 3e-3. MAML and Meta-SGD (inner loop over
    /// the LSTM and the zero-initialised linear head, second order, the embedding outer-only):
    /// meta-batch 4, 2 inner steps at α = 2 in training and evaluation, Adam 1e-3. The head
    /// starts at zero, so the first inner step makes it α/N times each class's sum of support
    /// states (a dot-product prototype classifier) and the second adapts the LSTM too; with a
    /// Glorot head and α = 0.1 the inner step barely moved the logits and MAML stayed at
    /// chance, and 3 evaluation steps at α ≥ 2 diverged (both measured, 150 iterations). No
    /// published hyperparameters exist for these data; these are small defaults sized for a
    /// 2-core machine.
    static let textRecipes: [Recipe] = {
        func recipe(_ name: String, _ learner: TextLearner, source: String, length: Int, embedding: Int,
                    metaBatch: Int, outerLR: Double, summary: String) -> Recipe {
            let inner = learner == .protonet ? 0 : 2
            let algorithm: Algorithm = learner == .protonet ? .protonet : learner == .maml ? .maml : .metasgd
            let step = TextStepConfig(learner: learner, ways: 5, shots: 5, queries: 10, length: length, vocabulary: 0,
                                      embedding: embedding, hidden: 32, metaBatch: metaBatch, innerSteps: inner,
                                      innerLR: learner == .protonet ? 0 : 2)
            return Recipe(name: name, summary: summary,
                          step: StepConfig(algorithm: algorithm, ways: 5, shots: 5, queries: 10, metaBatch: metaBatch,
                                           innerSteps: inner, innerLR: step.innerLR, optimizer: .adam),
                          trainWays: 5, trainQueries: 10, outerLR: outerLR, halveEvery: 0,
                          evalInnerSteps: inner, iterations: 5000,
                          text: TextRecipe(source: source, step: step, evalInnerSteps: inner))
        }
        return [
            recipe("protonet-wordnet-5w5s", .protonet, source: "wordnet", length: 12, embedding: 32, metaBatch: 1, outerLR: 3e-3,
                   summary: "ProtoNet on a masked LSTM over WordNet glosses, 5-way 5-shot by lexicographer file (Adam 3e-3)"),
            recipe("maml-wordnet-5w5s", .maml, source: "wordnet", length: 12, embedding: 32, metaBatch: 4, outerLR: 1e-3,
                   summary: "Second-order MAML through a masked LSTM + linear head, WordNet glosses 5-way 5-shot (1 inner step α=0.1)"),
            recipe("metasgd-wordnet-5w5s", .metasgd, source: "wordnet", length: 12, embedding: 32, metaBatch: 4, outerLR: 1e-3,
                   summary: "Meta-SGD (learned per-weight rates) on a masked LSTM + linear head, WordNet glosses 5-way 5-shot"),
            recipe("protonet-langid-5w5s", .protonet, source: "langid", length: 12, embedding: 16, metaBatch: 1, outerLR: 3e-3,
                   summary: "ProtoNet on a character LSTM, few-shot language identification from hunspell words, 5-way 5-shot"),
        ]
    }()
}
