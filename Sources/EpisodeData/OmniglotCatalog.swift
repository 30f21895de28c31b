import Foundation
import ZIPFoundation

/// Where Omniglot images come from.
public enum OmniglotSource: Sendable, Hashable, CustomStringConvertible {
    /// A zip archive laid out like the published ones
    /// (`images_background_smallN/<Alphabet>/characterNN/<drawer>_<NN>.png`).
    case zip(String)
    /// An extracted folder with the same layout; it may be the folder that holds the
    /// `images_background*` wrapper folders, a wrapper folder, or the alphabet root itself.
    case directory(String)

    /// The file or folder path.
    public var path: String {
        switch self {
        case .zip(let p), .directory(let p): return p
        }
    }

    /// `zip:<path>` or `dir:<path>`.
    public var description: String {
        switch self {
        case .zip(let p): return "zip:\(p)"
        case .directory(let p): return "dir:\(p)"
        }
    }

    /// Works out the sources at `path`: a `.zip` file; a folder holding one or more `.zip`
    /// files (all of them, sorted by name); or an extracted folder.
    /// - Throws: ``DataError`` `.missingFile` if nothing exists at `path`.
    public static func detect(path: String) throws -> [OmniglotSource] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw DataError(.missingFile, path: path, "no such file or folder")
        }
        guard isDir.boolValue else { return [.zip(path)] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        let zips = names.filter { $0.lowercased().hasSuffix(".zip") }.sorted()
        if !zips.isEmpty {
            return zips.map { .zip((path as NSString).appendingPathComponent($0)) }
        }
        return [.directory(path)]
    }
}

/// An index of the Omniglot characters and image files available from one or more
/// sources, built without decoding any image.
///
/// Sources are merged in order; an alphabet that appears in several sources (Greek and
/// Latin are in both bundled zips) is taken from the first one only. Alphabets are sorted
/// by name, characters by folder name, images by file name.
public struct OmniglotCatalog: Sendable {
    /// Where one image's bytes live.
    enum Location: Sendable {
        case file(String)
        case zipEntry(archive: String, entry: EntryBox)
    }

    /// Holds a ZIPFoundation `Entry`. `Entry` is an immutable value (offsets and header
    /// fields, no reference to the archive) but is not declared `Sendable`, so it is boxed
    /// as `@unchecked Sendable`; it is only ever read.
    struct EntryBox: @unchecked Sendable {
        let entry: Entry
    }

    /// One character (class before rotation augmentation).
    public struct Character: Sendable {
        /// Alphabet folder name, e.g. `Latin`.
        public let alphabet: String
        /// Character folder name, e.g. `character01`.
        public let name: String
        /// Image file names, sorted.
        public let fileNames: [String]
        let locations: [Location]

        /// `<alphabet>/<name>`.
        public var key: String { "\(alphabet)/\(name)" }
    }

    /// The sources the catalog was built from.
    public let sources: [OmniglotSource]
    /// All characters, sorted by alphabet then name.
    public let characters: [Character]

    /// Alphabet names, sorted.
    public var alphabets: [String] {
        var seen = Set<String>()
        return characters.compactMap { seen.insert($0.alphabet).inserted ? $0.alphabet : nil }
    }

    /// Total number of images.
    public var imageCount: Int { characters.reduce(0) { $0 + $1.fileNames.count } }

    /// Scans the sources detected at `path` (see ``OmniglotSource/detect(path:)``).
    public init(path: String) throws {
        try self.init(sources: OmniglotSource.detect(path: path))
    }

    /// Scans `sources` in order, merging alphabets by name (first source wins).
    /// - Throws: ``DataError``: `.missingFile`, `.unreadable` (bad zip), `.emptyClass`
    ///   (a character folder without PNGs), `.noImages` (a source without any PNG).
    public init(sources: [OmniglotSource]) throws {
        guard !sources.isEmpty else {
            throw DataError(.noImages, path: "", "no Omniglot sources given")
        }
        var byAlphabet: [String: [Character]] = [:]
        for source in sources {
            let scanned = try OmniglotCatalog.scan(source)
            for (alphabet, chars) in scanned where byAlphabet[alphabet] == nil {
                byAlphabet[alphabet] = chars
            }
        }
        self.sources = sources
        self.characters = byAlphabet.keys.sorted().flatMap { byAlphabet[$0] ?? [] }
    }

    /// The characters of `alphabet`, or an empty array if it is unknown.
    public func characters(inAlphabet alphabet: String) -> [Character] {
        characters.filter { $0.alphabet == alphabet }
    }

