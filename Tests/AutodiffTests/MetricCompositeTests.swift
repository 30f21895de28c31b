import Autodiff
import Foundation
import GraphDSL
import Interpreter
import MetaIR
import Testing

/// The metric learners' composites (built from primitives, no IR op of their own): values
/// against hand computations, first and second order against finite differences.
@Suite struct MetricCompositeTests {
    static let rows: [GradRow] = [
        GradRow(name: "sigmoid", operands: [Operand(shape: [3, 4])]) { try sigmoid($0[0]) },
        GradRow(name: "l2Norm", operands: [Operand(shape: [3, 4])]) { try l2Norm($0[0], axis: 1) },
        GradRow(name: "l2Normalize", operands: [Operand(shape: [3, 4])]) { try l2Normalize($0[0], axis: 1) },
        GradRow(name: "cosineSimilarity", operands: [Operand(shape: [3, 4]), Operand(shape: [5, 4])]) {
            try cosineSimilarity($0[0], $0[1])
        },
        GradRow(name: "globalNorm", operands: [Operand(shape: [2, 3]), Operand(shape: [4])]) {
            try globalNorm([$0[0], $0[1]]).reshaped([1])
        },
        // Normal draws of 10 elements have a norm near 3: 0.5 clips, 100 does not, both far
        // from the min(1, ·) kink where finite differences would straddle it.
        GradRow(name: "clipByGlobalNorm (clipping)", operands: [Operand(shape: [2, 3]), Operand(shape: [4])]) {
            let (c, _) = try clipByGlobalNorm([$0[0], $0[1]], maxNorm: 0.5)
            return try concat([c[0].reshaped([6]), c[1]], axis: 0)
        },
        GradRow(name: "clipByGlobalNorm (not clipping)", operands: [Operand(shape: [2, 3]), Operand(shape: [4])]) {
            let (c, _) = try clipByGlobalNorm([$0[0], $0[1]], maxNorm: 100)
            return try concat([c[0].reshaped([6]), c[1]], axis: 0)
        },
        GradRow(name: "lstmCell (recurrent input wider than hidden)",
                operands: [Operand(shape: [2, 3]), Operand(shape: [2, 4]), Operand(shape: [2, 2]),
                           Operand(shape: [3, 8]), Operand(shape: [4, 8]), Operand(shape: [8])]) {
            let (h, c) = try lstmCell(x: $0[0], h: $0[1], c: $0[2], wx: $0[3], wh: $0[4], b: $0[5])
            return try concat([h, c], axis: 1)
        },
    ]

    @Test(arguments: rows)
    func firstAndSecondOrderMatchFiniteDifferences(row: GradRow) throws {
        try gradCheck(row.operands, tolerance: row.tolerance, row.f)
    }

    /// Runs `f` on the given inputs in Float64.
    static func eval(_ inputs: [(Shape, [Double])], _ f: ([Tensor]) throws -> [Tensor]) throws -> [[Double]] {
        let b = GraphBuilder(name: "value")
        let xs = try inputs.enumerated().map { try b.input("x\($0.offset)", $0.element.0) }
        for (k, y) in try f(xs).enumerated() { b.output("y\(k)", y) }
        let g = try b.finish()
        var feeds: [String: HostTensor] = [:]
        for (k, i) in inputs.enumerated() { feeds["x\(k)"] = HostTensor(shape: i.0, i.1) }
        let out = try Interpreter(precision: .float64).run(g, feeds: feeds)
        return g.outputs.map { out[$0.name]?.data ?? [] }
    }

    static func close(_ a: [Double], _ b: [Double], _ tol: Double = 1e-9) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tol }
    }

    @Test func valuesMatchHandComputations() throws {
        // sigmoid(0) = 0.5, sigmoid(±2) = 1/(1+e∓2); extreme inputs stay finite.
        let s = try Self.eval([([4], [0, 2, -2, 80])]) { [try sigmoid($0[0])] }[0]
        let e2: Double = Foundation.exp(2.0)
        let expected: [Double] = [0.5, 1 / (1 + 1 / e2), 1 / (1 + e2), 1]
        #expect(Self.close(s, expected, 1e-12))
        // Rows (3, 4) and (1, 0): norms 5 and 1; normalised rows.
        let n = try Self.eval([([2, 2], [3, 4, 1, 0])]) { [try l2Norm($0[0], axis: 1, epsilon: 0), try l2Normalize($0[0], axis: 1, epsilon: 0)] }
        #expect(Self.close(n[0], [5, 1]))
        #expect(Self.close(n[1], [0.6, 0.8, 1, 0]))
        // cos((1,0),(0,2)) = 0, cos((1,0),(3,3)) = 1/√2, cos((1,1),(3,3)) = 1, cos((1,1),(0,2)) = 1/√2.
        let c = try Self.eval([([2, 2], [1, 0, 1, 1]), ([2, 2], [0, 2, 3, 3])]) { [try cosineSimilarity($0[0], $0[1], epsilon: 0)] }[0]
        #expect(Self.close(c, [0, 0.5.squareRoot(), 0.5.squareRoot(), 1]))
    }

    /// Clipping by hand: g₁ = (3, 0), g₂ = (0, 4) have global norm 5; at c = 0.5 every entry
    /// is scaled by 0.5/5 = 0.1 (up to the 1e-6 epsilon); at c = 10 nothing changes.
    @Test func clippingMatchesAHandComputation() throws {
        let g1: [Double] = [3, 0], g2: [Double] = [0, 4]
        let clipped = try Self.eval([([2], g1), ([2], g2)]) { xs in
            let (c, norm) = try clipByGlobalNorm(xs, maxNorm: 0.5)
            return c + [norm]
        }
        let scale = 0.5 / (5 + 1e-6)
        #expect(Self.close(clipped[0], g1.map { $0 * scale }, 1e-12))
        #expect(Self.close(clipped[1], g2.map { $0 * scale }, 1e-12))
        #expect(Self.close(clipped[2], [(25 + 1e-12).squareRoot()], 1e-12))
        let kept = try Self.eval([([2], g1), ([2], g2)]) { try clipByGlobalNorm($0, maxNorm: 10).clipped }
        #expect(Self.close(kept[0], g1) && Self.close(kept[1], g2))
        #expect(throws: DSLError.self) { _ = try Self.eval([([2], g1)]) { try clipByGlobalNorm($0, maxNorm: 0).clipped } }
    }
}
