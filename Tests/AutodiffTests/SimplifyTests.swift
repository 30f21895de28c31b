import Autodiff
import GraphDSL
import Graphs
import Interpreter
import MetaIR
import Passes
import TestSupport
import Testing

@Suite struct SimplifyTests {
    @Test func identitiesFoldingCSEAndDCE() throws {
        let b = GraphBuilder(name: "s")
        let x = try b.input("x", [2])
        let one = b.constant(1, [2]), zero = b.constant(0, [2])
        let a = try (x * one + zero) - b.constant(0, [2])       // → x
        let folded = try (b.constant(2, [2]) * b.constant(3, [2])) // → constant 6
        let dup1 = try exp(a), dup2 = try exp(a)                  // CSE → one exp
        _ = try tanh(x)                                            // dead
        b.output("y", try dup1 + dup2 + folded + x * zero)
        let g = try b.finish()
        let s = Simplify().run(g)
        try Verifier.verify(s)
        #expect(Printer.print(s) == """
            graph "s" {
              %0: f32[2] = input "x"
              %1: f32[2] = constant 6.0
              %2: f32[2] = exp %0
              %3: f32[2] = add %2, %2
              %4: f32[2] = add %3, %1
              output "y" = %4
            }

            """)
        let feeds = ["x": HostTensor(shape: [2], [0.5, -1])]
        #expect(try Interpreter().run(g, feeds: feeds) == Interpreter().run(s, feeds: feeds))
    }

    @Test(arguments: GraphCatalog.all.filter { !$0.name.hasPrefix("maml") }.map(\.name))
    func simplifiedGradientGraphsComputeTheSame(name: String) throws {
        let config = name == "conv4" ? GraphConfig(["width": 4]) : GraphConfig()
        let g = try Autodiff.gradientGraph(try GraphCatalog.named(name).build(config).graph)
        let s = try Pipeline.standard().run(g)
        #expect(s.nodes.count < g.nodes.count)
        let feeds = RandomFeeds.make(for: g, seed: 2)
        let a = try Interpreter(precision: .float64).run(g, feeds: feeds)
        let b = try Interpreter(precision: .float64).run(s, feeds: feeds)
        for (k, v) in a { #expect(close(v.data, b[k]?.data ?? [], tol: 1e-9), "\(name) \(k) differs") }
    }

    @Test func gradStageGoldenForMLP() throws {
        let g = try Autodiff.gradientGraph(try GraphCatalog.named("mlp").build().graph, wrt: ["w3", "b3"])
        let s = try Pipeline.standard().run(g)
        try expectGolden(Printer.print(s), "mlp.grad.mjir")
    }
}

func close(_ a: [Double], _ b: [Double], tol: Double) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tol * max(1, abs($0), abs($1)) || ($0.isNaN && $1.isNaN) }
}
