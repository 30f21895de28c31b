import GraphDSL
import MetaIR

/// Mishra et al.'s simple neural attentive learner (2018) for few-shot classification, over
/// one batch of support-then-query episodes.
///
/// Each image goes through the max-pool Conv-4 and an FC layer to the embedding; step `t`'s
/// input is `[embedding, label one-hot]` (zeros at the query); then, as in the paper's
/// Omniglot model, attention(K₁, V₁) → TC(F) → attention(K₂, V₂) → TC(F) → attention(K₃, V₃)
/// → a per-step linear layer (the paper's 1×1 convolution) to `N` logits. Only the last step,
/// the unlabelled query, is scored.
///
/// Conv-4's batch norm uses the statistics of all `B·T` images of the call (training mode at
/// evaluation too, as the MAML-family steps here do).
struct SNAILModel {
    let c: SequenceStepConfig

    init(_ c: SequenceStepConfig) { self.c = c }

    var conv: Conv4 { Conv4(imageSize: c.imageSize, width: c.convWidth, ways: 0, strided: false) }
    var depth: Int { tcBlockDepth(length: c.length) }

    /// Feature widths entering each block, and the width after the last.
    var widths: (attention: [Int], tc: [Int], final: Int) {
        var w = c.embeddingSize + c.ways
        var attention: [Int] = [], tc: [Int] = []
        for i in 0..<3 {
            attention.append(w)
            w += c.attentionValues[i]
            if i < 2 {
                tc.append(w)
                w += depth * c.tcFilters
            }
        }
        return (attention, tc, w)
    }

    var parameterSpecs: [ParameterSpec] {
        let w = widths
        var specs = conv.parameterSpecs
        specs += [.weight("snail.embed.w", [conv.embeddingSize, c.embeddingSize]), .bias("snail.embed.b", [c.embeddingSize])]
        for i in 0..<3 {
            let cin = w.attention[i]
            specs += [.weight("snail.att\(i).q", [cin, c.attentionKeys[i]]), .weight("snail.att\(i).k", [cin, c.attentionKeys[i]]),
                      .weight("snail.att\(i).v", [cin, c.attentionValues[i]])]
            guard i < 2 else { continue }
            for j in 0..<depth {
                let width = w.tc[i] + j * c.tcFilters
                specs += [.weight("snail.tc\(i).\(j).f", [2 * width, c.tcFilters]), .bias("snail.tc\(i).\(j).fb", [c.tcFilters]),
                          .weight("snail.tc\(i).\(j).g", [2 * width, c.tcFilters]), .bias("snail.tc\(i).\(j).gb", [c.tcFilters])]
            }
        }
        specs += [.weight("snail.out.w", [w.final, c.ways]), .bias("snail.out.b", [c.ways])]
        return specs
    }

    func episode(_ p: Parameters, _ io: SequenceInputs) throws -> SequenceOutputs {
        let b = io.images.builder
        let (n, t, s) = (c.batchSize, c.length, c.imageSize)
        var x = try b.scope("snail.embed") {
            let e = try conv.embed(io.images.reshaped([n * t, 1, s, s]), p)
            let fc = try linear(e, p.tensor("snail.embed.w"), p.tensor("snail.embed.b")).reshaped([n, t, c.embeddingSize])
            return try concat([fc, io.labelInputs], axis: 2)
        }
        for i in 0..<3 {
            x = try b.scope("snail.attention\(i)") {
                try attentionBlock(x, query: p.tensor("snail.att\(i).q"), key: p.tensor("snail.att\(i).k"), value: p.tensor("snail.att\(i).v"))
            }
            guard i < 2 else { continue }
            x = try b.scope("snail.tc\(i)") {
                let blocks = try (0..<depth).map { j in
                    DenseBlockWeights(filter: try p.tensor("snail.tc\(i).\(j).f"), filterBias: try p.tensor("snail.tc\(i).\(j).fb"),
                                      gate: try p.tensor("snail.tc\(i).\(j).g"), gateBias: try p.tensor("snail.tc\(i).\(j).gb"))
                }
                return try tcBlock(x, blocks: blocks)
            }
        }
        return try b.scope("snail.output") {
            // Only the query's logits are needed: the per-step layer applied to the last step.
            let last = try x.slice(start: [0, t - 1, 0], end: [n, t, x.shape[2]])                 // [B, 1, C]
            let logits = try linear(last, p.tensor("snail.out.w"), p.tensor("snail.out.b"))       // [B, 1, N]
            let target = try io.targets.slice(start: [0, t - 1, 0], end: [n, t, 1])                // [B, 1, 1]
            return try SequenceSteps.scored(logits: logits, targets: target, groups: 1, alphabet: c.ways)
        }
    }
}
