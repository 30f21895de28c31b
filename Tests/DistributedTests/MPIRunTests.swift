import Foundation
import Runtime
import TestSupport
import Testing

/// `metajit train --distributed mpi` under a real `mpirun` on this machine.
@Suite("Distributed training under mpirun", .serialized, .enabled(if: MPI.available, MPI.unavailable))
struct MPIRunTests {
    @Test("without mpirun, --distributed mpi says how to start it")
    func withoutLauncher() throws {
        let dir = try TestPaths.makeTemporaryFolder(prefix: "mpi-nolauncher")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try MPI.single(MPI.trainArguments(out: dir, iterations: 1) + ["--distributed", "mpi"], timeout: 60)
        #expect(r.status != 0, "\(r.log)")
        #expect(r.err.contains("not started by mpirun") && r.err.contains("mpirun -np"), "\(r.log)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent(Trainer.checkpointName).path))
    }

    @Test("1, 2 and 4 ranks (uneven shares of 6 tasks) end with the one-process parameters; resume with another P")
    func sameParameters() throws {
        let root = try TestPaths.makeTemporaryFolder(prefix: "mpi-same")
        defer { try? FileManager.default.removeItem(at: root) }
        func dir(_ name: String) throws -> URL {
            let d = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
            return d
        }
        let iterations = 6
        let single = try dir("single")
        let s = try MPI.single(MPI.trainArguments(out: single, iterations: iterations))
        try #require(s.status == 0, "\(s.log)")
        let reference = try MPI.checkpoint(single)
        #expect(reference.metadata["iteration"] == String(iterations))

        for ranks in [1, 2, 4] {
            let d = try dir("p\(ranks)")
            let r = try MPI.run(MPI.local(ranks), MPI.trainArguments(out: d, iterations: iterations) + ["--distributed", "mpi"])
            try #require(r.status == 0, "P=\(ranks): \(r.log)")
            #expect(r.err.contains("on \(ranks) MPI ranks"), "\(r.log)")
            let c = try MPI.checkpoint(d)
            #expect(c.metadata["iteration"] == String(iterations))
            let w = MPI.difference(reference.tensors, c.tensors)
            #expect(w < 1e-4, "P=\(ranks): largest relative parameter difference \(w)")
            // Rank 0 alone logs: one metrics line per iteration.
            let lines = try String(contentsOf: d.appendingPathComponent(Trainer.metricsName), encoding: .utf8)
                .split(separator: "\n")
            #expect(lines.count == iterations, "P=\(ranks): \(lines.count) metrics lines")
        }

        // Half the run on 2 ranks, the rest resumed on 4: the same parameters again.
        let resumed = try dir("resumed")
        let a = try MPI.run(MPI.local(2), MPI.trainArguments(out: resumed, iterations: iterations / 2) + ["--distributed", "mpi"])
        try #require(a.status == 0, "\(a.log)")
        let b = try MPI.run(MPI.local(4), MPI.trainArguments(out: resumed, iterations: iterations) + ["--distributed", "mpi", "--resume"])
        try #require(b.status == 0, "\(b.log)")
        #expect(b.err.contains("from iteration \(iterations / 2)"), "\(b.log)")
        let w = MPI.difference(reference.tensors, try MPI.checkpoint(resumed).tensors)
        #expect(w < 1e-4, "resumed on another P: largest relative parameter difference \(w)")
    }

    @Test("more ranks than tasks is refused with a plain error on every rank, no hang")
    func moreRanksThanTasks() throws {
        let dir = try TestPaths.makeTemporaryFolder(prefix: "mpi-toomany")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try MPI.run(MPI.local(3), MPI.trainArguments(out: dir, iterations: 2, metaBatch: 2) + ["--distributed", "mpi"],
                            timeout: 120)
        #expect(!r.timedOut && r.status != 0, "\(r.log)")
        #expect(r.err.contains("the meta-batch has 2 tasks but there are 3 processes"), "\(r.log)")
    }

