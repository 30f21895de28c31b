/// The calling convention of a compiled meta-learning step: which inputs it takes, which
/// outputs it makes, and which output holds each parameter's next value.
///
/// Learners (module MetaLearning) build it together with the step's graph; the runtime's
/// trainer and evaluator and the CLI read names from it instead of spelling them, so a
/// learner with other inputs (sequence episodes, text) says so in one place.
public struct StepSignature: Sendable, Hashable, Codable {
    /// What the step is for.
    public enum Kind: String, Sendable, Hashable, Codable {
        /// Meta-training: takes a learning rate, rewrites parameters.
        case train
        /// Evaluation: adapts and scores, rewrites nothing.
        case eval
        /// The first half of a split training step (distributed training): the meta-gradient
        /// of this process's share of the meta-batch, one `grad.<param>` output per parameter,
        /// rewrites nothing.
        case gradient
        /// The second half of a split training step: the outer optimiser update from
        /// `grad.<param>` inputs and the learning rate; has no loss.
        case update
    }

    /// Training or evaluation.
    public var kind: Kind
    /// Per-call inputs (episode tensors, and the learning rate when training), in order.
    public var inputs: [String]
    /// Outputs, in order (updates included).
    public var outputs: [String]
    /// Each rewritten parameter and the output that holds its next value, by parameter name.
    public var updates: [Update]
    /// The scalar input with the outer learning rate (training steps only).
    public var learningRate: String?
    /// The scalar loss output (a mean over tasks).
    public var loss: String
    /// The scalar accuracy output, when the step classifies.
    public var accuracy: String?
    /// The `[tasks]` per-task accuracy output, when the step classifies.
    public var taskAccuracy: String?
    /// Each parameter's meta-gradient: an output of a `.gradient` step, an input of an
    /// `.update` step (empty for fused steps).
    public var gradients: [Gradient] = []

    /// One parameter's meta-gradient in a split training step.
    public struct Gradient: Sendable, Hashable, Codable {
        /// The parameter.
        public var parameter: String
        /// The output (gradient step) or input (update step) holding its gradient.
        public var name: String

        /// Creates a gradient entry.
        public init(parameter: String, name: String) {
            self.parameter = parameter
            self.name = name
        }
    }

    /// One parameter rewritten by the step.
    public struct Update: Sendable, Hashable, Codable {
        /// The parameter.
        public var parameter: String
        /// The output holding its next value.
        public var output: String

        /// Creates an update.
        public init(parameter: String, output: String) {
            self.parameter = parameter
            self.output = output
        }
    }

    /// Episode inputs: support examples `[tasks, N·K, …]`.
    public static let supportX = "support_x"
    /// Support labels `[tasks, N·K]`.
    public static let supportY = "support_y"
    /// Query examples `[tasks, N·Q, …]`.
    public static let queryX = "query_x"
    /// Query labels `[tasks, N·Q]`.
    public static let queryY = "query_y"
    /// The outer learning rate input.
    public static let learningRateName = "lr"
    /// The mean loss output.
    public static let lossName = "loss"
    /// The mean accuracy output.
    public static let accuracyName = "accuracy"
    /// The per-task accuracy output.
    public static let taskAccuracyName = "task_accuracy"
    /// The four episode inputs, in order.
    public static let episodeInputs = [supportX, supportY, queryX, queryY]

    /// The output that holds parameter `name`'s next value.
    public static func updateOutput(for name: String) -> String { "update.\(name)" }

    /// The output (gradient step) or input (update step) that holds parameter `name`'s
    /// meta-gradient.
    public static func gradientName(for name: String) -> String { "grad.\(name)" }

    /// Creates a signature.
    public init(kind: Kind, inputs: [String], outputs: [String], updates: [Update], learningRate: String?,
                loss: String, accuracy: String?, taskAccuracy: String?) {
        self.kind = kind
        self.inputs = inputs
        self.outputs = outputs
        self.updates = updates
        self.learningRate = learningRate
        self.loss = loss
        self.accuracy = accuracy
        self.taskAccuracy = taskAccuracy
    }

