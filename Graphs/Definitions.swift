import GraphDSL
import MetaLearning
import MetaIR

/// Traces `body` into a verified graph.
func trace(_ name: String, _ specs: [ParameterSpec],
           _ body: (GraphBuilder, Parameters) throws -> Void) throws -> BuiltGraph {
    let b = GraphBuilder(name: name)
    let p = try Parameters(declaring: specs, in: b)
    try body(b, p)
    return BuiltGraph(graph: try b.finish(), parameters: specs)
}

/// Sinusoid regression forward pass + MSE.
let mlpGraph = GraphDefinition(
    name: "mlp", summary: "sinusoid regression MLP (1-40-40-1, ReLU), forward + MSE",
    options: [GraphOption("batch", 10, "points per task (K)"), GraphOption("hidden", 40, "hidden width")]
) { o in
    let model = SinusoidMLP(hidden: o.int("hidden"))
    return try trace("mlp", model.parameterSpecs) { b, p in
        let x = try b.input("x", [o.int("batch"), 1])
        let y = try b.input("y", [o.int("batch"), 1])
        b.output("loss", try meanSquaredError(model(x, p), y))
    }
}

/// Conv-4 on Omniglot-sized images with an N-way head: forward + cross-entropy + accuracy.
let conv4Graph = GraphDefinition(
    name: "conv4", summary: "Conv-4 (Omniglot 28x28) N-way classifier, forward + cross-entropy + accuracy",
    options: [GraphOption("ways", 5, "classes (N)"), GraphOption("shots", 1, "examples per class (K)"),
              GraphOption("width", 64, "filters per block"), GraphOption("image", 28, "image side"),
              GraphOption("strided", 0, "1 = stride-2 convs instead of max-pool (MAML's Omniglot net)", kind: .flag)]
) { o in
    let model = Conv4(imageSize: o.int("image"), width: o.int("width"), ways: o.int("ways"), strided: o.flag("strided"))
    let batch = o.int("ways") * o.int("shots")
    return try trace("conv4", model.parameterSpecs) { b, p in
        let x = try b.input("x", [batch, 1, o.int("image"), o.int("image")])
        let y = try b.input("labels", [batch], dtype: .i32)
        let logits = try model(x, p)
        b.output("loss", try crossEntropy(logits: logits, labels: y))
        b.output("accuracy", try accuracy(logits: logits, labels: y))
    }
}

/// Character-sequence LSTM classifier: forward + cross-entropy + accuracy.
let lstmClassifierGraph = GraphDefinition(
    name: "lstm-classifier", summary: "character LSTM sequence classifier, forward + cross-entropy + accuracy",
    options: [GraphOption("batch", 8, "sequences"), GraphOption("length", 12, "characters per sequence"),
              GraphOption("vocab", 32, "alphabet size"), GraphOption("hidden", 64, "LSTM units"),
              GraphOption("classes", 5, "classes")]
) { o in
    let model = LSTMClassifier(vocabulary: o.int("vocab"), hidden: o.int("hidden"), classes: o.int("classes"))
    return try trace("lstm-classifier", model.parameterSpecs) { b, p in
        let x = try b.input("chars", [o.int("batch"), o.int("length")], dtype: .i32)
        let y = try b.input("labels", [o.int("batch")], dtype: .i32)
        let logits = try model(x, p)
        b.output("loss", try crossEntropy(logits: logits, labels: y))
        b.output("accuracy", try accuracy(logits: logits, labels: y))
    }
}

/// Causal self-attention block regressed onto a target: forward + MSE.
let attentionBlockGraph = GraphDefinition(
    name: "attention-block", summary: "causal dot-product self-attention block with residual, forward + MSE",
    options: [GraphOption("batch", 4, "sequences"), GraphOption("length", 10, "time steps"),
              GraphOption("width", 32, "model width"), GraphOption("key", 16, "query/key width")]
) { o in
    let model = AttentionBlock(width: o.int("width"), keyWidth: o.int("key"))
    return try trace("attention-block", model.parameterSpecs) { b, p in
        let x = try b.input("x", [o.int("batch"), o.int("length"), o.int("width")])
        let y = try b.input("target", [o.int("batch"), o.int("length"), o.int("width")])
        let out = try model(x, p)
        b.output("output", out)
        b.output("loss", try meanSquaredError(out, y))
    }
}
