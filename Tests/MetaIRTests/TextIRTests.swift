import Graphs
import MetaIR
import TestSupport
import Testing

@Suite struct TextIRTests {
    @Test(arguments: GraphCatalog.all.map(\.name))
    func everyCatalogGraphRoundTrips(name: String) throws {
        // The meta-step graphs unroll every task; two tasks keep the test fast.
        let config = name.hasPrefix("maml") ? GraphConfig(["tasks": 2]) : GraphConfig()
        let g = try GraphCatalog.named(name).build(config).graph
        let text = Printer.print(g)
        let back = try Parser.parse(text)
        #expect(back == g)
        #expect(Printer.print(back) == text)
    }

    @Test func goldenMLP() throws {
        try expectGolden(Printer.print(try GraphCatalog.named("mlp").build().graph), "mlp.mjir")
    }

    @Test func goldenConv4() throws {
        try expectGolden(Printer.print(try GraphCatalog.named("conv4").build().graph), "conv4.mjir")
    }

    @Test func handWrittenIRWithEveryAttributeForm() throws {
        let text = """
            // comments and blank lines are allowed
            graph "hand \\"written\\"" {
              %10: f32[2,3] = input "x"
              %11: i32[2] = input "labels"

              %12: f32[] = constant -inf
              %13: f32[] = constant 1e-05
              %14: f32[2,3] = broadcast %15
            }
            """
        // %15 is undefined above: a parse error, fixed below.
        #expect(throws: ParseError.self) { try Parser.parse(text) }
        let good = """
            graph "hand \\"written\\"" {
              %10: f32[2,3] = input "x"
              %11: i32[2] = input "labels"
              %12: f32[] = constant -inf
              %13: f32[] = constant 1e-05
              %14: f32[1,1] = reshape %13
              %15: f32[2,3] = broadcast %14
              %16: f32[2,3] = max %10, %15
              %17: f32[2,1] = reduce_sum %16 axes=[1] keep_dims=true
              %18: i32[2] = argmax %10 axis=1
              %19: bool[2] = eq %18, %11
              %20: f32[3,2] = permute %10 perm=[1,0]
              %21: f32[2,2] = slice %10 start=[0,1] end=[2,3]
              %22: f32[4,5] = pad %10 low=[1,1] high=[1,1]
              %23: f32[2,5] = concat %10, %21 axis=1
              %24: f32[2,4] = one_hot %11 depth=4
              %25: f32[2] = cast %19
              %26: i32[2,3] = iota axis=1
              %27: f32[2,3] = stop_gradient %10
              %28: f32[2,3] = random_uniform %26, %26
              output "sum" = %17
              output "acc" = %25
            }
            """
        let g = try Parser.parse(good)
        #expect(g.name == "hand \"written\"")
        #expect(g.nodes.count == 19)
        #expect(g.outputs == [GraphOutput(name: "sum", node: 7), GraphOutput(name: "acc", node: 15)])
        #expect(try Parser.parse(Printer.print(g)) == g)
        // NaN constants compare unequal by value but print identically.
        let nan = try Parser.parse("graph \"n\" {\n  %0: f32[] = constant nan\n  %1: f32[] = constant -inf\n}\n")
        #expect(Printer.print(nan) == "graph \"n\" {\n  %0: f32[] = constant nan\n  %1: f32[] = constant -inf\n}\n")
    }

    @Test func convolutionFormsRoundTrip() throws {
        let text = """
            graph "conv" {
              %0: f32[2,3,9,9] = input "x"
              %1: f32[4,3,3,3] = param "w"
              %2: f32[2,4,5,5] = conv2d %0, %1 stride=2 padding=1
              %3: f32[2,3,9,9] = conv2d_input_grad %2, %1 stride=2 padding=1
              %4: f32[4,3,3,3] = conv2d_filter_grad %0, %2 stride=2 padding=1
              output "dx" = %3
              output "dw" = %4
            }
            """
        let g = try Parser.parse(text)
        #expect(Printer.print(g) == text + "\n")
    }

    @Test func dotOutputNamesEveryNodeAndEdge() throws {
        let g = try GraphCatalog.named("mlp").build().graph
        let dot = DotPrinter.print(g)
        #expect(dot.hasPrefix("digraph \"mlp\" {"))
        #expect(dot.contains("n8 [shape=box, label=\"%8 matmul\\nf32[10,40]\"]"))
        #expect(dot.contains("n6 -> n8;"))
        #expect(dot.contains("out0 [shape=doubleoctagon, label=\"loss\"]"))
    }
}
