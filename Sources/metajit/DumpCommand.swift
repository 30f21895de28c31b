import ArgumentParser
import MetaIR

/// `metajit dump`: print a stage of the compiler for a graph.
struct DumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump", abstract: "Print a graph at one compiler stage (text IR or Graphviz).")

    enum Stage: String, ExpressibleByArgument, CaseIterable {
        case graph
    }

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, dot
    }

    @OptionGroup var source: GraphOptions

    @Option(help: "Stage to show: \(Stage.allCases.map(\.rawValue).joined(separator: ", ")).")
    var stage: Stage = .graph

    @Option(help: "Output format: text (the .mjir text IR) or dot (Graphviz).")
    var format: Format = .text

    func run() throws {
        let loaded = try source.load()
        let g: Graph
        switch stage {
        case .graph: g = loaded.graph
        }
        switch format {
        case .text: print(Printer.print(g), terminator: "")
        case .dot: print(DotPrinter.print(g), terminator: "")
        }
    }
}
