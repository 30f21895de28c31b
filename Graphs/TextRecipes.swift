import Autodiff
import GraphDSL
import MetaIR

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
