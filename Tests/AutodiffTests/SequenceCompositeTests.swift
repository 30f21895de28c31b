import Autodiff
import Foundation
import GraphDSL
import Interpreter
import MetaIR
import Testing

/// Weights of a dense block for tests: filter and gate `[2c, f]`, biases `[f]`, taken from `xs`
/// starting at `k`.
func denseWeights(_ xs: [Tensor], _ k: Int) -> DenseBlockWeights {
    DenseBlockWeights(filter: xs[k], filterBias: xs[k + 1], gate: xs[k + 2], gateBias: xs[k + 3])
}

/// The sequence composites (SNAIL's causal convolution, attention and blocks; MANN's LRU
/// memory): values against hand computations, causality, and first and second order against
/// finite differences.
@Suite struct SequenceCompositeTests {
    static let rows: [GradRow] = [
        GradRow(name: "shiftedForward", operands: [Operand(shape: [2, 4, 3])]) { try shiftedForward($0[0], by: 2) },
        GradRow(name: "causalConv1d (dilation 2)",
                operands: [Operand(shape: [2, 4, 3]), Operand(shape: [6, 2]), Operand(shape: [2])]) {
            try causalConv1d($0[0], weight: $0[1], bias: $0[2], dilation: 2)
        },
        GradRow(name: "denseBlock (gated)",
                operands: [Operand(shape: [2, 4, 3]), Operand(shape: [6, 2]), Operand(shape: [2]),
                           Operand(shape: [6, 2]), Operand(shape: [2])]) {
            try denseBlock($0[0], filter: $0[1], filterBias: $0[2], gate: $0[3], gateBias: $0[4], dilation: 1)
        },
        GradRow(name: "tcBlock (dilations 1, 2)",
                operands: [Operand(shape: [1, 4, 2]), Operand(shape: [4, 2]), Operand(shape: [2]), Operand(shape: [4, 2]),
                           Operand(shape: [2]), Operand(shape: [8, 2]), Operand(shape: [2]), Operand(shape: [8, 2]), Operand(shape: [2])]) {
            try tcBlock($0[0], blocks: [denseWeights($0, 1), denseWeights($0, 5)])
        },
        GradRow(name: "causalAttention", operands: [Operand(shape: [2, 3, 4]), Operand(shape: [2, 3, 4]), Operand(shape: [2, 3, 2])]) {
            try causalAttention(query: $0[0], key: $0[1], value: $0[2])
        },
        GradRow(name: "attentionBlock",
                operands: [Operand(shape: [2, 3, 3]), Operand(shape: [3, 4]), Operand(shape: [3, 4]), Operand(shape: [3, 2])]) {
            try attentionBlock($0[0], query: $0[1], key: $0[2], value: $0[3])
        },
        GradRow(name: "softplus", operands: [Operand(shape: [3, 4], domain: .awayFromZero)]) { try softplus($0[0]) },
        GradRow(name: "batchedCosineSimilarity", operands: [Operand(shape: [2, 2, 3]), Operand(shape: [2, 4, 3])]) {
            try batchedCosineSimilarity($0[0], $0[1])
        },
        // Normal usages have no ties, so ε-shifts never move the least-used slot: the
        // selection's zero derivative is exact there.
        GradRow(name: "lruMemoryStep",
                operands: [Operand(shape: [1, 4, 3]), Operand(shape: [1, 4]), Operand(shape: [1, 2, 4]),
                           Operand(shape: [1, 2, 3]), Operand(shape: [1, 2]), Operand(shape: [1, 2])]) {
            let state = LRUMemoryState(memory: $0[0], usage: $0[1], read: $0[2])
            let (next, reads, write) = try lruMemoryStep(state, keys: $0[3], alpha: $0[4], strength: $0[5], decay: 0.95)
            return try concat([next.memory.reshaped([12]), next.usage.reshaped([4]), next.read.reshaped([8]),
                               reads.reshaped([6]), write.reshaped([8])], axis: 0)
        },
    ]

    @Test(arguments: rows)
    func firstAndSecondOrderMatchFiniteDifferences(row: GradRow) throws {
        try gradCheck(row.operands, tolerance: row.tolerance, row.f)
    }

    static func eval(_ inputs: [(Shape, [Double])], _ f: ([Tensor]) throws -> [Tensor]) throws -> [[Double]] {
        try MetricCompositeTests.eval(inputs, f)
    }

    static func close(_ a: [Double], _ b: [Double], _ tol: Double = 1e-9) -> Bool { MetricCompositeTests.close(a, b, tol) }

