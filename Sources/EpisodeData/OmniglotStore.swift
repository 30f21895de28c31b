import Dispatch
import Foundation
import ZIPFoundation

/// The decoded-image cache: every image of the selected Omniglot characters decoded
/// once, converted to ink values (stroke = 1, background = 0), resized to
/// `imageSize × imageSize` by area averaging, and kept in one contiguous `[Float]`
/// (`imageSize * imageSize` floats per image, characters in catalog order, images in
/// file-name order).
///
/// The store is immutable and shared by value-semantics views (``OmniglotDataset``), so
/// one decode serves every split and rotation setting built from it.
public final class OmniglotImageStore: Sendable {
    /// One decoded character.
    public struct Record: Sendable {
        /// Alphabet name.
        public let alphabet: String
        /// Character folder name.
        public let name: String
        /// Image file names (sorted), one per stored image.
        public let fileNames: [String]
        /// Index of the first image of this character in the store.
        public let firstImage: Int

        /// `<alphabet>/<name>`.
        public var key: String { "\(alphabet)/\(name)" }
    }

    /// Side length of the stored square images.
    public let imageSize: Int
    /// The decoded characters, in catalog order.
    public let records: [Record]
    /// All pixels: image `i` occupies `pixels[i*imageSize*imageSize ..< (i+1)*imageSize*imageSize]`.
    public let pixels: [Float]
    /// Wall-clock seconds the decode took.
    public let decodeSeconds: Double

    /// Number of stored images.
    public var imageCount: Int { pixels.count / max(1, imageSize * imageSize) }

    /// Alphabets present in the store, sorted.
    public var alphabets: [String] {
        var seen = Set<String>()
        return records.compactMap { seen.insert($0.alphabet).inserted ? $0.alphabet : nil }.sorted()
    }

    init(imageSize: Int, records: [Record], pixels: [Float], decodeSeconds: Double) {
        self.imageSize = imageSize
        self.records = records
        self.pixels = pixels
        self.decodeSeconds = decodeSeconds
    }

    /// Scans the Omniglot data at `path` and decodes the given alphabets (all if nil).
    public convenience init(path: String, alphabets: [String]? = nil, imageSize: Int = 28,
                            threads: Int = OmniglotImageStore.defaultThreads) throws {
        let catalog = try OmniglotCatalog(path: path)
        let store = try catalog.decode(alphabets: alphabets, imageSize: imageSize, threads: threads)
        self.init(imageSize: store.imageSize, records: store.records, pixels: store.pixels,
                  decodeSeconds: store.decodeSeconds)
    }

    /// The number of active processors, used as the default decode parallelism.
    public static var defaultThreads: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }
}

/// Shares a mutable buffer with `concurrentPerform` workers that write disjoint ranges.
/// `@unchecked Sendable` because the compiler cannot see that the ranges never overlap.
private struct SharedFloats: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
}

/// Collects the first error (by item order) raised by parallel workers, under a lock.
private final class ErrorSlot: @unchecked Sendable {
    private let lock = NSLock()
    private var first: (index: Int, error: Error)?

    func record(_ error: Error, at index: Int) {
        lock.lock()
        if first == nil || index < (first?.index ?? Int.max) { first = (index, error) }
        lock.unlock()
    }

    var error: Error? {
        lock.lock()
        defer { lock.unlock() }
        return first?.error
    }
}

