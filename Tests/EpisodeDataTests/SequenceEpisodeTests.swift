import EpisodeData
import Testing

/// Sequence episodes (Santoro et al.'s delayed labels, SNAIL's support-then-query): seeded,
/// labels shown one step late, one-hot and 25-d string encodings, bad configurations.
@Suite struct SequenceEpisodeTests {
    static let data = SizedDataset(sizes: Array(repeating: 12, count: 10))

    @Test func delayedOneHotEpisodesShowEachLabelOneStepLate() throws {
        let config = SequenceEpisodeConfig(ways: 3, samplesPerClass: 4, batchSize: 2)
        let sampler = try SequenceEpisodeSampler(dataset: Self.data, config: config, seed: 5)
        let a = try sampler.batch(at: 1), b = try sampler.batch(at: 1)
        #expect(a == b)
        #expect(try sampler.batch(at: 2) != a)
        let t = config.length, w = config.labelWidth
        #expect(t == 12 && w == 3 && a.targets.count == 2 * t)
        for e in 0..<2 {
            var datasetClassOf: [Int: Int] = [:]
            var counts = [0, 0, 0]
            for s in 0..<t {
                let row = e * t + s, label = a.classes[row]
                #expect(Int(a.targets[row]) == label)
                counts[label] += 1
                #expect(a.instances[row] == counts[label])
                // Every step of a label shows images of one dataset class.
                let cls = Int(a.images[row * 4]) / 1000
                #expect(datasetClassOf[label, default: cls] == cls)
                datasetClassOf[label] = cls
                let shown = Array(a.labelInputs[(row * w)..<(row * w + w)])
                let expected: [Float] = s == 0 ? [0, 0, 0] : (0..<3).map { $0 == a.classes[row - 1] ? 1 : 0 }
                #expect(shown == expected)
            }
            #expect(counts == [4, 4, 4])
            #expect(Set(datasetClassOf.values).count == 3)
        }
    }

    @Test func stringLabelsAreDistinctFiveCharacterCodes() throws {
        let config = SequenceEpisodeConfig(ways: 5, samplesPerClass: 2, batchSize: 1, encoding: .strings)
        let a = try SequenceEpisodeSampler(dataset: Self.data, config: config, seed: 9).batch(at: 0)
        #expect(config.labelWidth == 25 && config.labelGroups == 5)
        var codeOf: [Int: [Int32]] = [:]
        for s in 0..<config.length {
            let code = Array(a.targets[(s * 5)..<(s * 5 + 5)])
            #expect(code.allSatisfy { (0..<5).contains($0) })
            #expect(codeOf[a.classes[s], default: code] == code)
            codeOf[a.classes[s]] = code
            if s + 1 < config.length {
                let shown = Array(a.labelInputs[((s + 1) * 25)..<((s + 1) * 25 + 25)])
                let expected: [Float] = (0..<25).map { code[$0 / 5] == Int32($0 % 5) ? 1 : 0 }
                #expect(shown == expected)
            }
        }
        #expect(Set(codeOf.values).count == 5)
    }

    @Test func supportThenQueryEndsWithAnUnlabelledQuery() throws {
        let config = SequenceEpisodeConfig(ways: 4, samplesPerClass: 1, batchSize: 3, layout: .supportThenQuery)
        let a = try SequenceEpisodeSampler(dataset: Self.data, config: config, seed: 2).batch(at: 0)
        let t = config.length, w = config.labelWidth
        #expect(t == 5)
        for e in 0..<3 {
            #expect(Set((0..<4).map { a.classes[e * t + $0] }) == Set(0..<4))
            for s in 0..<4 {
                let row = e * t + s
                #expect(a.labelInputs[row * w + a.classes[row]] == 1)
            }
            let q = e * t + 4
            #expect(a.labelInputs[(q * w)..<(q * w + w)].allSatisfy { $0 == 0 })
            #expect(a.instances[q] == 2)
        }
    }

    @Test func badConfigurationsAreRejected() throws {
        #expect(throws: DataError.self) { _ = try SequenceEpisodeSampler(dataset: Self.data, config: .init(ways: 11, samplesPerClass: 1, batchSize: 1), seed: 0) }
        #expect(throws: DataError.self) { _ = try SequenceEpisodeSampler(dataset: Self.data, config: .init(ways: 2, samplesPerClass: 13, batchSize: 1), seed: 0) }
        #expect(throws: DataError.self) { _ = try SequenceEpisodeSampler(dataset: Self.data, config: .init(ways: 2, samplesPerClass: 0, batchSize: 1), seed: 0) }
        let sampler = try SequenceEpisodeSampler(dataset: Self.data, config: .init(ways: 2, samplesPerClass: 2, batchSize: 1), seed: 0)
        #expect(throws: DataError.self) { _ = try sampler.batch(at: -1) }
    }

    @Test func perInstanceAccuracyTalliesByPresentation() {
        var acc = PerInstanceAccuracy()
        acc.add(correct: [0, 1, 1, 0], instances: [1, 1, 2, 2])
        #expect(acc.accuracy(instance: 1) == 0.5 && acc.accuracy(instance: 2) == 0.5 && acc.accuracy(instance: 3) == nil)
    }

    /// The streaming loader yields the sampler's batches in order, whatever its thread count.
    @Test func streamingLoaderYieldsTheSamplersBatches() throws {
        let sampler = try SequenceEpisodeSampler(dataset: Self.data, config: .init(ways: 2, samplesPerClass: 3, batchSize: 2), seed: 4)
        let loader = try sampler.makeLoader(threads: 2, capacity: 2, count: 3, start: 1)
        var got: [SequenceBatch] = []
        while let batch = try loader.next() { got.append(batch) }
        #expect(got.map(\.index) == [1, 2, 3])
        #expect(try got == [1, 2, 3].map { try sampler.batch(at: $0) })
    }
}
