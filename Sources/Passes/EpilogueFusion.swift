import MetaIR

/// Folds an elementwise kernel into the matmul or convolution that feeds it, when it is that
/// result's only reader: bias + ReLU (or a batch-norm scale/shift) then run as the dense
/// kernel's store epilogue and the intermediate buffer disappears.
enum EpilogueFusion {
    static func run(_ p: inout KernelProgram) {
        var readers = [Int](repeating: 0, count: p.buffers.count)
        for k in p.kernels { for b in k.operands { readers[b] += 1 } }
        for o in p.outputs { readers[o.buffer] += 100 }  // outputs are never folded away
        var producer: [Int: Int] = [:]
        for (i, k) in p.kernels.enumerated() { producer[k.output] = i }
        var removed = Set<Int>()
        for (ui, u) in p.kernels.enumerated() {
            guard case .elementwise(let e, _) = u.body else { continue }
            // Exactly one load of exactly one dense result, read through the identity view.
            for (slot, c) in u.operands.enumerated() {
                guard readers[c] == 1, let ci = producer[c], ci < ui, !removed.contains(ci),
                      p.buffers[c].dtype == .f32, p.buffers[u.output].dtype == .f32,
                      p.buffers[c].count == p.buffers[u.output].count else { continue }
                let dense = p.kernels[ci]
                guard dense.isDenseWithoutEpilogue else { continue }
                var loadsOfC = 0, identity = true
                _ = e.mapLeaves { leaf in
                    if case .load(let o, let v, _) = leaf, o == slot {
                        loadsOfC += 1
                        if !(v.isContiguous && v.offset == 0) { identity = false }
                    }
                    return leaf
                }
                guard loadsOfC == 1, identity else { continue }
                // Everything else the epilogue reads must exist before the dense kernel runs.
                let others = u.operands.enumerated().filter { $0.offset != slot }.map(\.element)
                // An input gradient's output is written element by element, a channel plane
                // apart, so an epilogue that reads another buffer (the ReLU mask from the
                // forward activation) adds a strided scalar load to every store. As its own
                // vectorised pass it cost the same step time on Conv-4 MAML, and the dense
                // kernel then has one form per shape instead of one per epilogue: maml-5w1s
                // compiles 17% faster (README, "Compile time").
                if case .convolution(.inputGradient, _, _) = dense.body, !others.isEmpty { continue }
                guard others.allSatisfy({ (producer[$0] ?? -1) < ci }) else { continue }
                // Epilogue operands come after the dense kernel's two.
                var remap: [Int: Int] = [:]
                for k in u.operands.indices where k != slot { remap[k] = 2 + remap.count }
                // The epilogue runs in the dense kernel's index space: [batch, m, n] for matmul.
                let space = dense.body.denseOutputShape ?? []
                guard let epi = e.mapLeaves({ leaf in
                    switch leaf {
                    case .load(let o, let v, let d):
                        if o == slot { return .accumulator(d) }
                        guard let moved = v.shape == space ? v : v.reshaped(space) else { return nil }
                        return .load(operand: remap[o] ?? 0, view: moved, dtype: d)
                    case .constant: return leaf
                    case .iota, .accumulator: return nil  // iota would need re-indexing; accumulators are another epilogue's
                    case .unary, .binary, .compare, .select, .cast, .randomUniform: return nil  // not leaves: never passed here
                    }
                }) else { continue }
                var fused = dense
                fused.body = dense.body.withEpilogue(epi)
                fused.operands = Array(dense.operands.prefix(2)) + others
                fused.output = u.output
                fused.nodes = dense.nodes + u.nodes
                p.kernels[ci] = fused
                producer[u.output] = ci
                removed.insert(ui)
                break
            }
        }
        p.kernels = p.kernels.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
    }
}

extension Kernel {
    var isDenseWithoutEpilogue: Bool { body.isDense && body.epilogue == nil }
}
