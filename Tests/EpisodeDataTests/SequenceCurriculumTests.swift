import EpisodeData
import Testing

/// The class curriculum of sequence episodes: fewer distinct classes in the easy stages, the
/// same shapes throughout, and the full task unchanged after the stages.
@Suite struct SequenceCurriculumTests {
    static let data = SizedDataset(sizes: Array(repeating: 12, count: 30))
    static let snail20 = SequenceEpisodeConfig(ways: 20, samplesPerClass: 1, batchSize: 4, layout: .supportThenQuery)

    /// A 5-class stage of a 20-way 1-shot SNAIL episode: 21 steps, 4 supports of each of 5
    /// classes with distinct random label slots among the 20, and a query of one of them.
    @Test func stageShowsFewerClassesInTheSameShape() throws {
        let stages = [SequenceCurriculumStage(classes: 5, batches: 3), SequenceCurriculumStage(classes: 10, batches: 2)]
        let sampler = try SequenceEpisodeSampler(dataset: Self.data, config: Self.snail20, seed: 7, curriculum: stages)
        #expect([0, 2, 3, 4, 5, 100].map { sampler.classes(atBatch: $0) } == [5, 5, 10, 10, 20, 20])
        var slotsSeen = Set<Int>()
        for (index, present) in [(0, 5), (4, 10)] {
            let b = try sampler.batch(at: index)
            let t = Self.snail20.length
            #expect(t == 21 && b.targets.count == 4 * t && b.labelInputs.count == 4 * t * 20)
            for e in 0..<4 {
                let rows = (e * t)..<(e * t + t)
                let supportLabels = rows.dropLast().map { Int(b.targets[$0]) }
                var perLabel: [Int: Int] = [:]
                for l in supportLabels { perLabel[l, default: 0] += 1 }
                #expect(perLabel.count == present, "batch \(index): \(perLabel.count) classes")
                #expect(perLabel.values.allSatisfy { $0 == 20 / present })
                slotsSeen.formUnion(perLabel.keys)
                // Each label slot is one dataset class (images of class c hold c·1000 + i).
                var classOf: [Int: Int] = [:]
                for r in rows.dropLast() {
                    let cls = Int(b.images[r * 4]) / 1000
                    #expect(classOf[Int(b.targets[r]), default: cls] == cls)
                    classOf[Int(b.targets[r])] = cls
                }
                let q = rows.upperBound - 1
                #expect(perLabel[Int(b.targets[q])] != nil, "the query's class is one of the episode's")
                #expect(b.labelInputs[(q * 20)..<(q * 20 + 20)].allSatisfy { $0 == 0 })
            }
        }
        #expect(slotsSeen.count > 5, "label slots are drawn from all 20, not the first few")
    }

    /// After the stages, batch i is exactly the batch i of a sampler without a curriculum.
    @Test func fullTaskAfterTheStagesIsUnchanged() throws {
        let plain = try SequenceEpisodeSampler(dataset: Self.data, config: Self.snail20, seed: 3)
        let staged = try SequenceEpisodeSampler(dataset: Self.data, config: Self.snail20, seed: 3,
                                                curriculum: [SequenceCurriculumStage(classes: 4, batches: 2)])
        #expect(try plain.batch(at: 2) == staged.batch(at: 2))
        #expect(try plain.batch(at: 1) != staged.batch(at: 1))
        // Uneven shares: 20 steps over 3 classes are 7, 7, 6 (delayed layout, MANN-style).
        let mann = SequenceEpisodeConfig(ways: 5, samplesPerClass: 4, batchSize: 1)
        let b = try SequenceEpisodeSampler(dataset: Self.data, config: mann, seed: 1,
                                           curriculum: [SequenceCurriculumStage(classes: 3, batches: 1)]).batch(at: 0)
        var counts: [Int: Int] = [:]
        for l in b.targets { counts[Int(l), default: 0] += 1 }
        #expect(counts.values.sorted() == [6, 7, 7])
        #expect(b.instances.max() == 7)
    }

    @Test func badStagesAreRejectedPlainly() throws {
        #expect(try SequenceCurriculumStage.parse("5:1500,10:200") == [SequenceCurriculumStage(classes: 5, batches: 1500),
                                                                          SequenceCurriculumStage(classes: 10, batches: 200)])
        for text in ["5", "5:0", "a:3", "5:3:1", ""] {
            #expect(throws: DataError.self, "\(text)") { _ = try SequenceCurriculumStage.parse(text) }
        }
        // More classes than ways; more steps per class than a class has images (20 over 1 = 21 > 12).
        #expect(throws: DataError.self) {
            _ = try SequenceEpisodeSampler(dataset: Self.data, config: Self.snail20, seed: 0, curriculum: [.init(classes: 21, batches: 1)])
        }
        #expect(throws: DataError.self) {
            _ = try SequenceEpisodeSampler(dataset: Self.data, config: Self.snail20, seed: 0, curriculum: [.init(classes: 1, batches: 1)])
        }
    }
}
