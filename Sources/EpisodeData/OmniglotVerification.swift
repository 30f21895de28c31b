import Dispatch
import Foundation
import ZIPFoundation

/// What ``OmniglotCatalog/verify(threads:)`` found: how much was checked and every file
/// that could not be read or decoded.
public struct OmniglotVerification: Sendable, CustomStringConvertible {
    /// Images checked.
    public let imageCount: Int
    /// Alphabets the images belong to.
    public let alphabetCount: Int
    /// One error per bad file, in catalog order; each names `archive.zip:entry` or the file.
    public let problems: [DataError]

    /// Creates a report.
    public init(imageCount: Int, alphabetCount: Int, problems: [DataError]) {
        self.imageCount = imageCount
        self.alphabetCount = alphabetCount
        self.problems = problems
    }

    /// Every image decoded.
    public var isValid: Bool { problems.isEmpty }

    /// `verified N images in A alphabets: K bad`.
    public var summary: String {
        "verified \(imageCount) images in \(alphabetCount) alphabets: \(problems.count) bad"
    }

    /// One `bad: <path>: <what is wrong>` line per problem, then ``summary``.
    public var description: String {
        (problems.map { "bad: \($0)" } + [summary]).joined(separator: "\n")
    }
}

/// Collects errors from parallel workers by item index, under a lock.
private final class ErrorList: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [(index: Int, error: DataError)] = []

    func record(_ error: DataError, at index: Int) {
        lock.lock()
        errors.append((index, error))
        lock.unlock()
    }

    var sorted: [DataError] {
        lock.lock()
        defer { lock.unlock() }
        return errors.sorted { $0.index < $1.index }.map(\.error)
    }
}

extension OmniglotCatalog {
    /// Reads and decodes every image the loader would use, checking zip CRCs too, and
    /// reports every bad file instead of stopping at the first one (as loading does).
    ///
    /// Files whose names are not `.png` are not images to the loader and are not checked.
    public func verify(threads: Int = OmniglotImageStore.defaultThreads) -> OmniglotVerification {
        let items = characters.flatMap(\.locations)
        let errors = ErrorList()
        let workers = max(1, min(threads, items.count))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var archives: [String: Archive] = [:]
            for index in stride(from: worker, to: items.count, by: workers) {
                let name = Self.describe(items[index])
                do {
                    let bytes = try Self.readBytes(items[index], archives: &archives, verifyZipCRC: true)
                    let image = try PNGDecoder.decode(bytes, path: name)
                    if image.width == 0 || image.height == 0 {
                        throw DataError(.corruptData, path: name, "image is \(image.width)×\(image.height)")
                    }
                } catch let error as DataError {
                    errors.record(error, at: index)
                } catch {
                    errors.record(DataError(.corruptData, path: name, "\(error)"), at: index)
                }
            }
        }
        return OmniglotVerification(imageCount: items.count, alphabetCount: alphabets.count, problems: errors.sorted)
    }
}
