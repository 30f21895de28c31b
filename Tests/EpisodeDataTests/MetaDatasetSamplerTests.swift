import EpisodeData
import Foundation
import Glyphs
import Testing

/// A synthetic class dataset: `sizes[c]` images per class, image `i` of class `c` filled with
/// `c * 1000 + i`.
struct SizedDataset: ClassDataset {
    let sizes: [Int]
    var numClasses: Int { sizes.count }
    var imageShape: ImageShape { ImageShape(channels: 1, height: 2, width: 2) }
    func imageCount(ofClass classIndex: Int) -> Int { sizes[classIndex] }
    func className(_ classIndex: Int) -> String { "class\(classIndex)" }
    func copyImage(classIndex: Int, imageIndex: Int, into destination: UnsafeMutablePointer<Float>) {
        for i in 0..<4 { destination[i] = Float(classIndex * 1000 + imageIndex) }
    }
}

/// The Meta-Dataset sampler's rules, checked over many episodes; padding; printed glyphs.
@Suite struct MetaDatasetSamplerTests {
    /// Three sources: a large one, one with small unequal classes, and one in groups.
    static func sources() -> [EpisodeSourceData] {
        let big = SizedDataset(sizes: (0..<80).map { 150 + $0 * 7 })
        let small = SizedDataset(sizes: (0..<12).map { 3 + $0 % 5 })
        let grouped = SizedDataset(sizes: Array(repeating: 20, count: 30))
        return [EpisodeSourceData(name: "big", dataset: big),
                EpisodeSourceData(name: "small", dataset: small),
                EpisodeSourceData(name: "grouped", dataset: grouped,
                                  groups: [Array(0..<4), Array(4..<12), Array(12..<30)])]
    }

    @Test("ways, queries, support size, shots and groups follow Meta-Dataset over 2,000 episodes")
    func rules() throws {
        let s = try MetaDatasetSampler(sources: Self.sources(), seed: 7)
        var sourcesSeen = Set<Int>(), waysSeen = Set<Int>()
        for i in 0..<2000 {
            let e = try s.episode(at: i)
            sourcesSeen.insert(e.source)
            let d = s.sources[e.source].dataset
            let sizes = e.classes.map { d.imageCount(ofClass: $0) }
            let maxWays = e.source == 2 ? (e.classes.allSatisfy { $0 >= 12 } ? 18 : 8) : min(50, d.numClasses)
            #expect(e.ways >= 5 && e.ways <= maxWays)
            #expect(Set(e.classes).count == e.ways)
            waysSeen.insert(e.ways)
            #expect(e.queriesPerClass == min(10, (sizes.min() ?? 0) / 2))
            #expect(e.query.count == e.ways * e.queriesPerClass)
            #expect(e.support.count <= 500 && e.support.count == e.shots.reduce(0, +))
            let cap = sizes.reduce(0) { $0 + min(100, $1 - e.queriesPerClass) }
            #expect(e.support.count <= cap)
            for (l, k) in e.shots.enumerated() {
                #expect(k >= 1 && k + e.queriesPerClass <= sizes[l])
                let items = e.support.filter { $0.label == l } + e.query.filter { $0.label == l }
                #expect(Set(items.map(\.imageIndex)).count == items.count)     // distinct images
                #expect(items.allSatisfy { $0.classIndex == e.classes[l] })
            }
            if e.source == 2 {  // within one group of at least 5 classes
                #expect(e.classes.allSatisfy { (4..<12).contains($0) } || e.classes.allSatisfy { (12..<30).contains($0) })
            }
        }
        #expect(sourcesSeen == [0, 1, 2])
        #expect(waysSeen.contains(5) && waysSeen.contains(50) && waysSeen.count > 30)
    }

    @Test("shots grow with class size, and the support size reaches its cap of 500")
    func shotsProportional() throws {
        let s = try MetaDatasetSampler(sources: [Self.sources()[0]], seed: 3)
        var capped = false
        var large: [Int] = [], small: [Int] = []
        for i in 0..<300 {
            let e = try s.episode(at: i)
            // Σ_c (⌊R_c·(S − N)⌋ + 1) loses under one image per class to the floors.
            capped = capped || e.support.count > 500 - e.ways
            for (l, c) in e.classes.enumerated() {
                let n = s.sources[0].dataset.imageCount(ofClass: c)
                if n >= 500 { large.append(e.shots[l]) } else if n < 300 { small.append(e.shots[l]) }
            }
        }
        #expect(capped)
        let meanLarge = Double(large.reduce(0, +)) / Double(max(large.count, 1))
        let meanSmall = Double(small.reduce(0, +)) / Double(max(small.count, 1))
        #expect(meanLarge > 1.5 * meanSmall)   // ∝ n_c·e^α: sizes differ about 2.7× on average
    }