    @Test("a rank killed mid-run stops the others within a bound; the last checkpoint still loads and resumes")
    func rankDies() throws {
        guard let mpirun = MPI.mpirun, let metajit = MPI.metajit else { throw CLIMissing() }
        let dir = try TestPaths.makeTemporaryFolder(prefix: "mpi-fault")
        defer { try? FileManager.default.removeItem(at: dir) }
        guard let (job, victim) = try Self.startLongRun(mpirun, metajit, out: dir, extra: []) else { return }
        kill(victim, SIGKILL)
        let killed = Date()
        let r = job.wait(timeout: 120)
        let afterKill = Date().timeIntervalSince(killed)
        print("rank 1 killed: the job ended \(String(format: "%.1f", afterKill)) s later")
        #expect(!r.timedOut, "the job did not stop after rank 1 died: \(r.log)")
        #expect(r.status != 0, "\(r.log)")
        #expect(afterKill < 60, "the survivors took \(afterKill) s to stop")
        // No rank outlives the job.
        #expect(Self.rank(0, under: job.process.processIdentifier) == nil)
        // The checkpoint on disk is whole (atomic writes) and training resumes from it.
        let c = try MPI.checkpoint(dir)
        let done = try #require(c.metadata["iteration"].flatMap(Int.init))
        #expect(done >= 2 && done % 2 == 0)
        let resumed = try MPI.single(MPI.trainArguments(out: dir, iterations: done + 1, checkpointEvery: 2) + ["--resume"])
        #expect(resumed.status == 0, "\(resumed.log)")
        #expect(try MPI.checkpoint(dir).metadata["iteration"] == String(done + 1))
    }

    @Test("a rank that hangs (SIGSTOP) ends the job after --collective-timeout; the checkpoint still loads")
    func rankHangs() throws {
        guard let mpirun = MPI.mpirun, let metajit = MPI.metajit else { throw CLIMissing() }
        let dir = try TestPaths.makeTemporaryFolder(prefix: "mpi-hang")
        defer { try? FileManager.default.removeItem(at: dir) }
        guard let (job, victim) = try Self.startLongRun(mpirun, metajit, out: dir, extra: ["--collective-timeout", "4"]) else { return }
        kill(victim, SIGSTOP)
        let stopped = Date()
        let r = job.wait(timeout: 90)
        let afterStop = Date().timeIntervalSince(stopped)
        kill(victim, SIGKILL)
        print("rank 1 stopped: the job ended \(String(format: "%.1f", afterStop)) s later")
        #expect(!r.timedOut, "the job did not stop after rank 1 hung: \(r.log)")
        #expect(r.status != 0, "\(r.log)")
        #expect(r.err.contains("has not finished after 4 s"), "\(r.log)")
        #expect(afterStop < 60, "the job took \(afterStop) s to stop")
        let c = try MPI.checkpoint(dir)
        #expect(c.metadata["iteration"].flatMap(Int.init).map { $0 >= 2 } == true)
    }

    /// Starts a 2-rank run of a million iterations that checkpoints every 2, waits for its
    /// first checkpoint and returns the job with rank 1's process id (nil, with an issue
    /// recorded, if rank 1 cannot be found).
    static func startLongRun(_ mpirun: String, _ metajit: String, out dir: URL,
                             extra: [String]) throws -> (MPI.Running, Int32)? {
        let job = try MPI.Running(mpirun, MPI.local(2) + [metajit]
            + MPI.trainArguments(out: dir, iterations: 1_000_000, checkpointEvery: 2) + ["--distributed", "mpi"] + extra)
        let ckpt = dir.appendingPathComponent(Trainer.checkpointName)
        let deadline = Date().addingTimeInterval(180)
        while !FileManager.default.fileExists(atPath: ckpt.path), job.process.isRunning, Date() < deadline { usleep(100_000) }
        guard let victim = rank(1, under: job.process.processIdentifier) else {
            let r = job.wait(timeout: 1)
            Issue.record("rank 1 not found under mpirun \(job.process.processIdentifier): \(r.log)")
            return nil
        }
        return (job, victim)
    }

    /// The process below `parent` (children and grandchildren) whose environment says it is
    /// MPI rank `rank`.
    static func rank(_ rank: Int, under parent: Int32) -> Int32? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        var parentOf: [Int32: Int32] = [:]
        for e in entries {
            guard let pid = Int32(e), let stat = try? String(contentsOfFile: "/proc/\(e)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let ppid = Int32(fields[1]) { parentOf[pid] = ppid }
        }
        func below(_ pid: Int32) -> Bool {
            var p = pid
            for _ in 0..<4 {
                guard let up = parentOf[p] else { return false }
                if up == parent { return true }
                p = up
            }
            return false
        }
        for (pid, _) in parentOf where below(pid) {
            guard let env = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { continue }
            let vars = env.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if vars.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return pid }
        }
        return nil
    }
}
