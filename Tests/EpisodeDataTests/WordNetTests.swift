import EpisodeData
import Foundation
import Testing

/// The WordNet gloss reader, its fixed category split, and the word tokeniser.
@Suite struct WordNetTests {
    static let sample = """
          1 This software and database is being provided to you, the LICENSEE, by  
          2 Princeton University under the following license.  
        00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 | that which is perceived or known or inferred to have its own distinct existence  
        01313093 05 n 01 animal 0 000 | a living organism; "the animal ran"  

        """

    @Test func parsesLabelAndGlossSkippingTheHeader() throws {
        let g = try WordNetGlosses.parse(Self.sample, path: "data.noun")
        #expect(g.count == 2)
        #expect(g[0].category == 3)
        #expect(g[0].text.hasPrefix("that which is perceived"))
        #expect(g[1] == WordNetGlosses.Gloss(category: 5, text: "a living organism; \"the animal ran\""))
    }

    @Test func malformedLinesNameTheFileAndLine() {
        for bad in ["00001740 7 n 01 x 0 000 | gloss", "00001740 45 n 01 x 0 000 | gloss", "00001740 03 n 01 x 0 000 no bar"] {
            #expect(throws: DataError.self) { try WordNetGlosses.parse("  header\n" + bad, path: "data.adj") }
            do { _ = try WordNetGlosses.parse("  header\n" + bad, path: "data.adj") } catch let e as DataError {
                #expect(e.kind == .corruptData)
                #expect(e.description.hasPrefix("data.adj: line 2:"))
            } catch { Issue.record("\(error)") }
        }
    }

    @Test func missingDirectoryNamesThePathAndTheInstallCommand() {
        do {
            _ = try WordNetGlosses(directory: "/nonexistent/wordnet")
            Issue.record("read a missing directory")
        } catch let e as DataError {
            #expect(e.kind == .missingFile)
            #expect(e.path == "/nonexistent/wordnet/data.noun")
            #expect(e.description.contains("apt-get install wordnet-base"))
        } catch { Issue.record("\(error)") }
    }

    @Test func fixedSplitCoversAllCategoriesOnce() {
        let parts = WordNetGlosses.Split.allCases.map(WordNetGlosses.categories(in:))
        #expect(parts.map(\.count) == [27, 9, 9])
        #expect(Set(parts.joined()) == Set(0..<45))
        #expect(WordNetGlosses.split(ofCategory: 4) == .test)
        #expect(WordNetGlosses.split(ofCategory: 8) == .validation)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/share/wordnet/data.noun")))
    func installedDataHasEveryCategory() throws {
        let wn = try WordNetGlosses()
        #expect(wn.glosses.count > 100_000)
        #expect(Set(wn.glosses.map(\.category)).count == 45)
        #expect(wn.byCategory(in: .test).count == 9)
    }

    @Test func tokeniserVocabularyUnknownAndPadding() {
        let t = WordTokenizer(corpus: ["The cat sat.", "the dog; THE end"], minCount: 1)
        #expect(t.words.first == "the")  // most frequent first
        #expect(t.vocabularySize == t.words.count + 1)
        #expect(WordTokenizer.words("A dog's-life, 2x!") == ["a", "dog", "s", "life", "2x"])
        let (ids, mask) = t.encode("the zebra cat", length: 5)
        #expect(ids == [t.id("the"), WordTokenizer.unknown, t.id("cat"), -1, -1])
        #expect(ids[0] == 1)
        #expect(mask == [1, 1, 1, 0, 0])
        let cut = t.encode("cat cat cat cat", length: 2)
        #expect(cut.ids.count == 2 && cut.mask == [1, 1])
        // minCount drops rare words to the unknown token.
        let frequent = WordTokenizer(corpus: ["the cat", "the dog"], minCount: 2)
        #expect(frequent.words == ["the"])
        #expect(frequent.id("cat") == WordTokenizer.unknown)
    }
}