    @Test("episodes are a pure function of the seed and the index")
    func reproducible() throws {
        let a = try MetaDatasetSampler(sources: Self.sources(), seed: 11)
        let b = try MetaDatasetSampler(sources: Self.sources(), seed: 11)
        let c = try MetaDatasetSampler(sources: Self.sources(), seed: 12)
        let order = [5, 0, 17, 3]
        #expect(try order.map { try a.episode(at: $0) } == order.map { try b.episode(at: $0) })
        #expect(try (0..<20).map { try a.episode(at: $0) } != (0..<20).map { try c.episode(at: $0) })
        #expect(throws: DataError.self) { try a.episode(at: -1) }
    }

    @Test("a source that cannot supply an episode is refused, named, before any episode")
    func refusesBadSources() throws {
        let few = EpisodeSourceData(name: "four-classes", dataset: SizedDataset(sizes: [10, 10, 10, 10]))
        let tiny = EpisodeSourceData(name: "one-image", dataset: SizedDataset(sizes: [10, 10, 1, 10, 10, 10]))
        let groups = EpisodeSourceData(name: "small-groups", dataset: SizedDataset(sizes: Array(repeating: 5, count: 8)),
                                       groups: [Array(0..<4), Array(4..<8)])
        for (source, phrase) in [(few, "at least 5 classes"), (tiny, "at least 2"), (groups, "in one group")] {
            let error = #expect(throws: DataError.self) { try MetaDatasetSampler(sources: [source], seed: 0) }
            #expect(error?.description.contains(source.name) == true && error?.description.contains(phrase) == true)
        }
        #expect(throws: DataError.self) { try MetaDatasetSampler(sources: [], seed: 0) }
    }

    @Test("a padded episode keeps real examples first, zeros and mask 0 after them")
    func padding() throws {
        let s = try MetaDatasetSampler(sources: [Self.sources()[1]], seed: 1)
        let e = try s.episode(at: 0)
        let p = try PaddedEpisode(e, dataset: s.sources[0].dataset, maxWays: 50, maxSupport: 100, maxQuery: 100)
        #expect(p.supportMask.reduce(0, +) == Float(e.support.count) && p.queryMask.reduce(0, +) == Float(e.query.count))
        #expect(p.classMask.reduce(0, +) == Float(e.ways) && p.classMask.count == 50)
        #expect(p.supportX[0] == Float(e.support[0].classIndex * 1000 + e.support[0].imageIndex))
        #expect(p.supportX[(e.support.count * 4)...].allSatisfy { $0 == 0 })
        #expect(p.queryY[..<e.query.count].map(Int.init) == e.query.map(\.label))
        #expect(throws: DataError.self) {
            try PaddedEpisode(e, dataset: s.sources[0].dataset, maxWays: 50, maxSupport: 1, maxQuery: 100)
        }
    }

    @Test("8×8 images resized to 28×28 keep their mean ink")
    func resize() throws {
        let d = try ResizedDataset(SizedDataset(sizes: [3]), side: 28)
        let x = try d.image(classIndex: 0, imageIndex: 2)
        #expect(x.count == 784 && x.allSatisfy { abs($0 - 2) < 1e-4 })
    }

    @Test("glyphs: deterministic, 28×28, non-empty, different characters and fonts differ",
          .enabled(if: GlyphDataset.isInstalled(), "fonts-noto-core is not installed"))
    func glyphs() throws {
        let a = try GlyphDataset(characterIndices: [0, 10, 11, 60, 121])
        let b = try GlyphDataset(characterIndices: [0, 10, 11, 60, 121])
        #expect(a.numClasses == 5 && a.imageShape == ImageShape(channels: 1, height: 28, width: 28))
        #expect(a.imageCount(ofClass: 0) == 48)
        var images: [[Float]] = []
        for c in 0..<5 {
            for i in 0..<a.imageCount(ofClass: c) {
                let x = try a.image(classIndex: c, imageIndex: i)
                #expect(try x == b.image(classIndex: c, imageIndex: i))
                #expect(x.count == 784 && x.allSatisfy { $0 >= 0 && $0 <= 1 })
                #expect(x.reduce(0, +) > 5)   // ink on the canvas
            }
            images.append(try a.image(classIndex: c, imageIndex: 0))
        }
        for i in 0..<5 { for j in (i + 1)..<5 { #expect(images[i] != images[j]) } }
        #expect(try a.image(classIndex: 1, imageIndex: 0) != a.image(classIndex: 1, imageIndex: 3))   // fonts differ
        #expect(try a.image(classIndex: 1, imageIndex: 0) != a.image(classIndex: 1, imageIndex: 1))   // augmentations differ
        #expect(GlyphDataset.characters.count == 122 && Set(GlyphDataset.characters).count == 122)
        #expect(Set(GlyphDataset.characterIndices(test: true)).isDisjoint(with: GlyphDataset.characterIndices(test: false)))
        #expect(a.className(1) == "glyph/U+0041 'A'")
    }

    @Test("a missing font folder names the font and the install command")
    func missingFonts() throws {
        let error = #expect(throws: DataError.self) { try GlyphDataset(characterIndices: [0], folder: "/nonexistent-fonts") }
        #expect(error?.kind == .missingFile)
        #expect(error?.description.contains("/nonexistent-fonts/NotoSans-Regular.ttf") == true)
        #expect(error?.description.contains("apt-get install fonts-noto-core") == true)
    }
}
