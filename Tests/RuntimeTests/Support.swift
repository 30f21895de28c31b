import EpisodeData
import Foundation
import Interpreter
import JIT
import MetaIR
import MetaLearning
import Runtime
import TestSupport
import Testing

/// Helpers shared by the runtime (end-to-end training) tests.
enum RT {
    /// The bundled Omniglot zips (`data/omniglot` in the repository).
    static let omniglotDir: String? = TestPaths.data("omniglot")?.path

    static var hasOmniglot: Bool { omniglotDir != nil }

    /// Why an Omniglot test is disabled.
    static let noOmniglot: Comment = "bundled Omniglot (data/omniglot) not found in \(TestPaths.repositoryRoot.path)"

    /// Every bundled image at 28×28, decoded once per test process.
    static let store: Result<OmniglotImageStore, any Error> = {
        guard let dir = omniglotDir else {
            return .failure(DataError(.missingFile, path: "data/omniglot", "not found"))
        }
        return Result { try OmniglotImageStore(path: dir, imageSize: 28, threads: 2) }
    }()

    /// Meta-train alphabets (no rotations: fewer classes, faster to fit in a CI budget).
    static func trainData() throws -> OmniglotDataset {
        try OmniglotDataset(store: store.get(), alphabets: OmniglotSplit.metaTrain, rotations: [0])
    }

    /// Held-out meta-test alphabets (characters never seen in training).
    static func testData() throws -> OmniglotDataset {
        try OmniglotDataset(store: store.get(), alphabets: OmniglotSplit.metaTest, rotations: [0])
    }

    /// Runs `trainer` to its last iteration on batches streamed from `sampler` (one loader
    /// thread), fed through `feeds`; returns the seconds it took.
    static func run<D: ClassDataset>(_ trainer: Trainer, sampler: EpisodeSampler<D>,
                                     feeds: (MetaBatch) -> [String: FeedValue] = RT.feeds) throws -> Double {
        let loader = try sampler.makeLoader(threads: 1, capacity: 4, start: trainer.iteration)
        defer { loader.stop() }
        let start = ContinuousClock.now
        try trainer.run(batch: { i in
            guard let b = try loader.next() else { return nil }
            precondition(b.index == i, "loader out of order")
            return feeds(b)
        }, evaluate: nil)
        return seconds(since: start)
    }

    /// A meta-batch as step inputs (what `metajit train` feeds: `BatchFeeds.make`).
    static func feeds(_ b: MetaBatch) -> [String: FeedValue] {
        ["support_x": .f32(b.supportX, b.supportXShape), "support_y": .i32(b.supportY, b.supportYShape),
         "query_x": .f32(b.queryX, b.queryXShape), "query_y": .i32(b.queryY, b.queryYShape)]
    }

    /// Kernel threads of the compiled programs (2, as in training; `METAJIT_TEST_THREADS`
    /// overrides).
    static let threads = Int(ProcessInfo.processInfo.environment["METAJIT_TEST_THREADS"] ?? "") ?? 2

    /// JIT-compiles a graph at -O3 without the on-disk cache.
    static func compile(_ g: Graph) throws -> CompiledProgram {
        try CompiledProgram(graph: g, options: CompileOptions(optLevel: .O3, threads: threads, cache: nil))
    }

    /// A fresh temporary directory.
    static func tempDir(_ tag: String) throws -> URL {
        try TestPaths.makeTemporaryFolder(prefix: "runtime-tests-\(tag)")
    }

    static func remove(_ url: URL) { try? FileManager.default.removeItem(at: url) }

    /// Trainer options for a quiet test run.
    static func options(iterations: Int, dir: URL, checkpointEvery: Int, lr: Double, tasks: Int) -> TrainerOptions {
        TrainerOptions(iterations: iterations, outputDirectory: dir, checkpointEvery: checkpointEvery,
                       evaluateEvery: 0, learningRate: { _ in lr }, tasksPerBatch: tasks, progress: false)
    }

    /// Seconds since `start`.
    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// Largest relative difference `|a − b| / max(|a|, |b|, floor)` over two equal-shape tensors.
    static func maxRelativeDifference(_ a: HostTensor, _ b: HostTensor, floor: Double = 1e-3) -> Double {
        precondition(a.data.count == b.data.count)
        var worst = 0.0
        for (x, y) in zip(a.data, b.data) {
            let d = abs(x - y) / max(abs(x), abs(y), floor)
            if !(d <= worst) { worst = d.isNaN ? .infinity : d }
        }
        return worst
    }

    /// Prints a line to stderr (observations the test log keeps).
    static func note(_ s: String) { FileHandle.standardError.write(Data(("[RuntimeTests] " + s + "\n").utf8)) }
}
