import Foundation

/// WordNet glosses labelled by lexicographer file, read from Debian's `wordnet-base`.
///
/// Each synset line of `data.noun`, `data.verb`, `data.adj` and `data.adv` reads
/// `OFFSET LEX_FILENUM SS_TYPE ... | GLOSS`; the label is `LEX_FILENUM`, the two-digit field
/// after the offset (0–44: `adj.all`, `noun.animal`, `verb.motion`, ...). Lines that start
/// with spaces (the licence header) are skipped.
///
/// The 45 categories are split by a fixed rule: category `k` is meta-test when `k % 5 == 4`,
/// validation when `k % 5 == 3` and meta-train otherwise (27 / 9 / 9 categories).
public struct WordNetGlosses: Sendable {
    /// Where `wordnet-base` installs its files.
    public static let defaultDirectory = "/usr/share/wordnet"
    /// The four data files read, in this order.
    public static let files = ["data.noun", "data.verb", "data.adj", "data.adv"]
    /// Number of lexicographer files (labels `0..<categoryCount`).
    public static let categoryCount = 45

    /// One gloss and its lexicographer-file label.
    public struct Gloss: Sendable, Equatable {
        /// The lexicographer file number, `0..<45`.
        public var category: Int
        /// The gloss text after `|` (definition and examples), trimmed.
        public var text: String

        /// Creates a gloss of `category` with `text`.
        public init(category: Int, text: String) {
            self.category = category
            self.text = text
        }
    }

    /// Which part of the fixed split a category belongs to.
    public enum Split: String, Sendable, CaseIterable {
        /// Categories used for meta-training (and for building the vocabulary).
        case train
        /// Categories for model selection.
        case validation
        /// Held-out categories for evaluation.
        case test
    }

    /// Every gloss read, in file order.
    public let glosses: [Gloss]

    /// The split of category `k` (`k % 5 == 4` → test, `== 3` → validation, else train).
    public static func split(ofCategory k: Int) -> Split {
        switch k % 5 {
        case 4: return .test
        case 3: return .validation
        default: return .train
        }
    }

    /// The categories of `split`, ascending.
    public static func categories(in split: Split) -> [Int] {
        (0..<categoryCount).filter { Self.split(ofCategory: $0) == split }
    }

    /// Reads the four data files under `directory`.
    ///
    /// - Throws: ``DataError`` of kind `missingFile` naming the path and the install command
    ///   when a file is absent, `corruptData` (with the line number) for a malformed line.
    public init(directory: String = WordNetGlosses.defaultDirectory) throws {
        var all: [Gloss] = []
        for name in Self.files {
            let path = (directory as NSString).appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: path) else {
                throw DataError(.missingFile, path: path,
                                "WordNet data file not found; install it with `apt-get install wordnet-base` (or run scripts/install-deps.sh)")
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw DataError(.unreadable, path: path, "cannot read the WordNet data file")
            }
            all += try Self.parse(String(decoding: data, as: UTF8.self), path: path)
        }
        glosses = all
    }

    /// Creates the set from glosses already parsed.
    public init(glosses: [Gloss]) { self.glosses = glosses }

    /// Parses the text of one WordNet data file; `path` names it in errors.
    public static func parse(_ text: String, path: String) throws -> [Gloss] {
        var out: [Gloss] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.isEmpty || line.hasPrefix(" ") { continue }  // licence header, blank lines
            let fields = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            func bad(_ why: String) -> DataError {
                DataError(.corruptData, path: path, "line \(number + 1): \(why)")
            }
            guard fields.count >= 2, fields[0].allSatisfy(\.isNumber) else { throw bad("expected a synset offset") }
            guard fields[1].count == 2, let k = Int(fields[1]), (0..<categoryCount).contains(k) else {
                throw bad("expected a two-digit lexicographer file number in 00...44, got '\(fields[1])'")
            }
            guard let bar = line.range(of: " | ") ?? line.range(of: "|") else { throw bad("no gloss (missing '|')") }
            let gloss = line[bar.upperBound...].trimmingCharacters(in: .whitespaces)
            guard !gloss.isEmpty else { throw bad("empty gloss") }
            out.append(Gloss(category: k, text: gloss))
        }
        return out
    }

    /// The glosses of each category in `split`, keyed by category number.
    public func byCategory(in split: Split) -> [Int: [String]] {
        var out: [Int: [String]] = [:]
        for g in glosses where Self.split(ofCategory: g.category) == split { out[g.category, default: []].append(g.text) }
        return out
    }
}

/// A word tokeniser whose vocabulary comes from meta-train text only.
///
/// Text is lower-cased and split into maximal runs of letters and digits. Id 0 is the unknown
/// token (words never seen, or seen fewer than `minCount` times); known words get ids from 1
/// by descending frequency, ties in lexicographic order. Padding is id -1, which `gather`
/// reads as a zero embedding, with a 0 in the mask.
public struct WordTokenizer: Sendable {
    /// The id of the unknown token.
    public static let unknown: Int32 = 0
    /// The id written at padding positions (read as zeros by `gather`).
    public static let padding: Int32 = -1
    /// Known words in id order (word `i` has id `i + 1`).
    public let words: [String]
    private let ids: [String: Int32]

    /// Vocabulary size including the unknown token (the embedding table's rows).
    public var vocabularySize: Int { words.count + 1 }

    /// Splits `text` into lower-case words.
    public static func words(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)
    }

    /// Builds the vocabulary from `corpus` (meta-train text only), keeping words seen at least
    /// `minCount` times, at most `maxSize` of them.
    public init(corpus: [String], minCount: Int = 1, maxSize: Int = .max) {
        var counts: [String: Int] = [:]
        for s in corpus { for w in Self.words(s) { counts[w, default: 0] += 1 } }
        let kept = counts.filter { $0.value >= minCount }.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        words = kept.prefix(maxSize).map(\.key)
        var ids: [String: Int32] = [:]
        for (i, w) in words.enumerated() { ids[w] = Int32(i + 1) }
        self.ids = ids
    }

    /// The id of `word` (already lower-case), or ``unknown``.
    public func id(_ word: String) -> Int32 { ids[word] ?? Self.unknown }

    /// `text`'s ids, cut or padded to `length`, and the mask (1 for a word, 0 for padding).
    public func encode(_ text: String, length: Int) -> (ids: [Int32], mask: [Float]) {
        let w = Self.words(text).prefix(length).map(id)
        let pad = length - w.count
        return (w + [Int32](repeating: Self.padding, count: pad),
                [Float](repeating: 1, count: w.count) + [Float](repeating: 0, count: pad))
    }
}
