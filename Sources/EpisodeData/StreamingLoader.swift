import Foundation

/// Produces batches `start, start+1, ...` on background threads into a bounded ring and
/// hands them to one consumer strictly in index order.
///
/// - Back-pressure: at most `capacity` batches are in flight or waiting at any time
///   (claimed but not yet consumed); producers block when the ring is full.
/// - Order: batch `i` is delivered `i`-th whichever thread made it, so a deterministic
///   `produce` function gives identical streams with any number of threads.
/// - Errors: an error thrown by `produce(i)` is delivered by ``next()`` in place of batch
///   `i` (earlier batches are still delivered first); producers then stop claiming work,
///   and every later ``next()`` rethrows the same error. The consumer never hangs.
/// - Shutdown: ``stop()`` (also called on deinit) wakes blocked producers and consumers,
///   makes ``next()`` return nil, and waits for every producer thread to finish its loop.
///   A batch being produced when `stop()` is called is finished and discarded.
///   Do not call `stop()` from inside `produce`.
public final class StreamingLoader<Batch: Sendable>: Sendable {
    private let state: LoaderState<Batch>

    /// Starts `threads` producer threads.
    /// - Parameters:
    ///   - threads: producer threads (default 2, at least 1).
    ///   - capacity: ring capacity (default 4, at least 1).
    ///   - count: number of batches to produce, or nil for an endless stream.
    ///   - start: index of the first batch.
    ///   - produce: makes batch `i`; called concurrently from several threads.
    /// - Throws: ``DataError`` `.invalidArgument` if `threads` or `capacity` is below 1 or `count` is negative.
    public init(threads: Int = 2, capacity: Int = 4, count: Int? = nil, start: Int = 0,
                produce: @escaping @Sendable (Int) throws -> Batch) throws {
        guard threads >= 1, capacity >= 1, (count ?? 0) >= 0 else {
            throw DataError(.invalidArgument, path: "",
                            "loader needs threads >= 1, capacity >= 1, count >= 0 (got \(threads), \(capacity), \(String(describing: count)))")
        }
        let state = LoaderState(capacity: capacity, start: start,
                                end: count.map { start + $0 }, threads: threads, produce: produce)
        self.state = state
        for t in 0..<threads {
            let thread = Thread { state.producerLoop() }
            thread.name = "EpisodeData.loader.\(t)"
            thread.start()
        }
    }

    deinit { state.stop() }

    /// The next batch in index order, blocking until it is ready.
    /// - Returns: the batch, or nil once the stream is exhausted or ``stop()`` was called.
    /// - Throws: the error a producer raised for this index (and for every call after it).
    public func next() throws -> Batch? { try state.next() }

    /// Stops the producers, wakes any blocked caller of ``next()`` (which then returns nil),
    /// and waits until all producer threads have left their loops. Idempotent.
    public func stop() { state.stop() }

    /// True once ``stop()`` has been called.
    public var isStopped: Bool { state.isStopped }
}

/// Shared state of a ``StreamingLoader``.
///
/// `@unchecked Sendable`: every mutable field is read and written only while holding
/// `condition` (an `NSCondition`, i.e. a mutex plus condition variable); `produce` and the
/// constants are immutable.
final class LoaderState<Batch: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private let capacity: Int
    private let end: Int?
    private let produce: @Sendable (Int) throws -> Batch

    // Guarded by `condition`.
    private var ready: [Int: Result<Batch, Error>] = [:]
    private var nextToClaim: Int
    private var nextToConsume: Int
    private var stopped = false
    private var failed = false
    private var terminalError: Error?
    private var running: Int

    init(capacity: Int, start: Int, end: Int?, threads: Int, produce: @escaping @Sendable (Int) throws -> Batch) {
        self.capacity = capacity
        self.end = end
        self.produce = produce
        self.nextToClaim = start
        self.nextToConsume = start
        self.running = threads
    }

    var isStopped: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopped
    }

    private func exhausted(_ index: Int) -> Bool {
        if let end { return index >= end }
        return false
    }

    func producerLoop() {
        while true {
            condition.lock()
            while !stopped && !failed && !exhausted(nextToClaim) && nextToClaim - nextToConsume >= capacity {
                condition.wait()
            }
            if stopped || failed || exhausted(nextToClaim) {
                running -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            let index = nextToClaim
            nextToClaim += 1
            condition.unlock()

            let result = Result { try produce(index) }

            condition.lock()
            if !stopped {
                ready[index] = result
                if case .failure = result { failed = true }
            }
            condition.broadcast()
            condition.unlock()
        }
    }

    func next() throws -> Batch? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let terminalError { throw terminalError }
            if stopped || exhausted(nextToConsume) { return nil }
            if let result = ready.removeValue(forKey: nextToConsume) {
                nextToConsume += 1
                condition.broadcast()
                switch result {
                case .success(let batch):
                    return batch
                case .failure(let error):
                    terminalError = error
                    throw error
                }
            }
            condition.wait()
        }
    }

    func stop() {
        condition.lock()
        stopped = true
        ready.removeAll()
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }
}
