import Foundation

/// One hunspell dictionary's words: the stems of a `.dic` file decoded with the `SET` of its `.aff`.
///
/// A `.dic` file starts with an approximate entry count, then one entry a line,
/// `stem/FLAGS` followed optionally by tab- or space-separated morphological fields
/// (`po:noun`, `st:…`). The stem is everything before the first unescaped `/` (`\/` is a
/// literal slash) or the first whitespace; flags and fields are dropped. Lines that start
/// with a tab, a space or `#` are comments (de_DE's header), as hunspell reads them, and so
/// are entries with an empty stem (it_IT's `/ Estensione …` lines).
public struct HunspellDictionary: Sendable, Equatable {
    /// The encodings understood, by their `.aff` `SET` names.
    public static let encodings = ["UTF-8", "ISO8859-1", "ISO8859-2", "ISO8859-13", "ISO8859-15"]
    /// The language code: the file name up to the first `_`, `-` or `.` (`pl_PL.dic` → `pl`).
    public let language: String
    /// The `.dic` path read.
    public let path: String
    /// The `SET` value of the `.aff` file.
    public let encoding: String
    /// Every stem, in file order (duplicates kept as the file has them).
    public let stems: [String]

    /// Reads `dic` and the `.aff` beside it (same name, `.aff` extension); `sampling` as in
    /// ``parse(_:encoding:path:sampling:)``.
    ///
    /// - Throws: ``DataError`` `missingFile` (naming the path and the install command) when
    ///   either file is absent, `unsupportedFormat` for a `SET` other than ``encodings``,
    ///   `corruptData` naming the path and line for bytes invalid in the encoding or a
    ///   missing or non-numeric count line.
    public init(dic: String, sampling: Int? = nil) throws {
        let aff = (dic as NSString).deletingPathExtension + ".aff"
        for p in [dic, aff] where !FileManager.default.fileExists(atPath: p) {
            throw DataError(.missingFile, path: p, "hunspell file not found; install dictionaries with scripts/install-deps.sh (Debian's hunspell-* packages)")
        }
        guard let affData = FileManager.default.contents(atPath: aff) else {
            throw DataError(.unreadable, path: aff, "cannot read the hunspell affix file")
        }
        guard let dicData = FileManager.default.contents(atPath: dic) else {
            throw DataError(.unreadable, path: dic, "cannot read the hunspell dictionary")
        }
        let encoding = try Self.encoding(ofAffix: affData, path: aff)
        self.language = Self.language(ofFile: dic)
        self.path = dic
        self.encoding = encoding
        self.stems = try Self.parse(dicData, encoding: encoding, path: dic, sampling: sampling)
    }

    /// Creates a dictionary from stems already read.
    public init(language: String, path: String, encoding: String, stems: [String]) {
        self.language = language
        self.path = path
        self.encoding = encoding
        self.stems = stems
    }

    /// `pl_PL.dic` → `pl`, `ca_ES-valencia.dic` → `ca`, `nl.dic` → `nl`.
    public static func language(ofFile path: String) -> String {
        let name = (path as NSString).lastPathComponent
        return String(name.prefix { $0 != "_" && $0 != "-" && $0 != "." })
    }

    /// The `SET` value of an affix file (`ISO8859-1` when there is none, hunspell's default).
    /// The `SET` line itself is ASCII, so the file is scanned byte-wise before any decoding.
    public static func encoding(ofAffix data: Data, path: String) throws -> String {
        var line = 0
        for raw in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            line += 1
            let text = String(decoding: raw.filter { $0 < 0x80 }, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard text.hasPrefix("SET ") || text.hasPrefix("SET\t") else { continue }
            let value = text.dropFirst(3).trimmingCharacters(in: .whitespaces).uppercased()
            let normalised = value.replacingOccurrences(of: "ISO-8859-", with: "ISO8859-")
            guard encodings.contains(normalised) else {
                throw DataError(.unsupportedFormat, path: path, "line \(line): SET \(value) is not supported (supported: \(encodings.joined(separator: ", ")))")
            }
            return normalised
        }
        return "ISO8859-1"
    }

