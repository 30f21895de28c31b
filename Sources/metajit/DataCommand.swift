import ArgumentParser
import EpisodeData
import Foundation

/// `metajit data`: what a data set holds and, with `--bench`, how fast the loader serves it.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Describe a data set (Omniglot zips/folders or IDX files); --verify decodes every image, --bench measures the loader.")

    @Argument(help: "Omniglot zip, folder of zips, extracted folder, or IDX folder/file.")
    var path: String

    @Flag(help: "Measure episodes/s of the streaming loader (Omniglot).")
    var bench = false

    @Flag(help: "Decode every image (Omniglot), list each bad file, exit non-zero if any.")
    var verify = false

    @Option(help: "Classes per episode.") var ways = 5
    @Option(help: "Support examples per class.") var shots = 1
    @Option(help: "Query examples per class.") var queries = 15
    @Option(name: .customLong("meta-batch"), help: "Episodes per meta-batch.") var metaBatch = 32
    @Option(help: "Loader threads.") var threads = 2
    @Option(help: "Seconds to measure.") var seconds = 3.0
    @Option(help: "Comma-separated alphabets to load (default: all).") var alphabets: String?
    @Flag(help: "Augment classes with 90/180/270° rotations.") var rotate = false

    func validate() throws {
        for (flag, value) in [("--ways", ways), ("--shots", shots), ("--meta-batch", metaBatch), ("--threads", threads)] {
            try FlagCheck.atLeast(1, value, flag)
        }
        try FlagCheck.atLeast(0, queries, "--queries")  // support-only episodes are fine for timing
        try FlagCheck.finiteRate(seconds, "--seconds")
    }

    func run() throws {
        let summary = try describeDataset(at: path)
        print(summary)
        if verify {
            guard summary.kind == .omniglot else {
                throw ValidationError("--verify needs an Omniglot data set")
            }
            let report = try OmniglotCatalog(path: path).verify(threads: threads)
            print(report)
            // A bad file would otherwise surface only when training first decodes it.
            guard report.isValid else { throw ExitCode.failure }
        }
        guard bench else { return }
        guard summary.kind == .omniglot else {
            throw ValidationError("--bench needs an Omniglot data set")
        }
        let names = alphabets?.split(separator: ",").map(String.init)
        let config = EpisodeConfig(ways: ways, shots: shots, queries: queries, metaBatchSize: metaBatch)
        let r = try benchmarkLoader(omniglotPath: path, alphabets: names, rotations: rotate ? [0, 90, 180, 270] : [0],
                                    config: config, threads: threads, seconds: seconds)
        print(r)
    }
}