    @Test func shiftAndCausalConvolutionMatchHandComputations() throws {
        let x: [Double] = [1, 2, 3, 4]
        #expect(Self.close(try Self.eval([([1, 4, 1], x)]) { [try shiftedForward($0[0], by: 2)] }[0], [0, 0, 1, 2]))
        #expect(Self.close(try Self.eval([([1, 4, 1], x)]) { [try shiftedForward($0[0], by: 9)] }[0], [0, 0, 0, 0]))
        // y[t] = 10·x[t − d] + 1·x[t] + 0.5.
        let inputs: [(Shape, [Double])] = [([1, 4, 1], x), ([2, 1], [10, 1]), ([1], [0.5])]
        let d1 = try Self.eval(inputs) { [try causalConv1d($0[0], weight: $0[1], bias: $0[2], dilation: 1)] }[0]
        #expect(Self.close(d1, [1.5, 12.5, 23.5, 34.5]))
        let d2 = try Self.eval(inputs) { [try causalConv1d($0[0], weight: $0[1], bias: $0[2], dilation: 2)] }[0]
        #expect(Self.close(d2, [1.5, 2.5, 13.5, 24.5]))
        #expect(throws: DSLError.self) { _ = try Self.eval(inputs) { [try causalConv1d($0[0], weight: $0[1], bias: $0[2], dilation: 0)] } }
        #expect(throws: DSLError.self) { _ = try Self.eval([([1, 4, 1], x), ([3, 1], [1, 1, 1]), ([1], [0])]) {
            [try causalConv1d($0[0], weight: $0[1], bias: $0[2], dilation: 1)]
        } }
    }

    /// Gated activation: filter taps (1, 1) give conv = (1, 3); gate weights 0 give σ(0) = ½;
    /// output `[x, ½·tanh(conv)]` per step.
    @Test func gatedDenseBlockMatchesAHandComputation() throws {
        let y = try Self.eval([([1, 2, 1], [1, 2]), ([2, 1], [1, 1]), ([1], [0]), ([2, 1], [0, 0]), ([1], [0])]) {
            [try denseBlock($0[0], filter: $0[1], filterBias: $0[2], gate: $0[3], gateBias: $0[4], dilation: 1)]
        }[0]
        #expect(Self.close(y, [1, 0.5 * Foundation.tanh(1.0), 2, 0.5 * Foundation.tanh(3.0)], 1e-12))
        #expect(tcBlockDepth(length: 1) == 1 && tcBlockDepth(length: 2) == 1 && tcBlockDepth(length: 6) == 3
                && tcBlockDepth(length: 8) == 3 && tcBlockDepth(length: 21) == 5)
    }

    /// Key size 4: q₁·k₁ = 4 scaled by 1/√4 is 2, q₁·k₀ = 0. Step 0 sees only itself (v₀ = 3);
    /// step 1 mixes v = (3, 5) with softmax(0, 2).
    @Test func causalAttentionMatchesAHandComputation() throws {
        let q: [Double] = [7, 7, 7, 7, 1, 1, 1, 1], k: [Double] = [0, 0, 0, 0, 1, 1, 1, 1], v: [Double] = [3, 5]
        let y = try Self.eval([([1, 2, 4], q), ([1, 2, 4], k), ([1, 2, 1], v)]) {
            [try causalAttention(query: $0[0], key: $0[1], value: $0[2])]
        }[0]
        let e2: Double = Foundation.exp(2.0)
        #expect(Self.close(y, [3, (3 + 5 * e2) / (1 + e2)], 1e-12))
        // The mask itself: entries above the diagonal become the mask value.
        let m = try Self.eval([([1, 2, 2], [1, 2, 3, 4])]) { [try causalMask($0[0])] }[0]
        #expect(Self.close(m, [1, causalMaskValue, 3, 4]))
    }

    @Test func leastUsedSelectionPicksTheFirstMinimum() throws {
        let w = try Self.eval([([2, 4], [0.3, 0.1, 0.5, 0.1, 2, 1, 0, 3])]) { [try leastUsedWeights($0[0])] }[0]
        #expect(w == [0, 1, 0, 0, 0, 0, 1, 0])
        // No gradient reaches the usage through the selection (the documented subgradient).
        let b = GraphBuilder(name: "lu")
        let u = try b.input("u", [1, 4])
        let g = try Autodiff.grad(of: (leastUsedWeights(u) * u.scalar(3)).sum() + (u * u.scalar(0)).sum(), wrt: [u])[0]
        b.output("g", g)
        let out = try Interpreter(precision: .float64).run(try b.finish(), feeds: ["u": HostTensor(shape: [1, 4], [1, 0, 2, 3])])
        #expect(out["g"]?.data == [0, 0, 0, 0])
    }

    /// For every `t`, changing step `t + 1` of the input leaves outputs `0…t` bit-for-bit
    /// equal and changes step `t + 1` (so the check can fail).
    static func expectCausal(channels: Int, extra: [Shape], sourceLocation: Testing.SourceLocation = #_sourceLocation,
                             _ f: @escaping ([Tensor]) throws -> Tensor) throws {
        let (batch, steps) = (2, 5)
        var rng = SeededRandom(seed: 7)
        let x = (0..<(batch * steps * channels)).map { _ in rng.normal() }
        let others = extra.map { s in (s, (0..<s.count).map { _ in rng.normal() }) }
        let shape = Shape([batch, steps, channels])
        let base = try eval([(shape, x)] + others) { [try f($0)] }[0]
        let width = base.count / (batch * steps)
        for t in 0..<(steps - 1) {
            var perturbed = x
            for b in 0..<batch { for c in 0..<channels { perturbed[(b * steps + t + 1) * channels + c] += 0.5 + Double(c) } }
            let y = try eval([(shape, perturbed)] + others) { [try f($0)] }[0]
            for b in 0..<batch {
                let past = (b * steps * width)..<((b * steps + t + 1) * width)
                let next = past.upperBound..<(past.upperBound + width)
                #expect(Array(y[past]) == Array(base[past]), "step \(t + 1) leaked into steps ≤ \(t)", sourceLocation: sourceLocation)
                #expect(Array(y[next]) != Array(base[next]), "step \(t + 1) did not change", sourceLocation: sourceLocation)
            }
        }
    }

    @Test func perturbingALaterStepLeavesEarlierOutputsUnchanged() throws {
        try Self.expectCausal(channels: 3, extra: [[6, 2], [2]]) { try causalConv1d($0[0], weight: $0[1], bias: $0[2], dilation: 1) }
        try Self.expectCausal(channels: 3, extra: [[6, 2], [2]]) { try causalConv1d($0[0], weight: $0[1], bias: $0[2], dilation: 2) }
        try Self.expectCausal(channels: 3, extra: []) { try causalAttention(query: $0[0], key: $0[0], value: $0[0]) }
        try Self.expectCausal(channels: 3, extra: []) { try softmax(causalMask($0[0].matmul($0[0].transposed())), axis: -1) }
        var tcShapes: [Shape] = []
        for c in [2, 4, 6] { tcShapes += [Shape([2 * c, 2]), Shape([2]), Shape([2 * c, 2]), Shape([2])] }
        try Self.expectCausal(channels: 2, extra: tcShapes) {
            try tcBlock($0[0], blocks: [denseWeights($0, 1), denseWeights($0, 5), denseWeights($0, 9)])
        }
        try Self.expectCausal(channels: 3, extra: [[3, 4], [3, 4], [3, 2]]) {
            try attentionBlock($0[0], query: $0[1], key: $0[2], value: $0[3])
        }
    }

    /// Santoro et al.'s LRU step by hand on a 4-slot memory (one head, D = 2, γ = 0.95):
    /// usage (0.5, 0.2, 0.9, 0.4) makes slot 1 least used; σ(0) = ½ gives write weights
    /// ½·(0.1, 0.2, 0.3, 0.4) + ½·(0, 1, 0, 0) = (0.05, 0.6, 0.15, 0.2); slot 1 is zeroed and
    /// key (1, 0) is added with those weights; reads are softmax(cos(key, M′(i))).
    @Test func lruMemoryStepMatchesAHandComputationOnFourSlots() throws {
        let memory: [Double] = [1, 0, 0, 1, 0, 2, 1, 1]
        let out = try Self.eval([([1, 4, 2], memory), ([1, 4], [0.5, 0.2, 0.9, 0.4]), ([1, 1, 4], [0.1, 0.2, 0.3, 0.4]),
                                 ([1, 1, 2], [1, 0]), ([1, 1], [0]), ([1, 1], [1])]) { x in
            let (next, reads, write) = try lruMemoryStep(LRUMemoryState(memory: x[0], usage: x[1], read: x[2]),
                                                         keys: x[3], alpha: x[4], strength: x[5], decay: 0.95)
            return [write, next.memory, next.read, reads, next.usage]
        }
        let write: [Double] = [0.05, 0.6, 0.15, 0.2]
        let written: [Double] = [1.05, 0, 0.6, 0, 0.15, 2, 1.2, 1]
        #expect(Self.close(out[0], write, 1e-12))
        #expect(Self.close(out[1], written, 1e-12))
        let cosines = [1, 1, 0.15 / (0.15 * 0.15 + 4).squareRoot(), 1.2 / (1.2 * 1.2 + 1).squareRoot()]
        let z = cosines.map { Foundation.exp($0) }.reduce(0, +)
        let read = cosines.map { Foundation.exp($0) / z }
        #expect(Self.close(out[2], read, 1e-6))
        let r0 = (0..<4).map { read[$0] * written[2 * $0] }.reduce(0, +), r1 = (0..<4).map { read[$0] * written[2 * $0 + 1] }.reduce(0, +)
        #expect(Self.close(out[3], [r0, r1], 1e-6))
        let usage = (0..<4).map { 0.95 * [0.5, 0.2, 0.9, 0.4][$0] + read[$0] + write[$0] }
        #expect(Self.close(out[4], usage, 1e-6))
    }
}
