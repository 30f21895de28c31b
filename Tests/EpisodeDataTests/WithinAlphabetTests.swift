import EpisodeData
import Foundation
import Testing

/// Within-alphabet episodes (Lake et al.'s harder protocol) from the bundled Latin and Tagalog.
@Suite struct WithinAlphabetTests {
    static func heldOut() throws -> OmniglotDataset {
        try OmniglotDataset(store: Support.store.get(), alphabets: OmniglotSplit.metaTest, rotations: [0])
    }

    @Test func drawerComesFromTheFileName() {
        #expect(WithinAlphabetSampler.drawer(ofFile: "0123_04.png") == "04")
        #expect(WithinAlphabetSampler.drawer(ofFile: "a_b_17.png") == "17")
        #expect(WithinAlphabetSampler.drawer(ofFile: "0123.png") == nil)
        #expect(WithinAlphabetSampler.drawer(ofFile: "0123_.png") == nil)
    }

    /// Every episode: 20 classes of one alphabet (Tagalog, 17 characters, is skipped), support
    /// and query images by different drawers, one drawer per role as in Lake et al.;
    /// reproducible from the seed and different for another seed.
    @Test(.enabled(if: Support.hasOmniglot)) func twentyWayEpisodesStayInOneAlphabet() throws {
        let data = try Self.heldOut()
        let config = EpisodeConfig(ways: 20, shots: 1, queries: 1, metaBatchSize: 1)
        let sampler = try WithinAlphabetSampler(dataset: data, config: config, seed: 7)
        #expect(sampler.eligibleAlphabets == ["Latin"])
        #expect(sampler.skippedAlphabets.map(\.name) == ["Tagalog"] && sampler.skippedAlphabets.map(\.characters) == [17])
        for index in 0..<50 {
            let episode = try sampler.episode(at: index)
            #expect(Set(episode.classes).count == 20)
            #expect(Set(episode.classes.map { data.record(ofClass: $0).alphabet }) == ["Latin"])
            let supportDrawers = Set(episode.support.compactMap { sampler.drawer(classIndex: $0.classIndex, imageIndex: $0.imageIndex) })
            let queryDrawers = Set(episode.query.compactMap { sampler.drawer(classIndex: $0.classIndex, imageIndex: $0.imageIndex) })
            #expect(supportDrawers.count == 1 && queryDrawers.count == 1 && supportDrawers.isDisjoint(with: queryDrawers))
            #expect(episode.support.map(\.label) == Array(0..<20) && episode.query.map(\.label) == Array(0..<20))
            #expect(zip(episode.support, episode.query).allSatisfy { $0.classIndex == $1.classIndex })
        }
        let again = try WithinAlphabetSampler(dataset: data, config: config, seed: 7)
        #expect(try again.episode(at: 3) == sampler.episode(at: 3))
        let other = try WithinAlphabetSampler(dataset: data, config: config, seed: 8)
        #expect(try other.episode(at: 3) != sampler.episode(at: 3))
    }

    /// The manifest replays to the same episodes, and records N, K, Q, seed and alphabets.
    @Test(.enabled(if: Support.hasOmniglot)) func manifestRoundTrips() throws {
        let data = try Self.heldOut()
        let config = EpisodeConfig(ways: 5, shots: 2, queries: 3, metaBatchSize: 4)
        let sampler = try WithinAlphabetSampler(dataset: data, config: config, seed: 1)
        #expect(sampler.eligibleAlphabets == ["Latin", "Tagalog"])
        let manifest = try sampler.manifest(count: 12)
        #expect(manifest.ways == 5 && manifest.shots == 2 && manifest.queries == 3 && manifest.seed == 1)
        let decoded = try EpisodeManifest.decode(try manifest.encoded(), path: "m.json")
        let replay = try EpisodeSampler(dataset: data, manifest: decoded, metaBatchSize: 4, path: "m.json")
        for i in 0..<12 { #expect(try replay.episode(at: i) == sampler.episode(at: i)) }
        #expect(Set(decoded.alphabets).isSubset(of: ["Latin", "Tagalog"]) && decoded.rotations == [0])
    }

    @Test(.enabled(if: Support.hasOmniglot)) func noAlphabetBigEnoughIsAPlainError() throws {
        let data = try OmniglotDataset(store: Support.store.get(), alphabets: ["Tagalog"], rotations: [0])
        let config = EpisodeConfig(ways: 20, shots: 1, queries: 1, metaBatchSize: 1)
        let error = Support.expectDataError(.invalidArgument) { _ = try WithinAlphabetSampler(dataset: data, config: config, seed: 0) }
        #expect(error?.description.contains("Tagalog (17 characters)") == true)
        // More drawers than Omniglot has (20) cannot be split into support and query.
        let greedy = try WithinAlphabetSampler(dataset: data, config: EpisodeConfig(ways: 5, shots: 15, queries: 6, metaBatchSize: 1), seed: 0)
        _ = Support.expectDataError(.invalidArgument) { _ = try greedy.episode(at: 0) }
    }
}
