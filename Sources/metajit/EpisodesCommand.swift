import ArgumentParser
import EpisodeData
import Foundation

/// `metajit episodes`: writes a fixed episode manifest (JSON, `docs/manifest-format.md`) for
/// `metajit eval --manifest`, either of ordinary random N-way episodes or, with
/// `--within-alphabet`, of Lake et al.'s harder protocol (all N classes of an episode from
/// one alphabet, support and query images from different drawers).
struct EpisodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "episodes",
        abstract: "Write a fixed episode manifest (JSON) for `metajit eval --manifest`.",
        discussion: """
            With --within-alphabet every episode draws its classes from one alphabet (alphabets with fewer \
            characters than --ways are skipped) and its support and query images from different drawers. \
            Episodes are a pure function of --seed.
            """)

    @Flag(name: .customLong("within-alphabet"),
          help: "Draw each episode's classes from one alphabet; support and query from different drawers.")
    var withinAlphabet = false
    @Option(help: "Classes per episode.") var ways: Int = 20
    @Option(help: "Support examples per class.") var shots: Int = 1
    @Option(help: "Query examples per class.") var queries: Int = 1
    @Option(help: "Number of episodes.") var episodes: Int = 600
    @Option(help: "Comma-separated alphabets or a split file (default: the held-out Latin,Tagalog).") var split: String?
    @Option(help: "Omniglot zips or folder (default: the bundled data/omniglot).") var data: String?
    @Option(help: "Seed of the episodes.") var seed: UInt64 = 42
    @Option(help: "Manifest file to write.") var out: String

    func validate() throws {
        for (flag, value) in [("--ways", ways), ("--shots", shots), ("--queries", queries), ("--episodes", episodes)] {
            try FlagCheck.atLeast(1, value, flag)
        }
    }

    func run() throws {
        let alphabets = try split.map(DataLocator.split) ?? OmniglotSplit.metaTest
        guard !alphabets.isEmpty else { throw ValidationError("--split names no alphabets") }
        let path = try DataLocator.omniglot(data)
        let dataset = try OmniglotDataset.load(path: path, alphabets: alphabets, rotations: [0])
        let config = EpisodeConfig(ways: ways, shots: shots, queries: queries, metaBatchSize: 1)
        let manifest: EpisodeManifest
        if withinAlphabet {
            let sampler = try WithinAlphabetSampler(dataset: dataset, config: config, seed: seed)
            for s in sampler.skippedAlphabets {
                log("skipping \(s.name): \(s.characters) characters, fewer than \(ways)")
            }
            manifest = try sampler.manifest(count: episodes)
            log("\(episodes) within-alphabet \(ways)-way \(shots)-shot \(queries)-query episodes from "
                + sampler.eligibleAlphabets.joined(separator: ", "))
        } else {
            let sampler = try EpisodeSampler(dataset: dataset, config: config, seed: seed)
            manifest = try sampler.manifest(episodes: 0..<episodes, datasetName: "omniglot")
            log("\(episodes) \(ways)-way \(shots)-shot \(queries)-query episodes from \(dataset.alphabets.joined(separator: ", "))")
        }
        try manifest.write(to: out)
        print("wrote \(out)")
    }
}