extension OmniglotCatalog {
    /// Decodes every image of the given alphabets (all if nil) into an ``OmniglotImageStore``,
    /// in parallel on `threads` workers (each with its own zip handles).
    ///
    /// - Throws: ``DataError``: `.unknownAlphabet` (listing the available ones), or the
    ///   first decode error (`.notPNG`, `.truncated`, ... naming `archive.zip:entry` or the file).
    public func decode(alphabets selected: [String]? = nil, imageSize: Int = 28,
                       threads: Int = OmniglotImageStore.defaultThreads) throws -> OmniglotImageStore {
        guard imageSize > 0 else {
            throw DataError(.invalidArgument, path: "", "imageSize must be positive, got \(imageSize)")
        }
        let start = DispatchTime.now().uptimeNanoseconds
        if let selected { try validate(alphabets: selected) }
        let wanted = selected.map(Set.init)
        let chosen = characters.filter { wanted?.contains($0.alphabet) ?? true }
        var records: [Record] = []
        var work: [Location] = []
        for character in chosen {
            records.append(OmniglotImageStore.Record(alphabet: character.alphabet, name: character.name,
                                                     fileNames: character.fileNames, firstImage: work.count))
            work.append(contentsOf: character.locations)
        }
        let side = imageSize
        let perImage = side * side
        let total = work.count * perImage
        let errors = ErrorSlot()
        let workers = max(1, min(threads, work.count))
        let items = work
        let pixels = [Float](unsafeUninitializedCapacity: total) { buffer, initialized in
            guard let base = buffer.baseAddress else { initialized = 0; return }
            base.initialize(repeating: 0, count: total)
            let shared = SharedFloats(base: base)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                var archives: [String: Archive] = [:]
                var index = worker
                while index < items.count {
                    do {
                        let bytes = try Self.readBytes(items[index], archives: &archives)
                        let name = Self.describe(items[index])
                        let image = try PNGDecoder.decode(bytes, path: name)
                        let ink = try Self.resized(image, side: side)
                        ink.withUnsafeBufferPointer { src in
                            if let s = src.baseAddress {
                                (shared.base + index * perImage).update(from: s, count: perImage)
                            }
                        }
                    } catch {
                        errors.record(error, at: index)
                        return
                    }
                    index += workers
                }
            }
            initialized = total
        }
        if let error = errors.error { throw error }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return OmniglotImageStore(imageSize: side, records: records, pixels: pixels, decodeSeconds: seconds)
    }

    typealias Record = OmniglotImageStore.Record

    static func describe(_ location: Location) -> String {
        switch location {
        case .file(let path): return path
        case .zipEntry(let archive, let box): return "\(archive):\(box.entry.path)"
        }
    }

    /// The bytes of one image. Zip CRCs are skipped by default (the PNG decoder checks its own
    /// chunk CRCs); `verifyZipCRC` also checks the archive's, for `metajit data --verify`.
    static func readBytes(_ location: Location, archives: inout [String: Archive],
                          verifyZipCRC: Bool = false) throws -> [UInt8] {
        switch location {
        case .file(let path):
            return try readFileBytes(path)
        case .zipEntry(let path, let box):
            let archive: Archive
            if let open = archives[path] {
                archive = open
            } else {
                do {
                    archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
                } catch {
                    throw DataError(.unreadable, path: path, "cannot open as a zip archive: \(error)")
                }
                archives[path] = archive
            }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(Int(box.entry.uncompressedSize))
            do {
                _ = try archive.extract(box.entry, skipCRC32: !verifyZipCRC) { chunk in bytes.append(contentsOf: chunk) }
            } catch {
                throw DataError(.corruptData, path: "\(path):\(box.entry.path)", "cannot extract zip entry: \(error)")
            }
            return bytes
        }
    }

    /// Ink values of `image`, resized to `side × side` by area averaging.
    static func resized(_ image: GrayImage, side: Int) throws -> [Float] {
        let ink = ImageOps.inkValues(image)
        if image.width == side && image.height == side { return ink }
        // Clamp away float rounding (weights sum to 1 only up to an ulp).
        return try ImageOps.resizeArea(ink, width: image.width, height: image.height, toWidth: side, toHeight: side)
            .map { min(1, max(0, $0)) }
    }
}

extension OmniglotCatalog {
    /// Decodes one original image (e.g. 105×105) without resizing: image `imageIndex` of
    /// `characters[characterIndex]`.
    /// - Throws: ``DataError`` `.invalidArgument` for bad indices, or a decode error naming the file.
    public func decodeImage(characterIndex: Int, imageIndex: Int) throws -> GrayImage {
        guard characters.indices.contains(characterIndex),
              characters[characterIndex].locations.indices.contains(imageIndex) else {
            throw DataError(.invalidArgument, path: sources.map(\.path).joined(separator: ", "),
                            "no image \(imageIndex) of character \(characterIndex)")
        }
        let location = characters[characterIndex].locations[imageIndex]
        var archives: [String: Archive] = [:]
        let bytes = try Self.readBytes(location, archives: &archives)
        return try PNGDecoder.decode(bytes, path: Self.describe(location))
    }
}