    /// Decodes one line's bytes in `encoding`, or nil when they are invalid in it.
    public static func decode<Bytes: Collection>(_ bytes: Bytes, encoding: String) -> String? where Bytes.Element == UInt8 {
        switch encoding {
        case "UTF-8":
            return String(validating: Array(bytes), as: UTF8.self)
        default:
            let high: [UInt16]? = encoding == "ISO8859-2" ? latin2 : encoding == "ISO8859-13" ? latin7
                : encoding == "ISO8859-15" ? latin9 : nil
            var scalars = String.UnicodeScalarView()
            for b in bytes {
                let code: UInt32 = b < 0xA0 || high == nil ? UInt32(b) : UInt32(high?[Int(b) - 0xA0] ?? 0)
                guard let s = Unicode.Scalar(code) else { return nil }
                scalars.append(s)
            }
            return String(scalars)
        }
    }

    /// Parses a `.dic` file's bytes; `path` names it in errors. With `sampling`, only about
    /// that many entry lines, at a fixed stride through the file, are decoded (bounded work
    /// on large dictionaries; deterministic).
    public static func parse(_ data: Data, encoding: String, path: String, sampling: Int? = nil) throws -> [String] {
        let bytes = [UInt8](data)
        var starts: [Int] = [0]
        for i in bytes.indices where bytes[i] == 0x0A { starts.append(i + 1) }
        func line(_ k: Int) -> ArraySlice<UInt8> {
            var end = k + 1 < starts.count ? starts[k + 1] - 1 : bytes.count
            if end > starts[k], bytes[end - 1] == 0x0D { end -= 1 }
            return bytes[starts[k]..<max(end, starts[k])]
        }
        // The count may be followed by a comment (da_DK: `160502 #Produced by …`) and
        // preceded by a UTF-8 byte-order mark (en_GB).
        var head = line(0)
        if head.starts(with: [0xEF, 0xBB, 0xBF]) { head = head.dropFirst(3) }
        guard let count = decode(head, encoding: encoding)?.split(whereSeparator: \.isWhitespace).first, Int(count) != nil else {
            throw DataError(.corruptData, path: path, "line 1: expected the entry count")
        }
        let entries = starts.count - 1
        let stride = sampling.map { max(1, entries / max($0, 1)) } ?? 1
        var stems: [String] = []
        stems.reserveCapacity(entries / stride + 1)
        for k in Swift.stride(from: 1, to: starts.count, by: stride) {
            let raw = line(k)
            guard let lead = raw.first, lead != 0x09, lead != 0x20, lead != UInt8(ascii: "#") else { continue }
            // Flags and fields start at the first `/`, tab or space (ASCII in every supported
            // encoding), so only the stem's bytes are decoded; a `\` escape takes the slow path.
            let escaped = raw.contains(UInt8(ascii: "\\"))
            let cut = escaped ? raw : raw.prefix { $0 != UInt8(ascii: "/") && $0 != 0x09 && $0 != 0x20 }
            guard let text = decode(cut, encoding: encoding) else {
                throw DataError(.corruptData, path: path, "line \(k + 1): bytes that are not valid \(encoding)")
            }
            // An entry without a stem (`/…`) carries no word: it_IT writes its comments so.
            let stem = escaped ? Self.stem(of: text) : text
            if !stem.isEmpty { stems.append(stem) }
        }
        return stems
    }

    /// The stem of one entry: up to the first unescaped `/` or whitespace, `\/` read as `/`.
    static func stem(of line: String) -> String {
        var out = "", escaped = false
        for ch in line {
            if escaped { out.append(ch); escaped = false; continue }
            if ch == "\\" { escaped = true; continue }
            if ch == "/" || ch == "\t" || ch == " " { break }
            out.append(ch)
        }
        return out
    }

