import ArgumentParser
import Graphs

/// `metajit list`: the named graphs and their options.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the named graphs.")

    @Flag(help: "Also show each graph's options and defaults.")
    var verbose = false

    func run() throws {
        let width = GraphCatalog.all.map(\.name.count).max() ?? 0
        for d in GraphCatalog.all {
            print(d.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + d.summary)
            if verbose {
                for o in d.options { print("    -D \(o.name)=\(formatOption(o.defaultValue))  \(o.help)") }
            }
        }
    }
}

func formatOption(_ v: Double) -> String {
    v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
}
