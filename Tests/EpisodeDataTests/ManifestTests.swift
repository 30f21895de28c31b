import EpisodeData
import Foundation
import Testing

@Suite("Episode manifests")
struct ManifestTests {
    static func dataset() throws -> OmniglotDataset {
        try OmniglotDataset(store: Support.store.get(), alphabets: OmniglotSplit.metaTest, rotations: [0, 90])
    }

    @Test("write then read back yields identical episodes and batches", .enabled(if: Support.hasOmniglot))
    func roundTrip() throws {
        let data = try Self.dataset()
        let config = EpisodeConfig(ways: 5, shots: 2, queries: 3, metaBatchSize: 4)
        let sampler = try EpisodeSampler(dataset: data, config: config, seed: 77)
        let manifest = try sampler.manifest(episodes: 0..<10, datasetName: "omniglot-small")
        let dir = try Support.tempDir()
        defer { Support.remove(dir) }
        let path = dir + "/episodes.json"
        try manifest.write(to: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("\"format\" : \"metajit-episodes\""))
        #expect(text.contains("/character"))

        let read = try EpisodeManifest.read(path: path)
        #expect(read == manifest)
        let replay = try EpisodeSampler(dataset: data, manifestPath: path, metaBatchSize: 4)
        #expect(replay.metaBatchCount == 3)
        for i in 0..<10 { #expect(try replay.episode(at: i) == sampler.episode(at: i)) }
        #expect(try replay.metaBatch(at: 1) == sampler.metaBatch(at: 1))
        let last = try replay.metaBatch(at: 2)
        #expect(last.batchSize == 2 && last.supportXShape == [2, 10, 1, 28, 28])
        // A loader over a manifest stops after the last batch.
        let loader = try replay.makeLoader(threads: 2)
        var count = 0
        while try loader.next() != nil { count += 1 }
        #expect(count == 3)
        // Items may be listed in any order: shuffled items resolve to the same class-major episode.
        var shuffled = manifest
        shuffled.episodes[0].support.reverse()
        shuffled.episodes[0].query.reverse()
        let resolved = try shuffled.resolve(in: data, path: "shuffled.json")
        #expect(resolved[0].classes == (try sampler.episode(at: 0)).classes)
        #expect(Set(resolved[0].support) == Set((try sampler.episode(at: 0)).support))
        #expect(resolved[0].support.map(\.label) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    }

    @Test("malformed manifests name the file and the offending episode/item", .enabled(if: Support.hasOmniglot))
    func malformed() throws {
        let data = try Self.dataset()
        let sampler = try EpisodeSampler(dataset: data, config: EpisodeConfig(ways: 3, shots: 1, queries: 2, metaBatchSize: 2), seed: 1)
        let good = try sampler.manifest(episodes: 0..<3)

        func expectBad(_ manifest: EpisodeManifest, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
            let error = Support.expectDataError(.invalidManifest, sourceLocation: sourceLocation) {
                _ = try EpisodeSampler(dataset: data, manifest: manifest, metaBatchSize: 2, path: "bad.json")
            }
            #expect(error?.path == "bad.json", sourceLocation: sourceLocation)
            #expect(error?.detail.contains(fragment) == true, "\(String(describing: error))", sourceLocation: sourceLocation)
        }
        var m = good
        m.episodes[1].support[2].path = "Latin/character99/0000_00.png"
        expectBad(m, "episode 1: support item 2")
        m = good
        m.episodes[2].query[1].label = 7
        expectBad(m, "episode 2: query item 1")
        m = good
        m.episodes[0].query[0].rotation = 270
        expectBad(m, "episode 0: query item 0")
        m = good
        m.episodes[1].query.removeLast()
        expectBad(m, "episode 1: has 5 query items")
        m = good
        m.episodes[0].query[0] = m.episodes[0].support[0]
        expectBad(m, "episode 0: query item 0")
        m = good
        m.episodes[0].support[1].label = 0
        expectBad(m, "episode 0")
        m = good
        m.episodes = []
        expectBad(m, "no episodes")

        let dir = try Support.tempDir()
        defer { Support.remove(dir) }
        let cases: [(String, String)] = [
            ("{ not json", "not valid JSON"),
            (#"{"format": "metajit-episodes", "version": 1, "ways": 1, "shots": 1, "queries": 0, "episodes": [{"support": [{"path": "Latin/character01/0101_01.png"}], "query": []}]}"#,
             "episodes[0].support[0].label"),
            (#"{"format": "other", "version": 1, "ways": 1, "shots": 1, "queries": 0, "episodes": []}"#, "format"),
            (#"{"format": "metajit-episodes", "version": 2, "ways": 1, "shots": 1, "queries": 0, "episodes": []}"#, "version"),
            (#"{"format": "metajit-episodes", "version": 1, "ways": "five", "shots": 1, "queries": 0, "episodes": []}"#, "ways"),
        ]
        for (i, (json, fragment)) in cases.enumerated() {
            let path = dir + "/bad\(i).json"
            try Support.write(Array(json.utf8), to: path)
            let error = Support.expectDataError(.invalidManifest) { _ = try EpisodeManifest.read(path: path) }
            #expect(error?.path == path)
            #expect(error?.detail.contains(fragment) == true, "\(String(describing: error))")
        }
        Support.expectDataError(.missingFile) { _ = try EpisodeManifest.read(path: dir + "/absent.json") }
    }
}
