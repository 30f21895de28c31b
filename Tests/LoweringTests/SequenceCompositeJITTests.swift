import GraphDSL
import MetaIR
import Testing

/// The sequence composites compiled at -O0 and -O3 agree with the interpreter: the value, its
/// gradient and a Hessian-vector product (second order).
@Suite struct SequenceCompositeJITTests {
    static let cases: [PrimitiveCase] = [
        PrimitiveCase("causalConv1d (dilation 2)", [[2, 5, 3], [6, 4], [4]]) { _, x in
            try causalConv1d(x[0], weight: x[1], bias: x[2], dilation: 2)
        },
        PrimitiveCase("denseBlock", [[2, 5, 3], [6, 2], [2], [6, 2], [2]]) { _, x in
            try denseBlock(x[0], filter: x[1], filterBias: x[2], gate: x[3], gateBias: x[4], dilation: 1)
        },
        PrimitiveCase("attentionBlock", [[2, 4, 3], [3, 4], [3, 4], [3, 2]]) { _, x in
            try attentionBlock(x[0], query: x[1], key: x[2], value: x[3])
        },
        PrimitiveCase("lruMemoryStep", [[2, 4, 3], [2, 4], [2, 2, 4], [2, 2, 3], [2, 2], [2, 2]]) { _, x in
            let state = LRUMemoryState(memory: x[0], usage: x[1], read: x[2])
            let (next, reads, write) = try lruMemoryStep(state, keys: x[3], alpha: x[4], strength: x[5], decay: 0.95)
            return try concat([next.memory.reshaped([24]), next.usage.reshaped([8]), reads.reshaped([12]), write.reshaped([16])], axis: 0)
        },
    ]

    @Test(arguments: cases)
    func compositeAgreesWithInterpreter(_ c: PrimitiveCase) throws {
        try expectAgreement(try c.graph(), tolerance: 2e-5)
        try expectAgreement(try MetricCompositeJITTests.secondOrderGraph(c), tolerance: 1e-4)
    }
}
