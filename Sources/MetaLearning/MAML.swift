import Autodiff
import GraphDSL
import MetaIR

/// A task loss: model outputs and targets to a scalar.
public typealias TaskLoss = (_ prediction: Tensor, _ target: Tensor) throws -> Tensor

/// How the inner loop adapts parameters.
public struct InnerLoop {
    /// SGD steps on the support set.
    public var steps: Int
    /// Inner learning rate α (ignored for parameters that have a learned rate).
    public var learningRate: Double
    /// First-order approximation: the inner gradient is a constant (`stopGradient`), so the
    /// meta-gradient drops the Hessian term (FOMAML).
    public var firstOrder: Bool
    /// Names of the parameters adapted in the inner loop (`nil`: all; ANIL: the head only).
    public var adapted: Set<String>?

    /// Creates an inner-loop description.
    public init(steps: Int, learningRate: Double, firstOrder: Bool = false, adapted: Set<String>? = nil) {
        self.steps = steps
        self.learningRate = learningRate
        self.firstOrder = firstOrder
        self.adapted = adapted
    }
}

/// Model-agnostic meta-learning as graph code: inner SGD steps unrolled in the graph.
public enum MAML {
    /// Adapts `params` to one task's support set: θ' = θ − α ⊙ ∇θ L_support(θ), `steps` times.
    ///
    /// - Parameter learnedRates: per-parameter learning-rate tensors (Meta-SGD); when given for
    ///   a name, it replaces α for that parameter and is itself meta-learned.
    public static func adapt(model: any Model, params: Parameters, supportX: Tensor, supportY: Tensor,
                             loss: TaskLoss, inner: InnerLoop, learnedRates: Parameters? = nil) throws -> Parameters {
        let names = params.names.filter { inner.adapted?.contains($0) ?? true }
        return try unroll(model: model, params: params, adapting: names, supportX: supportX, supportY: supportY, loss: loss,
                          steps: inner.steps, firstOrder: inner.firstOrder) { _, current, names, grads, _ in
            var next = current
            for (name, g) in zip(names, grads) {
                let theta = try current.tensor(name)
                if let rate = learnedRates?[name] {
                    next[name] = try theta - rate * g
                } else {
                    next[name] = try theta - g * inner.learningRate
                }
            }
            return next
        }
    }

    /// One inner update: step index, current parameters, the names being adapted, the
    /// gradients of the support loss in the same order, and the support loss itself.
    public typealias InnerUpdate = (_ step: Int, _ current: Parameters, _ names: [String],
                                    _ grads: [Tensor], _ loss: Tensor) throws -> Parameters

    /// The inner loop with any update rule: `steps` times, the support loss and its gradients
    /// with respect to `names` (kept differentiable unless `firstOrder`), then `update`. SGD
    /// (`adapt`) and the learned rules (`LearnedRules`) are both this loop.
    public static func unroll(model: any Model, params: Parameters, adapting names: [String], supportX: Tensor, supportY: Tensor,
                              loss: TaskLoss, steps: Int, firstOrder: Bool, update: InnerUpdate) throws -> Parameters {
        var current = params
        for step in 0..<steps {
            current = try supportX.builder.scope("inner\(step)") {
                let l = try loss(model(supportX, current), supportY)
                var grads = try Autodiff.grad(of: l, wrt: names.map { try current.tensor($0) })
                if firstOrder { grads = try grads.map { try $0.stopGradient() } }
                return try update(step, current, names, grads, l)
            }
        }
        return current
    }

    /// The mean post-adaptation query loss over a meta-batch, tasks stacked on axis 0 of each
    /// input (`[B, ...]`), plus the mean query output of `metric` when given.
    public static func metaLoss(model: any Model, params: Parameters,
                                supportX: Tensor, supportY: Tensor, queryX: Tensor, queryY: Tensor,
                                loss: TaskLoss, inner: InnerLoop, learnedRates: Parameters? = nil,
                                metric: TaskLoss? = nil) throws -> (loss: Tensor, metric: Tensor?) {
        let tasks = supportX.shape[0]
        var losses: [Tensor] = [], metrics: [Tensor] = []
        for t in 0..<tasks {
            try supportX.builder.scope("task\(t)") {
                let sx = try task(supportX, t), sy = try task(supportY, t)
                let qx = try task(queryX, t), qy = try task(queryY, t)
                let adapted = try adapt(model: model, params: params, supportX: sx, supportY: sy, loss: loss,
                                        inner: inner, learnedRates: learnedRates)
                let prediction = try model(qx, adapted)
                losses.append(try loss(prediction, qy))
                if let metric { metrics.append(try metric(prediction, qy)) }
            }
        }
        let total = try mean(losses)
        return (total, metrics.isEmpty ? nil : try mean(metrics))
    }

    /// Task `t` of a tensor whose axis 0 indexes tasks.
    static func task(_ x: Tensor, _ t: Int) throws -> Tensor {
        var start = [Int](repeating: 0, count: x.rank), end = x.shape.dims
        start[0] = t
        end[0] = t + 1
        return try x.slice(start: start, end: end).reshaped(Shape(Array(x.shape.dims.dropFirst())))
    }

    static func mean(_ xs: [Tensor]) throws -> Tensor {
        var acc = xs[0]
        for x in xs.dropFirst() { acc = try acc + x }
        return xs.count == 1 ? acc : try acc * (1.0 / Double(xs.count))
    }
}