    /// Checks that every name is a known alphabet.
    /// - Throws: ``DataError`` `.unknownAlphabet`, listing the available alphabets.
    public func validate(alphabets names: [String]) throws {
        let known = Set(alphabets)
        for name in names where !known.contains(name) {
            throw DataError(.unknownAlphabet, path: sources.map(\.path).joined(separator: ", "),
                            "unknown alphabet '\(name)'; available: \(alphabets.joined(separator: ", "))")
        }
    }

    // MARK: - Scanning

    /// A file or folder found in a source, as path components relative to its root.
    private struct Node {
        var components: [String]
        var isDirectory: Bool
        var location: Location?
    }

    private static func scan(_ source: OmniglotSource) throws -> [String: [Character]] {
        let nodes: [Node]
        switch source {
        case .zip(let path): nodes = try zipNodes(path)
        case .directory(let path): nodes = try directoryNodes(path)
        }
        let pngs = nodes.filter { !$0.isDirectory && $0.components.count >= 3 && isPNGName($0.components.last) }
        guard let depth = pngs.map(\.components.count).min() else {
            throw DataError(.noImages, path: source.path, "no PNG images found (expected <Alphabet>/<character>/<image>.png)")
        }
        struct Acc { var files: [(String, Location)] = []; var origin: String }
        var chars: [String: Acc] = [:]
        func label(_ comps: [String]) -> String {
            switch source {
            case .zip(let p): return "\(p):\(comps.joined(separator: "/"))"
            case .directory(let p): return ([p] + comps).joined(separator: "/")
            }
        }
        for node in nodes where node.isDirectory && node.components.count == depth - 1 {
            let key = node.components.suffix(2).joined(separator: "/")
            if chars[key] == nil { chars[key] = Acc(origin: label(node.components)) }
        }
        for png in pngs where png.components.count == depth {
            let key = png.components.suffix(3).prefix(2).joined(separator: "/")
            guard let location = png.location, let name = png.components.last else { continue }
            chars[key, default: Acc(origin: label(Array(png.components.dropLast())))].files.append((name, location))
        }
        var result: [String: [Character]] = [:]
        for key in chars.keys.sorted() {
            guard let acc = chars[key] else { continue }
            let parts = key.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2 else { continue }
            guard !acc.files.isEmpty else {
                throw DataError(.emptyClass, path: acc.origin, "character folder contains no PNG images")
            }
            let files = acc.files.sorted { $0.0 < $1.0 }
            result[parts[0], default: []].append(
                Character(alphabet: parts[0], name: parts[1], fileNames: files.map(\.0), locations: files.map(\.1)))
        }
        return result
    }

    private static func isPNGName(_ name: String?) -> Bool {
        guard let name, !name.hasPrefix(".") else { return false }
        return name.lowercased().hasSuffix(".png")
    }

    private static func isJunk(_ components: [String]) -> Bool {
        components.contains { $0 == "__MACOSX" || $0.hasPrefix("._") }
    }

    private static func zipNodes(_ path: String) throws -> [Node] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw DataError(.missingFile, path: path, "no such zip file")
        }
        let archive: Archive
        do {
            archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        } catch {
            throw DataError(.unreadable, path: path, "cannot open as a zip archive: \(error)")
        }
        var nodes: [Node] = []
        for entry in archive {
            let comps = entry.path.split(separator: "/").map(String.init)
            guard !comps.isEmpty, !isJunk(comps) else { continue }
            switch entry.type {
            case .directory:
                nodes.append(Node(components: comps, isDirectory: true, location: nil))
            case .file:
                nodes.append(Node(components: comps, isDirectory: false,
                                  location: .zipEntry(archive: path, entry: EntryBox(entry: entry))))
            case .symlink:
                continue
            }
        }
        return nodes
    }

    private static func directoryNodes(_ path: String) throws -> [Node] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw DataError(.missingFile, path: path, "no such folder")
        }
        let root = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
        guard let walker = FileManager.default.enumerator(
            at: root, includingPropertiesForKeys: [.isDirectoryKey], options: [.skipsHiddenFiles]) else {
            throw DataError(.unreadable, path: path, "cannot list folder")
        }
        let rootCount = root.pathComponents.count
        var nodes: [Node] = []
        while let url = walker.nextObject() as? URL {
            let comps = Array(url.standardizedFileURL.pathComponents.dropFirst(rootCount))
            guard !comps.isEmpty, !isJunk(comps) else { continue }
            let dir = (try? url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) ?? false
            let full = ([path] + comps).joined(separator: "/")
            nodes.append(Node(components: comps, isDirectory: dir, location: dir ? nil : .file(full)))
        }
        return nodes
    }
}