    // Code points of bytes 0xA0...0xFF (generated from Python's codecs).
    static let latin2: [UInt16] = [
        0x00A0, 0x0104, 0x02D8, 0x0141, 0x00A4, 0x013D, 0x015A, 0x00A7, 0x00A8, 0x0160, 0x015E, 0x0164, 0x0179, 0x00AD, 0x017D, 0x017B,
        0x00B0, 0x0105, 0x02DB, 0x0142, 0x00B4, 0x013E, 0x015B, 0x02C7, 0x00B8, 0x0161, 0x015F, 0x0165, 0x017A, 0x02DD, 0x017E, 0x017C,
        0x0154, 0x00C1, 0x00C2, 0x0102, 0x00C4, 0x0139, 0x0106, 0x00C7, 0x010C, 0x00C9, 0x0118, 0x00CB, 0x011A, 0x00CD, 0x00CE, 0x010E,
        0x0110, 0x0143, 0x0147, 0x00D3, 0x00D4, 0x0150, 0x00D6, 0x00D7, 0x0158, 0x016E, 0x00DA, 0x0170, 0x00DC, 0x00DD, 0x0162, 0x00DF,
        0x0155, 0x00E1, 0x00E2, 0x0103, 0x00E4, 0x013A, 0x0107, 0x00E7, 0x010D, 0x00E9, 0x0119, 0x00EB, 0x011B, 0x00ED, 0x00EE, 0x010F,
        0x0111, 0x0144, 0x0148, 0x00F3, 0x00F4, 0x0151, 0x00F6, 0x00F7, 0x0159, 0x016F, 0x00FA, 0x0171, 0x00FC, 0x00FD, 0x0163, 0x02D9,
    ]
    static let latin7: [UInt16] = [
        0x00A0, 0x201D, 0x00A2, 0x00A3, 0x00A4, 0x201E, 0x00A6, 0x00A7, 0x00D8, 0x00A9, 0x0156, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x00C6,
        0x00B0, 0x00B1, 0x00B2, 0x00B3, 0x201C, 0x00B5, 0x00B6, 0x00B7, 0x00F8, 0x00B9, 0x0157, 0x00BB, 0x00BC, 0x00BD, 0x00BE, 0x00E6,
        0x0104, 0x012E, 0x0100, 0x0106, 0x00C4, 0x00C5, 0x0118, 0x0112, 0x010C, 0x00C9, 0x0179, 0x0116, 0x0122, 0x0136, 0x012A, 0x013B,
        0x0160, 0x0143, 0x0145, 0x00D3, 0x014C, 0x00D5, 0x00D6, 0x00D7, 0x0172, 0x0141, 0x015A, 0x016A, 0x00DC, 0x017B, 0x017D, 0x00DF,
        0x0105, 0x012F, 0x0101, 0x0107, 0x00E4, 0x00E5, 0x0119, 0x0113, 0x010D, 0x00E9, 0x017A, 0x0117, 0x0123, 0x0137, 0x012B, 0x013C,
        0x0161, 0x0144, 0x0146, 0x00F3, 0x014D, 0x00F5, 0x00F6, 0x00F7, 0x0173, 0x0142, 0x015B, 0x016B, 0x00FC, 0x017C, 0x017E, 0x2019,
    ]
    static let latin9: [UInt16] = (0xA0...0xFF).map { b -> UInt16 in
        [0xA4: 0x20AC, 0xA6: 0x0160, 0xA8: 0x0161, 0xB4: 0x017D, 0xB8: 0x017E, 0xBC: 0x0152, 0xBD: 0x0153, 0xBE: 0x0178][b] ?? UInt16(b)
    }
}

/// Few-shot language identification: one class per language, its examples the words of
/// one hunspell dictionary.
///
/// **Languages.** Every `.dic` under the folder with its `.aff`, grouped by language code
/// (``HunspellDictionary/language(ofFile:)``); per language the first dictionary in file-name
/// order that is a regular file (not a symlink) is read, so the 25 dictionaries of Debian's
/// set give 25 languages (`es_AR` … `es_VE` are links to `es_ES`; `ca.dic` wins over
/// `ca_ES-valencia.dic`, `sv_FI.dic` over `sv_SE.dic`).
///
/// **Words.** About ``sampledEntries`` entries per dictionary at a fixed stride through the
/// file; of their stems those made only of letters, lower-cased, at least ``minimumLength``
/// characters, de-duplicated in file order, then at most ``maximumWords`` per language taken
/// evenly through the list (fixed strides, no randomness), so work and memory stay bounded.
///
/// **Split.** Languages sorted by code; the `i`-th is meta-test when `i % 5 == 4`,
/// validation when `i % 5 == 3` and meta-train otherwise (15 / 5 / 5 of the 25).
public struct LanguageWords: Sendable {
    /// Where Debian installs hunspell dictionaries.
    public static let defaultDirectory = "/usr/share/hunspell"
    /// Shortest word kept.
    public static let minimumLength = 3
    /// Most words kept per language.
    public static let maximumWords = 20_000
    /// Entry lines decoded per dictionary (at a fixed stride, ``HunspellDictionary/parse(_:encoding:path:sampling:)``).
    public static let sampledEntries = 40_000

