import Foundation

/// A plotting error: what went wrong, and the file (and line) it concerns.
public struct PlotError: Error, CustomStringConvertible, Equatable {
    /// The file at fault, with `:line` when one line is; empty when no file is involved.
    public let path: String
    /// What went wrong.
    public let message: String

    /// Creates an error.
    public init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    /// `path: message`, or the message alone.
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// The learning curves of one training run, read from its `metrics.jsonl` (one JSON object
/// per line, as `Trainer` writes it: `iteration`, `loss`, `accuracy`, `episodes_per_s`, and
/// `val_accuracy` on validation iterations).
public struct RunMetrics: Sendable, Equatable {
    /// A point of a curve.
    public struct Point: Sendable, Equatable {
        /// The iteration.
        public var x: Double
        /// The metric's value.
        public var y: Double

        /// Creates a point.
        public init(x: Double, y: Double) {
            self.x = x
            self.y = y
        }
    }

    /// The run's label in legends: its folder name.
    public var name: String
    /// The metrics file.
    public var path: String
    /// Each metric's points, in file order; only finite values (a non-finite value is
    /// written as a string such as `"nan"` and skipped).
    public var series: [String: [Point]]

    /// Creates a run from points.
    public init(name: String, path: String, series: [String: [Point]]) {
        self.name = name
        self.path = path
        self.series = series
    }

    /// Reads the run at `path`: a training output folder (its `metrics.jsonl`) or the
    /// metrics file itself. The run is named after the folder.
    /// - Throws: ``PlotError`` naming the file for a missing or empty file, and the file and
    ///   line for a line that is not a JSON object with a numeric `iteration`.
    public static func load(path: String) throws -> RunMetrics {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw PlotError(path: path, "no such file or folder")
        }
        let url = URL(fileURLWithPath: path)
        let file = isDir.boolValue ? url.appendingPathComponent("metrics.jsonl") : url
        let folder = isDir.boolValue ? url : url.deletingLastPathComponent()
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw PlotError(path: file.path, "no metrics file (a `metajit train --out` folder has metrics.jsonl)")
        }
        let data: Data
        do {
            data = try Data(contentsOf: file)
        } catch {
            throw PlotError(path: file.path, "cannot read: \(error.localizedDescription)")
        }
        return try parse(data, path: file.path, name: folder.standardizedFileURL.lastPathComponent)
    }

    /// Parses metrics JSON lines. `path` is used in error messages.
    /// - Throws: ``PlotError`` naming `path:line` for a malformed line, or `path` when there is no line.
    public static func parse(_ data: Data, path: String, name: String) throws -> RunMetrics {
        let text = String(decoding: data, as: UTF8.self)
        var series: [String: [Point]] = [:]
        var lines = 0
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            let at = "\(path):\(number + 1)"
            guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any] else {
                throw PlotError(path: at, "not a JSON object: \(trimmed.prefix(60))")
            }
            guard let iteration = (object["iteration"] as? NSNumber)?.doubleValue, iteration.isFinite else {
                throw PlotError(path: at, "no numeric \"iteration\"")
            }
            lines += 1
            for (key, value) in object where key != "iteration" {
                // Strings ("nan"), nulls and nested values are not points.
                guard let number = value as? NSNumber else { continue }
                let y = number.doubleValue
                if y.isFinite { series[key, default: []].append(Point(x: iteration, y: y)) }
            }
        }
        guard lines > 0 else { throw PlotError(path: path, "metrics file is empty") }
        return RunMetrics(name: name, path: path, series: series)
    }
}
