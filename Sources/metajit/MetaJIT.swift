import ArgumentParser

/// The `metajit` command-line tool.
@main
struct MetaJIT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metajit",
        abstract: "MetaJIT: a meta-learning graph compiler.",
        discussion: """
            Graphs are named definitions from Graphs/ (see `metajit list`) or text IR files (*.mjir).
            """,
        subcommands: [ListCommand.self, DumpCommand.self, RunCommand.self, DataCommand.self, TrainCommand.self, EvalCommand.self])
}

/// Options shared by commands that load a graph.
struct GraphOptions: ParsableArguments {
    @Argument(help: "A graph name from `metajit list`, or a .mjir text IR file.")
    var graph: String

    @Option(name: [.customShort("D"), .customLong("set")],
            help: "Graph option as key=value (repeatable), e.g. -D ways=20.")
    var settings: [String] = []

    func load() throws -> LoadedGraph {
        try LoadedGraph.load(graph, settings: settings)
    }
}
