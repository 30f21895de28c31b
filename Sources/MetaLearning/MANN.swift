import GraphDSL
import MetaIR

/// Santoro et al.'s memory-augmented neural network (2016) over one batch of delayed-label
/// episodes, unrolled for all `T` steps.
///
/// Step `t`: the controller LSTM reads `[x_t, y_{t−1}, r_{t−1}]` (image, the previous step's
/// label, the previous step's reads); from its state `h_t` come per-head keys
/// `k = tanh(h·W_k + b_k)`, write gates `α = h·W_α + b_α` and key strengths
/// `β = 1 + softplus(h·W_β + b_β)`; one LRU memory step (``lruMemoryStep(_:keys:alpha:strength:decay:)``)
/// writes the keys and reads `r_t`; the label logits are `[h_t, r_t]·W_o + b_o`.
///
/// The least-used slot `w^lu` is an argmin of the usage: piecewise constant in it, so its
/// derivative is zero almost everywhere and undefined at ties. We take the zero subgradient
/// everywhere (`stop_gradient`, see ``leastUsedWeights(_:)``), as Santoro et al. do;
/// gradients still reach the usage-independent paths (the write gate `σ(α)`, the previous
/// read weights, the keys and the memory contents).
///
/// The controller's input weights are split by source (`wx` for the image and label,
/// `wr` for the reads), which is the concatenated layer `[x, y, r]·W` written as two
/// products, so the image and label projection for all `T` steps is one matrix product
/// before the recurrence.
struct MANNModel {
    let c: SequenceStepConfig

    init(_ c: SequenceStepConfig) { self.c = c }

    var pixels: Int { c.imageSize * c.imageSize }
    var readWidth: Int { c.readHeads * c.memoryWidth }

    var parameterSpecs: [ParameterSpec] {
        let (h, heads) = (c.controllerSize, c.readHeads)
        return [
            .weight("mann.lstm.wx", [pixels + c.labelWidth, 4 * h]), .weight("mann.lstm.wr", [readWidth, 4 * h]),
            .weight("mann.lstm.wh", [h, 4 * h]), .bias("mann.lstm.b", [4 * h]),
            .weight("mann.key.w", [h, readWidth]), .bias("mann.key.b", [readWidth]),
            .weight("mann.alpha.w", [h, heads]), .bias("mann.alpha.b", [heads]),
            .weight("mann.strength.w", [h, heads]), .bias("mann.strength.b", [heads]),
            .weight("mann.out.w", [h + readWidth, c.labelWidth]), .bias("mann.out.b", [c.labelWidth]),
        ]
    }

    func episode(_ p: Parameters, _ io: SequenceInputs) throws -> SequenceOutputs {
        let b = io.images.builder
        let (n, t, hidden, heads, d, slots) = (c.batchSize, c.length, c.controllerSize, c.readHeads, c.memoryWidth, c.memorySlots)
        let perStep = try b.scope("mann.input") {
            let x = try concat([io.images.reshaped([n, t, pixels]), io.labelInputs], axis: 2)
            return try x.reshaped([n * t, pixels + c.labelWidth]).matmul(p.tensor("mann.lstm.wx")).reshaped([n, t, 4 * hidden])
        }
        var h = b.constant(0, [n, hidden]), cell = b.constant(0, [n, hidden])
        var reads = b.constant(0, [n, readWidth])
        var state = LRUMemoryState(memory: b.constant(1e-6, [n, slots, d]), usage: b.constant(0, [n, slots]),
                                   read: b.constant(0, [n, heads, slots]))
        var features: [Tensor] = []
        for step in 0..<t {
            try b.scope("mann.t\(step)") {
                let projected = try perStep.slice(start: [0, step, 0], end: [n, step + 1, 4 * hidden]).reshaped([n, 4 * hidden])
                (h, cell) = try lstmCell(x: reads, h: h, c: cell, wx: p.tensor("mann.lstm.wr"), wh: p.tensor("mann.lstm.wh"),
                                         b: projected + p.tensor("mann.lstm.b"))
                let keys = try tanh(linear(h, p.tensor("mann.key.w"), p.tensor("mann.key.b"))).reshaped([n, heads, d])
                let alpha = try linear(h, p.tensor("mann.alpha.w"), p.tensor("mann.alpha.b"))
                let strength = try softplus(linear(h, p.tensor("mann.strength.w"), p.tensor("mann.strength.b"))) + 1
                let next = try lruMemoryStep(state, keys: keys, alpha: alpha, strength: strength, decay: c.usageDecay)
                state = next.state
                reads = try next.reads.reshaped([n, readWidth])
                features.append(try concat([h, reads], axis: 1).reshaped([n, 1, hidden + readWidth]))
            }
        }
        return try b.scope("mann.output") {
            let all = try concat(features, axis: 1)                                              // [B, T, H + R]
            let logits = try linear(all, p.tensor("mann.out.w"), p.tensor("mann.out.b"))         // [B, T, W]
            return try SequenceSteps.scored(logits: logits, targets: io.targets, groups: c.labelGroups, alphabet: c.labelAlphabet)
        }
    }
}
