import EpisodeData
import Foundation
import Interpreter
import MetaIR
import MetaLearning
import Runtime

/// What a training run used, stored in the checkpoint's metadata (`run`), so `metajit eval`
/// defaults to the same data, split and preprocessing.
struct RunRecord: Codable {
    var recipe: String?
    var evalStep: StepConfig
    var trainWays: Int
    var trainQueries: Int
    var outerLR: Double
    var halveEvery: Int
    var evalInnerSteps: Int
    var data: String
    var trainSplit: [String]
    var valSplit: [String]
    var testSplit: [String]
    var rotations: [Int]
    var seed: UInt64
    /// Multi-source runs: the learner and sources (nil for every other run).
    var multiSource: MultiSourceRecord? = nil
    /// Sequence runs (MANN, SNAIL): the step configuration (nil for every other run).
    var sequence: SequenceRecord? = nil
    /// Text runs: the text set-up with its vocabulary (nil for every other run).
    var text: TextRecord? = nil

    var trainStep: StepConfig {
        var c = evalStep
        c.ways = trainWays
        c.queries = trainQueries
        return c
    }

    /// The record as JSON with sorted keys, so that the same run writes the same checkpoint
    /// bytes in every process (the kill -9 soak compares checkpoints).
    func encoded() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    static func decode(_ text: String?, path: String) throws -> RunRecord {
        guard let text, let r = try? JSONDecoder().decode(RunRecord.self, from: Data(text.utf8)) else {
            throw CheckpointError(path: path, message: "checkpoint metadata has no readable \"run\" record")
        }
        return r
    }
}

/// Finds the bundled Omniglot when no path is given: `data/omniglot` in the repository (the
/// folder with `Package.swift` at or above the working directory or the binary), else a
/// `shared/data/omniglot` beside it.
enum DataLocator {
    static func omniglot(_ explicit: String?) throws -> String {
        if let explicit { return explicit }
        if let env = ProcessInfo.processInfo.environment["METAJIT_DATA"] { return env }
        var roots = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        roots.append(URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent())
        let fm = FileManager.default
        // First the repository's own copy (a folder with Package.swift), then a shared one.
        let places: [(relative: String, needsPackage: Bool)] = [
            ("data/omniglot", true), ("shared/data/omniglot", false), ("../shared/data/omniglot", false),
        ]
        for place in places {
            for root in roots {
                var dir = root.standardizedFileURL
                for _ in 0..<8 {
                    let candidate = dir.appendingPathComponent(place.relative).standardizedFileURL
                    let inRepository = !place.needsPackage || fm.fileExists(atPath: dir.appendingPathComponent("Package.swift").path)
                    if inRepository, fm.fileExists(atPath: candidate.path) { return candidate.path }
                    dir = dir.deletingLastPathComponent()
                }
            }
        }
        throw CheckpointError(path: "data/omniglot", message: "bundled Omniglot not found (data/omniglot in the repository); pass --data PATH")
    }

    /// Alphabets from a comma-separated list or a split file.
    static func split(_ spec: String) throws -> [String] {
        if FileManager.default.fileExists(atPath: spec) { return try OmniglotSplit.read(path: spec) }
        return spec.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

/// Turns a meta-batch from the loader into step inputs.
enum BatchFeeds {
    static func make(_ b: MetaBatch) -> [String: FeedValue] {
        [StepSignature.supportX: .f32(b.supportX, b.supportXShape),
         StepSignature.supportY: .i32(b.supportY, b.supportYShape),
         StepSignature.queryX: .f32(b.queryX, [b.batchSize, b.ways * b.queries] + b.imageShape.dims),
         StepSignature.queryY: .i32(b.queryY, [b.batchSize, b.ways * b.queries])]
    }
}
