import Foundation

/// A fixed, published list of few-shot episodes, stored as JSON, so that a set of test
/// episodes can be evaluated exactly, by any program, on any machine.
///
/// ## Format (version 1)
///
/// ```json
/// {
///   "format": "metajit-episodes",
///   "version": 1,
///   "dataset": "omniglot",
///   "ways": 5, "shots": 1, "queries": 15,
///   "seed": 42,
///   "episodes": [
///     {
///       "support": [ { "path": "Latin/character01/0683_01.png", "rotation": 0, "label": 0 }, ... ],
///       "query":   [ { "path": "Latin/character01/0683_07.png", "rotation": 0, "label": 0 }, ... ]
///     }
///   ]
/// }
/// ```
///
/// - `format` must be `"metajit-episodes"` and `version` must be `1`.
/// - `dataset` (optional) and `seed` (optional) are informational.
/// - `ways`, `shots`, `queries` (N, K, Q) are the same for every episode: each episode has
///   exactly N·K support and N·Q query items, and each label `0..<N` has exactly K support
///   and Q query items, all from one class.
/// - An item's `path` is relative to the alphabet root: `<Alphabet>/<character>/<file>.png`
///   for Omniglot (a leading wrapper folder such as `images_background_small1/` is accepted
///   on reading); for IDX datasets it is the record number in the images file, as text.
/// - `rotation` (optional, default 0) is the counter-clockwise rotation in degrees (0, 90,
///   180 or 270); the dataset must have been built with that rotation.
/// - Items may be listed in any order; on reading they are put class-major (stable by label),
///   the order ``MetaBatch`` uses. Written manifests are class-major already.
/// - The same image may not appear twice in one episode.
///
/// Errors on reading are ``DataError`` `.invalidManifest` naming the manifest path and the
/// offending episode and item.
public struct EpisodeManifest: Codable, Sendable, Equatable {
    /// One example of a manifest episode.
    public struct Item: Codable, Sendable, Hashable {
        /// Dataset-relative path (see the format description).
        public var path: String
        /// Counter-clockwise rotation in degrees.
        public var rotation: Int
        /// Episode label in `0..<ways`.
        public var label: Int

        /// Creates an item.
        public init(path: String, rotation: Int = 0, label: Int) {
            self.path = path
            self.rotation = rotation
            self.label = label
        }

        /// Decodes an item; `rotation` defaults to 0.
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            path = try c.decode(String.self, forKey: .path)
            rotation = try c.decodeIfPresent(Int.self, forKey: .rotation) ?? 0
            label = try c.decode(Int.self, forKey: .label)
        }
    }

    /// One manifest episode.
    public struct Entry: Codable, Sendable, Equatable {
        /// N·K support items.
        public var support: [Item]
        /// N·Q query items.
        public var query: [Item]

        /// Creates an episode entry.
        public init(support: [Item], query: [Item]) {
            self.support = support
            self.query = query
        }
    }

    /// The format tag, `"metajit-episodes"`.
    public static let formatName = "metajit-episodes"

    /// Must be ``formatName``.
    public var format: String
    /// Must be 1.
    public var version: Int
    /// Free-text dataset name (informational).
    public var dataset: String?
    /// N, K, Q.
    public var ways: Int, shots: Int, queries: Int
    /// Seed the episodes were sampled with (informational).
    public var seed: UInt64?
    /// The episodes.
    public var episodes: [Entry]

    /// Creates a manifest.
    public init(dataset: String? = nil, ways: Int, shots: Int, queries: Int, seed: UInt64? = nil, episodes: [Entry]) {
        self.format = Self.formatName
        self.version = 1
        self.dataset = dataset
        self.ways = ways
        self.shots = shots
        self.queries = queries
        self.seed = seed
        self.episodes = episodes
    }

    /// JSON text of the manifest (pretty-printed, sorted keys).
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// Writes the manifest as JSON to `path`.
    /// - Throws: ``DataError`` `.unreadable` if the file cannot be written.
    public func write(to path: String) throws {
        do {
            try encoded().write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw DataError(.unreadable, path: path, "cannot write manifest: \(error.localizedDescription)")
        }
    }

    /// Reads a manifest file (structure only; see ``resolve(in:path:)`` for the semantic checks).
    /// - Throws: ``DataError`` `.missingFile`, `.unreadable` or `.invalidManifest`.
    public static func read(path: String) throws -> EpisodeManifest {
        try decode(Data(readFileBytes(path)), path: path)
    }

    /// Decodes manifest JSON. `path` is used in error messages.
    /// - Throws: ``DataError`` `.invalidManifest` naming the JSON location of the problem.
    public static func decode(_ data: Data, path: String) throws -> EpisodeManifest {
        let manifest: EpisodeManifest
        do {
            manifest = try JSONDecoder().decode(EpisodeManifest.self, from: data)
        } catch let error as DecodingError {
            throw DataError(.invalidManifest, path: path, describe(error))
        } catch {
            throw DataError(.invalidManifest, path: path, "not valid JSON: \(error.localizedDescription)")
        }
        guard manifest.format == formatName else {
            throw DataError(.invalidManifest, path: path, "format is '\(manifest.format)', expected '\(formatName)'")
        }
        guard manifest.version == 1 else {
            throw DataError(.invalidManifest, path: path, "unsupported version \(manifest.version) (this reader knows 1)")
        }
        guard manifest.ways >= 1, manifest.shots >= 1, manifest.queries >= 0 else {
            throw DataError(.invalidManifest, path: path,
                            "need ways >= 1, shots >= 1, queries >= 0; got \(manifest.ways), \(manifest.shots), \(manifest.queries)")
        }
        return manifest
    }

    private static func describe(_ error: DecodingError) -> String {
        func location(_ path: [CodingKey]) -> String {
            var out = ""
            for key in path {
                if let i = key.intValue { out += "[\(i)]" } else { out += out.isEmpty ? key.stringValue : ".\(key.stringValue)" }
            }
            return out.isEmpty ? "top level" : out
        }
        switch error {
        case .keyNotFound(let key, let ctx):
            return "\(location(ctx.codingPath + [key])): missing field '\(key.stringValue)'"
        case .typeMismatch(let type, let ctx):
            return "\(location(ctx.codingPath)): expected \(type)"
        case .valueNotFound(let type, let ctx):
            return "\(location(ctx.codingPath)): expected \(type), found null"
        case .dataCorrupted(let ctx):
            return "\(location(ctx.codingPath)): \(ctx.debugDescription)"
        @unknown default:
            return "invalid manifest: \(error)"
        }
    }
}
