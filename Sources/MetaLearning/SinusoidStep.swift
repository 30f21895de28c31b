import Autodiff
import GraphDSL
import MetaIR

extension StepBuilder {
    /// The meta-training step of MAML on sinusoid regression (Finn et al. 2017, §5.1): an MLP
    /// 1→hidden→hidden→1 with ReLU, `steps` inner SGD steps of rate `innerLR` on each task's
    /// `shots` support points, the post-adaptation query MSE averaged over `tasks`, and the
    /// outer update compiled in.
    ///
    /// Inputs `support_x`, `support_y` `[tasks, shots, 1]`, `query_x`, `query_y`
    /// `[tasks, queries, 1]`, `lr`; outputs `loss` (post-adaptation query MSE),
    /// `pre_adaptation_loss` (query MSE of the unadapted model) and `update.<param>`.
    public static func sinusoidTrainStep(tasks: Int, shots: Int = 10, queries: Int = 10, steps: Int = 1,
                                         innerLR: Double = 0.01, hidden: Int = 40, firstOrder: Bool = false,
                                         optimizer: OuterOptimizer = .adam) throws -> StepGraph {
        let model = SinusoidMLP(hidden: hidden)
        let specs = model.parameterSpecs
        let state = optimizer.stateSpecs(for: specs)
        let b = GraphBuilder(name: firstOrder ? "train-fomaml-sinusoid" : "train-maml-sinusoid")
        let p = try Parameters(declaring: specs, in: b)
        let s = try Parameters(declaring: state, in: b)
        let sx = try b.input(StepSignature.supportX, [tasks, shots, 1])
        let sy = try b.input(StepSignature.supportY, [tasks, shots, 1])
        let qx = try b.input(StepSignature.queryX, [tasks, queries, 1])
        let qy = try b.input(StepSignature.queryY, [tasks, queries, 1])
        let lr = try b.input(StepSignature.learningRateName, .scalar)
        var grads: [String: Tensor] = [:]
        var losses: [Tensor] = [], before: [Tensor] = []
        let inner = InnerLoop(steps: steps, learningRate: innerLR, firstOrder: firstOrder)
        for t in 0..<tasks {
            try b.scope("task\(t)") {
                let x = try MAML.task(sx, t), y = try MAML.task(sy, t)
                let xq = try MAML.task(qx, t), yq = try MAML.task(qy, t)
                let adapted = try MAML.adapt(model: model, params: p, supportX: x, supportY: y,
                                             loss: meanSquaredError, inner: inner)
                let loss = try meanSquaredError(model(xq, adapted), yq)
                // Per-task gradients keep each task's backward pass next to its forward pass.
                for (n, g) in zip(p.names, try Autodiff.grad(of: loss, wrt: p.all)) {
                    let part = try g * (1.0 / Double(tasks))
                    grads[n] = try grads[n].map { try $0 + part } ?? part
                }
                losses.append(loss)
                before.append(try meanSquaredError(model(xq, p), yq).stopGradient())
            }
        }
        b.output(StepSignature.lossName, try MAML.mean(losses))
        b.output("pre_adaptation_loss", try MAML.mean(before))
        try optimizer.update(params: p, grads: grads, state: s, learningRate: lr, builder: b)
        return try StepGraph(graph: try b.finish(), parameters: specs + state, kind: .train)
    }
}
