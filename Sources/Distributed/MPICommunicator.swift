import CMPI
import Foundation
import Runtime

/// MPI_COMM_WORLD as a `GradientReducer` (Open MPI through the `CMPI` system library).
///
/// `MPI_Init` runs once per process, when the first communicator is made (`shared()`), and
/// `finalize()` once at exit. Errors on the communicator return codes to this code, which
/// names the failed operation and throws; the caller then ends the job with `abort(code:)`,
/// so the surviving ranks never wait for a rank that has given up. A rank that dies
/// outright is detected by `mpirun`, which ends the others (Open MPI's default).
public final class MPICommunicator: GradientReducer {
    /// This process's rank in MPI_COMM_WORLD.
    public let rank: Int
    /// The number of ranks in MPI_COMM_WORLD.
    public let size: Int
    /// Ends this process when one collective runs longer than its limit (see `watch(limit:)`).
    private let watchdog = CollectiveWatchdog()
    nonisolated(unsafe) private static var instance: MPICommunicator?
    nonisolated(unsafe) private static var finalized = false

    private init() throws {
        var provided: Int32 = 0
        try Self.check(metajit_mpi_init(&provided), "MPI_Init_thread")
        try Self.check(metajit_mpi_errors_return(), "MPI_Comm_set_errhandler")
        var r: Int32 = 0, s: Int32 = 0
        try Self.check(metajit_mpi_rank(&r), "MPI_Comm_rank")
        try Self.check(metajit_mpi_size(&s), "MPI_Comm_size")
        rank = Int(r)
        size = Int(s)
    }

    /// The process's communicator; the first call initialises MPI. Throws when MPI cannot
    /// start (for example outside `mpirun`, see `launchEnvironment`).
    public static func shared() throws -> MPICommunicator {
        if let instance { return instance }
        guard !finalized else { throw DistributedError.communication("MPI was already finalised in this process") }
        let c = try MPICommunicator()
        instance = c
        return c
    }

    /// The world size `mpirun` announced in the environment (Open MPI's
    /// `OMPI_COMM_WORLD_SIZE`, or a PMIx launcher's `PMIX_RANK`), `nil` when this process
    /// was not started by an MPI launcher.
    public static func launchEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        if let s = env["OMPI_COMM_WORLD_SIZE"].flatMap(Int.init) { return s }
        if env["PMIX_RANK"] != nil { return env["OMPI_UNIVERSE_SIZE"].flatMap(Int.init) ?? 1 }
        return nil
    }

    /// Ends this process with a message when one collective (allreduce, broadcast) has not
    /// finished after `seconds`, so a rank that hangs instead of dying (stopped, deadlocked,
    /// a silent network) cannot stall the job forever: `mpirun` sees this rank exit and ends
    /// the others. 0 turns the watch off.
    public func watch(limit seconds: Double) { watchdog.start(limit: seconds, rank: rank, size: size) }

    /// In-place `MPI_Allreduce` (sum) over every rank.
    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        guard let base = buffer.baseAddress else { return }
        watchdog.enter("MPI_Allreduce")
        defer { watchdog.leave() }
        for (start, count) in Self.chunks(buffer.count) {
            try Self.check(metajit_mpi_allreduce_sum_f32(base + start, Int32(count)), "MPI_Allreduce")
        }
    }

    /// `MPI_Bcast` of floats from `root`.
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, from root: Int) throws {
        guard let base = buffer.baseAddress else { return }
        watchdog.enter("MPI_Bcast")
        defer { watchdog.leave() }
        for (start, count) in Self.chunks(buffer.count) {
            try Self.check(metajit_mpi_bcast_f32(base + start, Int32(count), Int32(root)), "MPI_Bcast")
        }
    }

    /// `MPI_Bcast` of 64-bit integers from `root`.
    public func broadcast(_ values: UnsafeMutableBufferPointer<Int64>, from root: Int) throws {
        guard let base = values.baseAddress else { return }
        watchdog.enter("MPI_Bcast")
        defer { watchdog.leave() }
        try base.withMemoryRebound(to: CLongLong.self, capacity: values.count) { p in
            try Self.check(metajit_mpi_bcast_i64(p, Int32(values.count), Int32(root)), "MPI_Bcast")
        }
    }

    /// Waits for every rank.
    public func barrier() throws { try Self.check(metajit_mpi_barrier(), "MPI_Barrier") }

    /// Ends every rank of the job with exit status `code` (`MPI_Abort`); does not return.
    public func abort(code: Int32) -> Never {
        _ = metajit_mpi_abort(code)
        exit(code)
    }

    /// `MPI_Finalize`, once, if MPI was initialised.
    public static func finalize() {
        guard instance != nil, !finalized else { return }
        finalized = true
        instance = nil
        _ = MPI_Finalize()
    }

    /// MPI counts are `int`: long buffers go in pieces.
    static func chunks(_ n: Int) -> [(Int, Int)] {
        let most = Int(Int32.max / 2)
        return stride(from: 0, to: n, by: most).map { ($0, min(most, n - $0)) }
    }

    static func check(_ code: Int32, _ what: String) throws {
        guard code != MPI_SUCCESS else { return }
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        _ = MPI_Error_string(code, &text, &length)
        let message = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw DistributedError.communication("\(what) returned \(code) (\(message))")
    }
}

/// Watches the collective in progress from a timer thread; exits the process when one lasts
/// longer than the limit. (MPI is initialised for calls from the main thread only, so the
/// watchdog does not call MPI: it exits, and `mpirun` ends the job.)
final class CollectiveWatchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var current: (what: String, since: Date)?
    private var timer: DispatchSourceTimer?

    func start(limit: Double, rank: Int, size: Int) {
        lock.lock()
        defer { lock.unlock() }
        timer?.cancel()
        timer = nil
        guard limit > 0 else { return }
        let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "metajit.mpi.watchdog"))
        t.schedule(deadline: .now() + 1, repeating: min(1, limit / 4))
        t.setEventHandler { [weak self] in
            guard let self else { return }
            self.lock.lock()
            let c = self.current
            self.lock.unlock()
            guard let c, Date().timeIntervalSince(c.since) > limit else { return }
            let message = String(format: "metajit: rank %d of %d: %@ has not finished after %.0f s (another rank is stopped, hung or unreachable); ending this rank so that mpirun stops the job (--collective-timeout)\n",
                                 rank, size, c.what, limit)
            FileHandle.standardError.write(Data(message.utf8))
            exit(3)
        }
        timer = t
        t.resume()
    }

    func enter(_ what: String) {
        lock.lock()
        current = (what, Date())
        lock.unlock()
    }

    func leave() {
        lock.lock()
        current = nil
        lock.unlock()
    }
}
