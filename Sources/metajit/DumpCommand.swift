import ArgumentParser
import Autodiff
import Foundation
import MetaIR
import Passes

/// `metajit dump`: print a stage of the compiler for a graph.
struct DumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump", abstract: "Print a graph at one compiler stage (text IR or Graphviz).",
        discussion: """
            Stages: graph (as traced), grad (graph + gradient outputs grad.<param> of output "loss", \
            simplified), opt (after the graph-level pass pipeline).
            """)

    enum Stage: String, ExpressibleByArgument, CaseIterable {
        case graph, grad, opt
    }

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, dot
    }

    @OptionGroup var source: GraphOptions

    @Option(help: "Stage to show: \(Stage.allCases.map(\.rawValue).joined(separator: ", ")).")
    var stage: Stage = .graph

    @Option(help: "Output format: text (the .mjir text IR) or dot (Graphviz).")
    var format: Format = .text

    @Option(help: "For --stage grad: comma-separated parameter names to differentiate with respect to (default: all).")
    var wrt: String?

    @Option(help: "For --stage grad: the output to differentiate.")
    var loss: String = "loss"

    @Flag(help: "For --stage grad: show the gradient graph before simplification.")
    var noSimplify = false

    @Flag(help: "Print node counts (before/after simplification) to stderr.")
    var stats = false

    func run() throws {
        let g = try stageGraph(try source.load().graph)
        switch format {
        case .text: print(Printer.print(g), terminator: "")
        case .dot: print(DotPrinter.print(g), terminator: "")
        }
    }

    func stageGraph(_ traced: Graph) throws -> Graph {
        switch stage {
        case .graph:
            report("traced", traced)
            return traced
        case .grad:
            let names = wrt?.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            let raw = try Autodiff.gradientGraph(traced, of: loss, wrt: names)
            report("grad", raw)
            if noSimplify { return raw }
            let simplified = try Pipeline(passes: [Simplify()]).run(raw)
            report("grad+simplify", simplified)
            return simplified
        case .opt:
            report("traced", traced)
            let opt = try Pipeline.standard().run(traced)
            report("opt", opt)
            return opt
        }
    }

    func report(_ label: String, _ g: Graph) {
        guard stats else { return }
        FileHandle.standardError.write(Data("\(label): \(g.nodes.count) nodes\n".utf8))
    }
}
