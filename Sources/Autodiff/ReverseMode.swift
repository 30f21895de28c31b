import GraphDSL
import MetaIR

/// Errors building a gradient.
public struct AutodiffError: Error, CustomStringConvertible, Hashable {
    /// What is wrong.
    public var message: String
    /// Human-readable message.
    public var description: String { "grad: \(message)" }
}

/// Reverse-mode differentiation that adds the gradient subgraph to the graph being traced.
///
/// Because every VJP rule emits ordinary graph, the result can be differentiated again:
/// `grad(of: grad(...))` gives second-order derivatives (exact MAML, Hessian-vector products).
public enum Autodiff {
    /// The gradients of the scalar `loss` with respect to each tensor in `wrt` (zeros for
    /// tensors the loss does not depend on), added to `loss`'s graph.
    public static func grad(of loss: Tensor, wrt: [Tensor]) throws -> [Tensor] {
        guard loss.shape.count == 1 else {
            throw AutodiffError(message: "loss must have a single element, got \(loss.type)")
        }
        let seed = loss.builder.constant(1, loss.shape, dtype: loss.dtype)
        return try vjp(of: loss, cotangent: seed, wrt: wrt)
    }

    /// The vector–Jacobian product `cotangentᵀ · ∂output/∂wrt` for each tensor in `wrt`.
    public static func vjp(of output: Tensor, cotangent: Tensor, wrt: [Tensor]) throws -> [Tensor] {
        let b = output.builder
        guard cotangent.type == output.type else {
            throw AutodiffError(message: "cotangent \(cotangent.type) does not match output \(output.type)")
        }
        for w in wrt where !w.dtype.isFloat || w.builder !== b {
            throw AutodiffError(message: "can only differentiate with respect to floating-point tensors of the same graph")
        }
        let nodes = b.graph.nodes
        // Nodes that depend on some `wrt` tensor: only they need cotangents.
        let targets = Set(wrt.map(\.id))
        var depends = [Bool](repeating: false, count: output.id + 1)
        for i in 0...output.id {
            depends[i] = targets.contains(i) || nodes[i].inputs.contains { $0 <= output.id && depends[$0] }
        }
        var cotangents: [Int: Tensor] = [output.id: cotangent]
        for i in stride(from: output.id, through: 0, by: -1) {
            guard let g = cotangents[i], depends[i], !nodes[i].inputs.isEmpty else { continue }
            let node = nodes[i]
            let operands = node.inputs.map { b.tensor($0) }
            let contributions = try VJPRules.vjp(node, x: operands, y: b.tensor(i), g: g)
            for (k, operand) in node.inputs.enumerated() {
                guard k < contributions.count, let c = contributions[k], depends[operand],
                      nodes[operand].type.dtype.isFloat else { continue }
                // Accumulation over several users happens here, once.
                cotangents[operand] = try cotangents[operand].map { try $0 + c } ?? c
            }
            if !targets.contains(i) { cotangents[i] = nil }  // done with it; free the handle
        }
        return wrt.map { w in cotangents[w.id] ?? b.constant(0, w.shape, dtype: w.dtype) }
    }

    /// Hessian-vector product `∇²loss · v` with respect to `x`.
    public static func hessianVectorProduct(of loss: Tensor, wrt x: Tensor, vector v: Tensor) throws -> Tensor {
        guard let g = try grad(of: loss, wrt: [x]).first else { throw AutodiffError(message: "no gradient") }
        let inner = try (g * v).sum()
        guard let hv = try grad(of: inner, wrt: [x]).first else { throw AutodiffError(message: "no gradient") }
        return hv
    }
}

extension Autodiff {
    /// A copy of `g` with outputs `grad.<name>` added: the gradient of output `loss` with
    /// respect to the named parameters (all parameters when `wrt` is nil).
    public static func gradientGraph(_ g: Graph, of loss: String = "loss", wrt: [String]? = nil) throws -> Graph {
        guard let lossID = g.output(named: loss) else {
            throw AutodiffError(message: "graph '\(g.name)' has no output \"\(loss)\" (outputs: \(g.outputs.map(\.name).joined(separator: ", ")))")
        }
        let params = g.parameters.filter { $0.node < g.nodes.count && g.nodes[$0.node].type.dtype.isFloat }
        let chosen: [(name: String, node: Int)]
        if let wrt {
            chosen = try wrt.map { name in
                guard let p = params.first(where: { $0.name == name }) else {
                    throw AutodiffError(message: "no floating-point parameter \"\(name)\" (have: \(params.map(\.name).joined(separator: ", ")))")
                }
                return p
            }
        } else {
            chosen = params
        }
        let b = GraphBuilder(extending: g)
        let grads = try grad(of: b.tensor(lossID), wrt: chosen.map { b.tensor($0.node) })
        for (p, gr) in zip(chosen, grads) { b.output("grad.\(p.name)", gr) }
        return try b.finish()
    }
}
