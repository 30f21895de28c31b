import EpisodeData
import Foundation
import Testing

private let hunspellInstalled = FileManager.default.fileExists(atPath: "/usr/share/hunspell/pl_PL.dic")

@Suite struct HunspellTests {
    static func folder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hunspell-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A tiny ISO8859-2 dictionary: `ł` is byte 0xB3, `ż` 0xBF, `ś` 0xB6 (in Latin-1 these
    /// bytes would read `³`, `¿`, `¶`, so a wrong decoding cannot pass).
    @Test func decodesISO8859_2WithFlagsAndFields() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("SET ISO8859-2\nTRY abc\n".utf8).write(to: dir.appendingPathComponent("pl_PL.aff"))
        var dic = Data("4 # entries\n".utf8)
        dic += Data([0xB3, 0x6F, 0x64, 0xBF, 0x2F, 0x41, 0x42, 0x0A])              // łodż/AB
        dic += Data("\tcomment line\n".utf8)
        dic += Data([0x6B, 0x6F, 0xB6, 0xE6, 0x09, 0x70, 0x6F, 0x3A, 0x6E, 0x0A])  // koś\u{107}<TAB>po:n
        dic += Data("a\\/b/X\nkot\r\n".utf8)
        try dic.write(to: dir.appendingPathComponent("pl_PL.dic"))
        let d = try HunspellDictionary(dic: dir.appendingPathComponent("pl_PL.dic").path)
        #expect(d.encoding == "ISO8859-2")
        #expect(d.language == "pl")
        #expect(d.stems == ["łodż", "kość", "a/b", "kot"])
        #expect(LanguageWords.keep(d.stems) == ["łodż", "kość", "kot"])
    }

    @Test func decodesISO8859_13AndLatin1() {
        #expect(HunspellDictionary.decode([0xE0, 0xFE], encoding: "ISO8859-13") == "ąž")
        #expect(HunspellDictionary.decode([0xE0, 0xFE], encoding: "ISO8859-1") == "àþ")
        #expect(HunspellDictionary.decode([0xC3, 0x28], encoding: "UTF-8") == nil)
    }

