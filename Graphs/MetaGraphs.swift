import Autodiff
import GraphDSL
import MetaIR
import MetaLearning

/// Traces a meta-training step's forward part and appends `grad.<name>` outputs for every
/// parameter of `specs` (the meta-gradient, second order unless `firstOrder`).
func metaGradientGraph(_ name: String, model: any Model, specs: [ParameterSpec],
                       support: (x: TensorType, y: TensorType), query: (x: TensorType, y: TensorType),
                       loss: @escaping TaskLoss, metric: TaskLoss?, inner: InnerLoop) throws -> BuiltGraph {
    let b = GraphBuilder(name: name)
    let p = try Parameters(declaring: specs, in: b)
    let sx = try b.input("support_x", support.x.shape, dtype: support.x.dtype)
    let sy = try b.input("support_y", support.y.shape, dtype: support.y.dtype)
    let qx = try b.input("query_x", query.x.shape, dtype: query.x.dtype)
    let qy = try b.input("query_y", query.y.shape, dtype: query.y.dtype)
    let (l, m) = try MAML.metaLoss(model: model, params: p, supportX: sx, supportY: sy, queryX: qx, queryY: qy,
                                   loss: loss, inner: inner, metric: metric)
    b.output("loss", l)
    if let m { b.output("accuracy", m) }
    let grads = try Autodiff.grad(of: l, wrt: p.all)
    for (n, g) in zip(p.names, grads) { b.output("grad.\(n)", g) }
    return BuiltGraph(graph: try b.finish(), parameters: specs)
}

/// MAML on sinusoid regression: the meta-gradient of the post-adaptation query MSE.
let mamlSinusoidGraph = GraphDefinition(
    name: "maml-sinusoid", summary: "MAML meta-gradient, sinusoid MLP (meta-batch of K-shot regression tasks)",
    options: [GraphOption("tasks", 4, "meta-batch size", kind: .size(maximum: StepConfig.maximumMetaBatch)),
              GraphOption("shots", 10, "support points per task"),
              GraphOption("queries", 10, "query points per task"),
              GraphOption("steps", 1, "inner SGD steps", kind: .size(maximum: StepConfig.maximumInnerSteps)),
              GraphOption("inner_lr", 0.01, "inner learning rate", kind: .real(0...100)),
              GraphOption("hidden", 40, "hidden width"),
              GraphOption("first_order", 0, "1 = FOMAML", kind: .flag)]
) { o in
    let model = SinusoidMLP(hidden: o.int("hidden"))
    let (t, k, q) = (o.int("tasks"), o.int("shots"), o.int("queries"))
    return try metaGradientGraph(
        "maml-sinusoid", model: model, specs: model.parameterSpecs,
        support: (TensorType(.f32, [t, k, 1]), TensorType(.f32, [t, k, 1])),
        query: (TensorType(.f32, [t, q, 1]), TensorType(.f32, [t, q, 1])),
        loss: meanSquaredError, metric: nil,
        inner: InnerLoop(steps: o.int("steps"), learningRate: o.double("inner_lr"), firstOrder: o.flag("first_order")))
}

/// MAML on Omniglot-style N-way K-shot classification with Conv-4: the meta-gradient.
let mamlConv4Graph = GraphDefinition(
    name: "maml-conv4", summary: "MAML meta-gradient, Conv-4 N-way K-shot (second order unless first_order=1)",
    options: [GraphOption("ways", 5, "classes per task"), GraphOption("shots", 1, "support examples per class"),
              GraphOption("queries", 15, "query examples per class"),
              GraphOption("tasks", 32, "meta-batch size", kind: .size(maximum: StepConfig.maximumMetaBatch)),
              GraphOption("steps", 1, "inner SGD steps", kind: .size(maximum: StepConfig.maximumInnerSteps)),
              GraphOption("inner_lr", 0.4, "inner learning rate", kind: .real(0...100)),
              GraphOption("width", 64, "filters per block"), GraphOption("image", 28, "image side"),
              GraphOption("strided", 0, "1 = stride-2 convs instead of max-pool", kind: .flag),
              GraphOption("first_order", 0, "1 = FOMAML", kind: .flag)]
) { o in
    let (n, k, q, t, s) = (o.int("ways"), o.int("shots"), o.int("queries"), o.int("tasks"), o.int("image"))
    let model = Conv4(imageSize: s, width: o.int("width"), ways: n, strided: o.flag("strided"))
    return try metaGradientGraph(
        "maml-conv4", model: model, specs: model.parameterSpecs,
        support: (TensorType(.f32, [t, n * k, 1, s, s]), TensorType(.i32, [t, n * k])),
        query: (TensorType(.f32, [t, n * q, 1, s, s]), TensorType(.i32, [t, n * q])),
        loss: { try crossEntropy(logits: $0, labels: $1) }, metric: { try accuracy(logits: $0, labels: $1) },
        inner: InnerLoop(steps: o.int("steps"), learningRate: o.double("inner_lr"), firstOrder: o.flag("first_order")))
}