    /// The languages read, sorted by code.
    public let languages: [String]
    /// The kept words of each language, in ``languages`` order.
    public let words: [[String]]
    /// The dictionary file read for each language.
    public let files: [String]

    /// Reads every language's dictionary under `directory`.
    /// - Throws: ``DataError`` `missingFile` when the folder is absent or holds no `.dic`,
    ///   and any error of ``HunspellDictionary/init(dic:)``.
    public init(directory: String = LanguageWords.defaultDirectory) throws {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory) else {
            throw DataError(.missingFile, path: directory, "hunspell folder not found; install dictionaries with scripts/install-deps.sh")
        }
        var chosen: [String: String] = [:]
        for name in names.filter({ $0.hasSuffix(".dic") }).sorted() {
            let path = (directory as NSString).appendingPathComponent(name)
            let kind = (try? fm.attributesOfItem(atPath: path)[.type] as? FileAttributeType) ?? nil
            guard kind != .typeSymbolicLink else { continue }
            let language = HunspellDictionary.language(ofFile: name)
            if chosen[language] == nil { chosen[language] = path }
        }
        guard !chosen.isEmpty else {
            throw DataError(.missingFile, path: directory, "no hunspell .dic files; install dictionaries with scripts/install-deps.sh")
        }
        let languages = chosen.keys.sorted()
        var words: [[String]] = [], files: [String] = []
        for l in languages {
            guard let file = chosen[l] else { continue }
            words.append(Self.keep(try HunspellDictionary(dic: file, sampling: Self.sampledEntries).stems))
            files.append(file)
        }
        self.init(languages: languages, words: words, files: files)
    }

    /// Creates the set from words already chosen (tests, fixtures).
    public init(languages: [String], words: [[String]], files: [String]) {
        self.languages = languages
        self.words = words
        self.files = files
    }

    /// The words kept from a dictionary's stems (see the type's documentation).
    public static func keep(_ stems: [String]) -> [String] {
        var seen = Set<String>(), out: [String] = []
        for s in stems where s.count >= minimumLength && s.allSatisfy(\.isLetter) {
            let w = s.lowercased()
            if seen.insert(w).inserted { out.append(w) }
        }
        guard out.count > maximumWords else { return out }
        return (0..<maximumWords).map { out[$0 * out.count / maximumWords] }
    }

    /// The split of the `index`-th language in code order.
    public static func split(ofIndex index: Int) -> WordNetGlosses.Split {
        WordNetGlosses.split(ofCategory: index)
    }

    /// The words of each language in `split`, keyed by language index.
    public func byLanguage(in split: WordNetGlosses.Split) -> [Int: [String]] {
        var out: [Int: [String]] = [:]
        for i in languages.indices where Self.split(ofIndex: i) == split { out[i] = words[i] }
        return out
    }
}

/// A character tokeniser whose alphabet comes from meta-train words only.
///
/// Id 0 is the unknown character; characters seen in the corpus get ids from 1 by descending
/// frequency, ties by Unicode scalar order. Padding is id -1 with a 0 in the mask; words
/// longer than the length are cut.
public struct CharacterTokenizer: Sendable {
    /// Known characters in id order (character `i` has id `i + 1`).
    public let characters: [Character]
    private let ids: [Character: Int32]

    /// Alphabet size including the unknown character (the embedding table's rows).
    public var vocabularySize: Int { characters.count + 1 }

    /// Builds the alphabet from `corpus` (meta-train words only).
    public init(corpus: [String]) {
        var counts: [Character: Int] = [:]
        for w in corpus { for ch in w { counts[ch, default: 0] += 1 } }
        characters = counts.sorted { $0.value != $1.value ? $0.value > $1.value : String($0.key) < String($1.key) }.map(\.key)
        var ids: [Character: Int32] = [:]
        for (i, c) in characters.enumerated() { ids[c] = Int32(i + 1) }
        self.ids = ids
    }

    /// `word`'s character ids, cut or padded to `length`, and the mask.
    public func encode(_ word: String, length: Int) -> (ids: [Int32], mask: [Float]) {
        let w = word.prefix(length).map { ids[$0] ?? WordTokenizer.unknown }
        let pad = length - w.count
        return (w + [Int32](repeating: WordTokenizer.padding, count: pad),
                [Float](repeating: 1, count: w.count) + [Float](repeating: 0, count: pad))
    }
}