    @Test func corruptAndMissingFilesNameThePath() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let dic = dir.appendingPathComponent("xx_XX.dic")
        try Data("3\nabc\nde".utf8 + [0xC3, 0x28] + Data("/A\n".utf8)).write(to: dic)
        // No .aff yet: missing file, named.
        #expect { try HunspellDictionary(dic: dic.path) } throws: { e in
            (e as? DataError)?.kind == .missingFile && "\(e)".contains("xx_XX.aff")
        }
        try Data("SET UTF-8\n".utf8).write(to: dir.appendingPathComponent("xx_XX.aff"))
        #expect { try HunspellDictionary(dic: dic.path) } throws: { e in
            (e as? DataError)?.kind == .corruptData && "\(e)".contains(dic.path) && "\(e)".contains("line 3")
        }
        try Data("no count\nabc\n".utf8).write(to: dic)
        #expect { try HunspellDictionary(dic: dic.path) } throws: { e in
            (e as? DataError)?.kind == .corruptData && "\(e)".contains("line 1")
        }
        try Data("SET KOI8-R\n".utf8).write(to: dir.appendingPathComponent("xx_XX.aff"))
        #expect { try HunspellDictionary(dic: dic.path) } throws: { e in (e as? DataError)?.kind == .unsupportedFormat }
    }

    @Test(.enabled(if: hunspellInstalled)) func realDictionaries() throws {
        let pl = try HunspellDictionary(dic: "/usr/share/hunspell/pl_PL.dic")
        #expect(pl.encoding == "ISO8859-2" && pl.stems.count > 100_000)
        #expect(pl.stems.contains("łódź"))
        let lw = try LanguageWords()
        #expect(lw.languages == lw.languages.sorted() && Set(lw.languages).count == lw.languages.count)
        #expect(lw.languages.contains("pl") && lw.languages.contains("es") && !lw.languages.contains("es_AR"))
        for (l, w) in zip(lw.languages, lw.words) { #expect(w.count > 1000, "\(l)") }
        // The split rule: index % 5 == 4 test, == 3 validation.
        let test = lw.byLanguage(in: .test).keys.sorted()
        #expect(test == lw.languages.indices.filter { $0 % 5 == 4 })
        #expect(Set(lw.byLanguage(in: .train).keys).isDisjoint(with: test))
    }

    @Test func characterTokenizer() {
        let tok = CharacterTokenizer(corpus: ["aab", "ba"])
        #expect(tok.vocabularySize == 3)
        let (ids, mask) = tok.encode("abz", length: 5)
        #expect(ids == [1, 2, 0, -1, -1] && mask == [1, 1, 1, 0, 0])
        #expect(tok.encode("aaaaaaa", length: 3).ids == [1, 1, 1])
    }

    static func pool() -> TextClasses {
        TextClasses(names: (0..<7).map(String.init), examples: (0..<7).map { c in (0..<(c == 6 ? 3 : 20)).map { "w\(c)x\($0)" } })
    }

    @Test func samplerIsDeterministicAndClassMajor() throws {
        let config = TextEpisodeConfig(ways: 5, shots: 2, queries: 3, length: 4)
        let tok = CharacterTokenizer(corpus: Self.pool().examples.flatMap { $0 })
        let a = try TextEpisodeSampler(classes: Self.pool(), tokenizer: tok, config: config, seed: 7)
        let b = try TextEpisodeSampler(classes: Self.pool(), tokenizer: tok, config: config, seed: 7)
        let c = try TextEpisodeSampler(classes: Self.pool(), tokenizer: tok, config: config, seed: 8)
        #expect(a.batch(at: 3, batchSize: 2) == b.batch(at: 3, batchSize: 2))
        #expect(a.batch(at: 3, batchSize: 2) != c.batch(at: 3, batchSize: 2))
        #expect(!a.usable.contains(6), "class 6 has 3 texts < shots + queries")
        let e = a.batch(at: 0, batchSize: 1)
        #expect(e.support.count == 5 * 2 * 4 && e.query.count == 5 * 3 * 4 && e.queryLabels == (0..<15).map { Int32($0 / 3) })
        for (r, s) in e.supportTexts.enumerated() { #expect(s.hasPrefix("w\(e.classes[r / 2])x")) }
        for (r, s) in e.queryTexts.enumerated() { #expect(s.hasPrefix("w\(e.classes[r / 3])x")) }
        // Support and query of one class are distinct texts.
        #expect(Set(e.supportTexts + e.queryTexts).count == 25)
        // The loader gives the same stream as direct calls, with any number of threads.
        let loader = try a.makeLoader(batchSize: 2, threads: 3, count: 6)
        var streamed: [TextBatch] = []
        while let x = try loader.next() { streamed.append(x) }
        #expect(streamed == (0..<6).map { a.batch(at: $0, batchSize: 2) })
        #expect(throws: DataError.self) {
            try TextEpisodeSampler(classes: Self.pool(), tokenizer: tok, config: TextEpisodeConfig(ways: 7, shots: 2, queries: 3, length: 4), seed: 0)
        }
    }

    @Test func baselineSeparatesObviousClasses() {
        // Class 0's words share "aaa", class 1's "zzz": character n-grams tell them apart.
        let acc = NearestCentroidBaseline.accuracy(support: ["aaab", "baaa", "zzzb", "bzzz"], query: ["caaa", "aaac", "zzzc", "czzz"],
                                                   ways: 2, shots: 2, queries: 2, source: .langid)
        #expect(acc == 1)
        let words = NearestCentroidBaseline.accuracy(support: ["the cat sat", "a cat ran", "dogs bark", "the dog"],
                                                     query: ["cat food", "dog food"], ways: 2, shots: 2, queries: 1, source: .wordnet)
        #expect(words == 1)
        #expect(NearestCentroidBaseline.features("cat", source: .langid).count == 3 + 4 + 3)
    }
}
