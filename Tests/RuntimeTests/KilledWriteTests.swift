import Foundation
import Runtime
import Testing

/// What a `kill -9` in the middle of a checkpoint write leaves behind (found by
/// scripts/soak-kill9.sh): the killed process's `.checkpoint.safetensors.tmp-<pid>`. Each kill
/// left one more, so a job restarted with `--resume` after every crash piled them up.
@Suite("Temporaries of killed checkpoint writes are cleaned up")
struct KilledWriteTests {
    /// The pid of a process that has exited (and been reaped), so no process has it now
    /// unless the kernel reuses it within the test.
    static func deadPID() throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        return p.processIdentifier
    }

    static func temporary(_ dir: URL, pid: Int32) -> URL {
        dir.appendingPathComponent(".\(Trainer.checkpointName).tmp-\(pid)")
    }

    @Test("removeStaleTemporaries deletes dead writers' files and keeps live ones and others")
    func removesOnlyDeadWriters() throws {
        let dir = try RT.tempDir("stale-tmp")
        defer { RT.remove(dir) }
        let url = dir.appendingPathComponent(Trainer.checkpointName)
        try CheckpointTests.store(seed: 1).save(to: url, metadata: ["iteration": "4"])

        let live = Process()
        live.executableURL = URL(fileURLWithPath: "/bin/sleep")
        live.arguments = ["30"]
        try live.run()
        // SIGKILL: the test runner's threads may block SIGTERM, which the child inherits.
        defer { kill(live.processIdentifier, SIGKILL); live.waitUntilExit() }

        let dead = Self.temporary(dir, pid: try Self.deadPID())
        let liveTmp = Self.temporary(dir, pid: live.processIdentifier)
        let own = Self.temporary(dir, pid: getpid())
        let unrelated = dir.appendingPathComponent(".other.safetensors.tmp-1")
        for f in [dead, liveTmp, own, unrelated] { try Data("half a checkpoint".utf8).write(to: f) }

        #expect(SafeTensors.removeStaleTemporaries(besides: url) == [dead.lastPathComponent])
        for f in [liveTmp, own, unrelated, url] {
            #expect(FileManager.default.fileExists(atPath: f.path), "\(f.lastPathComponent) was deleted")
        }
        #expect(!FileManager.default.fileExists(atPath: dead.path))
        #expect(try ParameterStore.metadata(of: url)["iteration"] == "4")
    }

    @Test("a resumed Trainer deletes the temporaries of killed writes and resumes from the checkpoint")
    func trainerCleansOnResume() throws {
        try SinusoidFixture.shared.use { s in
            let dir = try RT.tempDir("stale-tmp-trainer")
            defer { RT.remove(dir) }
            let tasks = try SinusoidFixture.generator(seed: 2)
            func trainer(iterations: Int, resume: Bool) throws -> Trainer {
                try Trainer(step: s.program, store: ParameterStore(specs: s.step.parameters, seed: 4),
                            options: RT.options(iterations: iterations, dir: dir, checkpointEvery: 2, lr: 1e-3,
                                                tasks: SinusoidFixture.tasks),
                            metadata: [:], resume: resume)
            }
            let first = try trainer(iterations: 4, resume: false)
            try first.run(batch: { SinusoidFixture.feeds(tasks.batch(at: $0)) }, evaluate: nil)
            let killed = [try Self.deadPID(), try Self.deadPID()].map { Self.temporary(dir, pid: $0) }
            for f in killed { try Data("torn".utf8).write(to: f) }

            let resumed = try trainer(iterations: 6, resume: true)
            #expect(resumed.iteration == 4)
            for f in killed { #expect(!FileManager.default.fileExists(atPath: f.path)) }
            try resumed.run(batch: { SinusoidFixture.feeds(tasks.batch(at: $0)) }, evaluate: nil)
            let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
            #expect(left == [Trainer.checkpointName, Trainer.metricsName])
        }
    }
}
