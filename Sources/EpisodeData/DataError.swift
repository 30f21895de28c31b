import Foundation

/// An error raised while reading, decoding or sampling episode data.
///
/// Every error names the file, folder, archive entry or manifest it concerns (``path``)
/// and says in words what was wrong (``detail``). ``kind`` lets callers and tests tell
/// the cases apart without parsing text.
public struct DataError: Error, CustomStringConvertible, LocalizedError, Equatable, Sendable {
    /// The category of a ``DataError``.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// A file or folder does not exist.
        case missingFile
        /// A file exists but could not be read.
        case unreadable
        /// A file that should be a PNG does not start with the PNG signature.
        case notPNG
        /// A file or stream ends before the data its header promises.
        case truncated
        /// A well-formed file uses a feature this reader does not support.
        case unsupportedFormat
        /// A file is malformed (bad chunk, bad compressed stream, inconsistent header).
        case corruptData
        /// A class (Omniglot character folder) holds no images.
        case emptyClass
        /// An alphabet name that no source provides.
        case unknownAlphabet
        /// No images were found at all under a path.
        case noImages
        /// An IDX file with the wrong magic number.
        case badIDXMagic
        /// An IDX file whose size does not match the dimensions in its header.
        case badIDXSize
        /// An episode manifest that cannot be used.
        case invalidManifest
        /// A split file that cannot be used.
        case invalidSplit
        /// Arguments that cannot be satisfied (e.g. more ways than classes).
        case invalidArgument
    }

    /// What kind of problem this is.
    public let kind: Kind
    /// The file, folder, `archive.zip:entry` or other location concerned.
    public let path: String
    /// A human-readable explanation of what was wrong.
    public let detail: String

    /// Creates an error of `kind` about `path`, explained by `detail`.
    public init(_ kind: Kind, path: String, _ detail: String) {
        self.kind = kind
        self.path = path
        self.detail = detail
    }

    /// `"<path>: <detail>"`.
    public var description: String {
        path.isEmpty ? detail : "\(path): \(detail)"
    }

    /// Same as ``description``.
    public var errorDescription: String? { description }
}
