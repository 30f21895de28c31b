import Foundation
import Runtime
import TestSupport
import Testing

/// Launching `metajit` under `mpirun` from tests.
enum MPI {
    /// Open MPI's launcher, when installed (scripts/install-deps.sh installs openmpi-bin).
    static let mpirun: String? = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
    static var available: Bool { mpirun != nil && metajit != nil }
    static let unavailable: Comment = "mpirun (openmpi-bin) or the built metajit binary not found: run scripts/install-deps.sh and swift build"

    /// The built `metajit` (debug first, as `startMetaJIT` picks it).
    static let metajit: String? = [".build/debug/metajit", ".build/release/metajit"]
        .map { TestPaths.repositoryRoot.appendingPathComponent($0).path }
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Environment for every launch: Open MPI as root, a shared compile cache (ranks of the
    /// same shape compile once).
    static let environment: [String: String] = [
        "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        "METAJIT_CACHE_DIR": FileManager.default.temporaryDirectory.appendingPathComponent("metajit-mpi-test-cache").path,
    ]

    /// A tiny training run: MLP backbone, one alphabet, no validation.
    static func trainArguments(out: URL, iterations: Int, metaBatch: Int = 6, checkpointEvery: Int = 3) -> [String] {
        ["train", "conv4", "--backbone", "mlp:24,16", "--ways", "5", "--shots", "1", "--queries", "2",
         "--meta-batch", "\(metaBatch)", "--iterations", "\(iterations)", "--eval-every", "0",
         "--checkpoint-every", "\(checkpointEvery)", "--train-split", "Latin", "--threads", "1", "--quiet",
         "--seed", "5", "--out", out.path]
    }

    /// `mpirun` flags for `ranks` local ranks, oversubscribed on this machine's cores.
    static func local(_ ranks: Int) -> [String] {
        ["--oversubscribe", "--bind-to", "none", "-np", "\(ranks)", "--mca", "btl_vader_single_copy_mechanism", "none"]
    }

    /// What a finished process left.
    struct Finished {
        var status: Int32, out: String, err: String, seconds: Double, timedOut: Bool
        var log: String { "status \(status)\(timedOut ? " (timed out)" : "")\nstdout:\n\(out)\nstderr:\n\(err)" }
    }

    /// Starts `executable` with output going to files (no pipe to fill up).
    final class Running {
        let process = Process()
        let outURL: URL, errURL: URL
        let started = Date()

        init(_ executable: String, _ args: [String], environment: [String: String] = MPI.environment) throws {
            let tmp = FileManager.default.temporaryDirectory
            outURL = tmp.appendingPathComponent("mpi-test-\(UUID().uuidString).out")
            errURL = tmp.appendingPathComponent("mpi-test-\(UUID().uuidString).err")
            _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
            _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = args
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
            process.standardOutput = try FileHandle(forWritingTo: outURL)
            process.standardError = try FileHandle(forWritingTo: errURL)
            try process.run()
        }

        /// Waits up to `timeout` seconds, then kills the process (and says so).
        func wait(timeout: Double) -> Finished {
            var timedOut = false
            while process.isRunning {
                if Date().timeIntervalSince(started) > timeout {
                    timedOut = true
                    process.terminate()
                    usleep(500_000)
                    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                }
                usleep(50_000)
            }
            process.waitUntilExit()
            let seconds = Date().timeIntervalSince(started)
            let out = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
            let err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
            return Finished(status: process.terminationStatus, out: out, err: err, seconds: seconds, timedOut: timedOut)
        }
    }

    /// Runs `mpirun flags… metajit args…` to completion (at most `timeout` seconds).
    static func run(_ flags: [String], _ args: [String], timeout: Double = 240) throws -> Finished {
        guard let mpirun, let metajit else { throw CLIMissing() }
        return try Running(mpirun, flags + [metajit] + args).wait(timeout: timeout)
    }

    /// Runs `metajit args…` in one process.
    static func single(_ args: [String], timeout: Double = 240) throws -> Finished {
        guard let metajit else { throw CLIMissing() }
        return try Running(metajit, args).wait(timeout: timeout)
    }

    /// A checkpoint's tensors and metadata.
    static func checkpoint(_ dir: URL) throws -> (tensors: [String: [Float]], metadata: [String: String]) {
        let url = dir.appendingPathComponent(Trainer.checkpointName)
        let d = try SafeTensors.decode(try Data(contentsOf: url), path: url.path)
        return (d.tensors.mapValues(\.values), d.metadata)
    }

    /// Largest relative difference between two checkpoints' tensors (infinite when their
    /// names or sizes differ).
    static func difference(_ a: [String: [Float]], _ b: [String: [Float]]) -> Double {
        guard Set(a.keys) == Set(b.keys), !a.isEmpty else { return .infinity }
        var worst = 0.0
        for (k, x) in a {
            guard let y = b[k], y.count == x.count else { return .infinity }
            for (u, v) in zip(x, y) { worst = max(worst, Double(abs(u - v)) / max(Double(abs(u)), Double(abs(v)), 1e-3)) }
        }
        return worst
    }
}
