import ArgumentParser

/// The `metajit` command-line tool.
@main
struct MetaJIT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metajit",
        abstract: "MetaJIT: a meta-learning graph compiler.",
        discussion: """
            Graphs are named definitions from Graphs/ (see `metajit list`) or text IR files (*.mjir).
            Every command takes --log-level trace|debug|info|notice|warning|error|critical (default info, \
            or $METAJIT_LOG_LEVEL); debug adds each compile's stage timings.
            """,
        subcommands: [ListCommand.self, DumpCommand.self, RunCommand.self, DataCommand.self, TrainCommand.self, EvalCommand.self, EpisodesCommand.self, TextEpisodesCommand.self, PlotCommand.self, BenchCommand.self])

    /// Accepts compiler-style `-O0`/`-O3` by rewriting them to `--opt-level N`, and
    /// `--log-level` anywhere, before parsing.
    static func main() {
        let args = CommandLine.arguments.dropFirst().flatMap { a -> [String] in
            if a.count == 3, a.hasPrefix("-O"), let n = Int(a.dropFirst(2)) { return ["--opt-level", "\(n)"] }
            return [a]
        }
        do {
            main(try LogSetup.bootstrap(args))
        } catch {
            exit(withError: error)
        }
    }
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