    /// The signature `graph` has under the episodic conventions: inputs are the graph's
    /// inputs, `lr` is the learning rate when present, `update.<p>` outputs rewrite parameter
    /// `p`, and `accuracy` / `task_accuracy` are used when the graph has them.
    public static func episodic(_ kind: Kind, of graph: Graph) -> StepSignature {
        let inputs = graph.inputs.map(\.name), outputs = graph.outputs.map(\.name)
        let parameters = Set(graph.parameters.map(\.name))
        let updates = graph.parameters.map(\.name).compactMap { p -> Update? in
            let o = updateOutput(for: p)
            return outputs.contains(o) && parameters.contains(p) ? Update(parameter: p, output: o) : nil
        }
        var signature = StepSignature(
            kind: kind, inputs: inputs, outputs: outputs, updates: updates,
            learningRate: inputs.contains(learningRateName) ? learningRateName : nil, loss: lossName,
            accuracy: outputs.contains(accuracyName) ? accuracyName : nil,
            taskAccuracy: outputs.contains(taskAccuracyName) ? taskAccuracyName : nil)
        let gradientNames = Set(kind == .update ? inputs : kind == .gradient ? outputs : [])
        signature.gradients = graph.parameters.map(\.name).compactMap { p in
            gradientNames.contains(gradientName(for: p)) ? Gradient(parameter: p, name: gradientName(for: p)) : nil
        }
        return signature
    }

    /// Checks that `graph` has every input, output and parameter the signature names, with
    /// scalar learning rate and loss, and updates of their parameters' types.
    public func validate(against graph: Graph) throws {
        func fail(_ m: String) -> StepSignatureError { StepSignatureError(graph: graph.name, message: m) }
        let inputs = Dictionary(graph.inputs.map { ($0.name, graph.nodes[$0.node].type) }, uniquingKeysWith: { a, _ in a })
        let outputs = Dictionary(graph.outputs.map { ($0.name, graph.nodes[$0.node].type) }, uniquingKeysWith: { a, _ in a })
        let parameters = Dictionary(graph.parameters.map { ($0.name, graph.nodes[$0.node].type) }, uniquingKeysWith: { a, _ in a })
        for i in self.inputs where inputs[i] == nil { throw fail("has no input \"\(i)\"") }
        for o in self.outputs where outputs[o] == nil { throw fail("has no output \"\(o)\"") }
        for name in (kind == .update ? [accuracy] : [loss, accuracy]).compactMap({ $0 }) {
            guard let t = outputs[name] else { throw fail("has no output \"\(name)\"") }
            guard t.shape.count == 1 else { throw fail("output \"\(name)\" is \(t), not a scalar") }
        }
        if let learningRate {
            guard let t = inputs[learningRate] else { throw fail("has no input \"\(learningRate)\"") }
            guard t.shape.count == 1 else { throw fail("input \"\(learningRate)\" is \(t), not a scalar") }
        }
        if let taskAccuracy, outputs[taskAccuracy] == nil { throw fail("has no output \"\(taskAccuracy)\"") }
        for g in gradients {
            guard let p = parameters[g.parameter] else {
                throw fail("has no parameter \"\(g.parameter)\"")
            }
            let t = kind == .update ? inputs[g.name] : outputs[g.name]
            guard let t else { throw fail("has no gradient \"\(g.name)\"") }
            guard t == p else { throw fail("gradient \"\(g.name)\" is \(t) but parameter \"\(g.parameter)\" is \(p)") }
        }
        for u in updates {
            guard let p = parameters[u.parameter] else { throw fail("has no parameter \"\(u.parameter)\"") }
            guard let o = outputs[u.output] else { throw fail("has no output \"\(u.output)\"") }
            guard o == p else { throw fail("output \"\(u.output)\" is \(o) but parameter \"\(u.parameter)\" is \(p)") }
        }
    }
}

/// A step graph does not have what its signature names.
public struct StepSignatureError: Error, CustomStringConvertible, Equatable {
    /// The graph.
    public var graph: String
    /// What is missing or wrong.
    public var message: String

    /// Human-readable message.
    public var description: String { "step graph \"\(graph)\" \(message)" }
}
