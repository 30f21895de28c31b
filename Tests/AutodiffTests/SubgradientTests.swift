import Autodiff
import GraphDSL
import Interpreter
import MetaIR
import Testing

/// Which subgradient the non-smooth ops take, and what `stopGradient` does.
@Suite struct SubgradientTests {
    func gradient(_ shape: Shape, _ values: [Double], _ f: (Tensor) throws -> Tensor) throws -> [Double] {
        let b = GraphBuilder(name: "sub")
        let x = try b.input("x", shape)
        let l = try f(x).sum()
        b.output("g", try Autodiff.grad(of: l, wrt: [x])[0])
        let out = try Interpreter(precision: .float64).run(try b.finish(), feeds: ["x": HostTensor(shape: shape, values)])
        return try #require(out["g"]).data
    }

    @Test func reluTakesZeroAtZero() throws {
        #expect(try gradient([3], [-1, 0, 2]) { try relu($0) } == [0, 0, 1])
    }

    @Test func maxAndMinGiveTiesToTheFirstOperand() throws {
        let b = GraphBuilder(name: "ties")
        let x = try b.input("x", [2]), y = try b.input("y", [2])
        let l = try (maximum(x, y) + minimum(x, y) * 10).sum()
        let g = try Autodiff.grad(of: l, wrt: [x, y])
        b.output("gx", g[0])
        b.output("gy", g[1])
        let out = try Interpreter().run(try b.finish(), feeds: ["x": HostTensor(shape: [2], [1, 3]), "y": HostTensor(shape: [2], [1, 2])])
        #expect(try #require(out["gx"]).data == [11, 1])  // tie at index 0: both max and min pick x
        #expect(try #require(out["gy"]).data == [0, 10])
    }

    @Test func reduceMaxSplitsTiesEqually() throws {
        #expect(try gradient([4], [1, 3, 3, 2]) { try $0.max(axes: [0]) } == [0, 0.5, 0.5, 0])
    }

    @Test func maxPoolAfterReluSplitsAllZeroWindow() throws {
        // A 2x2 window of zeros (all ReLU'd away) shares the cotangent four ways; a window with
        // one maximum routes it there.
        let g = try gradient([1, 1, 2, 4], [0, 0, 5, 1, 0, 0, 2, 3]) { try maxPool2x2($0) }
        #expect(g == [0.25, 0.25, 1, 0, 0.25, 0.25, 0, 0])
    }

    @Test func stopGradientBlocks() throws {
        // d/dx [x · stop(x)] = stop(x) = x, not 2x.
        #expect(try gradient([2], [3, -1]) { try $0 * $0.stopGradient() } == [3, -1])
    }

    @Test func lossMustBeScalarAndTargetsFloat() throws {
        let b = GraphBuilder(name: "bad")
        let x = try b.input("x", [2])
        let i = try b.input("i", [2], dtype: .i32)
        #expect(throws: AutodiffError.self) { try Autodiff.grad(of: x, wrt: [x]) }
        #expect(throws: AutodiffError.self) { try Autodiff.grad(of: x.sum(), wrt: [i]) }
    }

    @Test func unusedParameterGetsZeros() throws {
        let b = GraphBuilder(name: "z")
        let x = try b.input("x", [2]), w = try b.parameter("w", [3])
        let g = try Autodiff.grad(of: x.sum(), wrt: [w])
        b.output("g", g[0])
        let out = try Interpreter().run(try b.finish(), feeds: ["x": HostTensor(shape: [2], [1, 2]), "w": HostTensor(shape: [3], [1, 2, 3])])
        #expect(try #require(out["g"]).data == [0, 0, 0])
    }
}
