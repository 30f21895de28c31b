import Foundation
import JIT
import Synchronization

/// One helper thread that runs the second half of a split kernel while the caller runs the
/// first half.
///
/// The hand-off spins briefly on an atomic before sleeping on a semaphore: kernels worth
/// splitting take tens of microseconds, so a futex wake-up per kernel would eat the gain.
final class WorkerPool: @unchecked Sendable {
    private struct Job {
        var function: RangeKernelFunction
        var arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>
        var begin: Int64
        var end: Int64
    }
    private var job: Job?
    private let posted = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let wake = DispatchSemaphore(value: 0)
    private let sleeping = Atomic<Bool>(false)
    private var generation = 0
    private let stop = Atomic<Bool>(false)
    private var thread: Thread?

    init() {
        // The thread holds the pool until `shutdown` ends its loop.
        let t = Thread { self.loop() }
        t.stackSize = 1 << 22
        t.start()
        thread = t
    }

    /// Ends the worker thread (the pool is unusable afterwards).
    func shutdown() {
        stop.store(true, ordering: .releasing)
        posted.wrappingAdd(1, ordering: .releasing)
        wake.signal()
        // The thread's closure holds the pool; dropping our reference to the thread breaks
        // the cycle (the running thread keeps itself alive until its loop returns).
        thread = nil
    }

    private func loop() {
        var seen = 0
        while !stop.load(ordering: .acquiring) {
            var spins = 0
            while posted.load(ordering: .acquiring) == seen {
                spins += 1
                if spins > 20_000 {
                    // Dekker-style hand-shake with `run`: both sides store, then load the
                    // other's flag, so both orderings must be sequentially consistent
                    // (x86 reorders a store with a later load otherwise, and both would miss).
                    sleeping.store(true, ordering: .sequentiallyConsistent)
                    if posted.load(ordering: .sequentiallyConsistent) == seen { wake.wait() }
                    sleeping.store(false, ordering: .sequentiallyConsistent)
                    spins = 0
                }
            }
            if stop.load(ordering: .acquiring) { return }
            seen = posted.load(ordering: .acquiring)
            if let j = job { j.function(j.arguments, j.begin, j.end) }
            finished.store(seen, ordering: .releasing)
        }
    }

    /// Runs `function(arguments, begin, end)` on the worker and `local` here; returns when
    /// both are done.
    func run(_ function: RangeKernelFunction, _ arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>,
             _ begin: Int64, _ end: Int64, local: () -> Void) {
        generation += 1
        job = Job(function: function, arguments: arguments, begin: begin, end: end)
        posted.store(generation, ordering: .sequentiallyConsistent)
        if sleeping.load(ordering: .sequentiallyConsistent) { wake.signal() }
        local()
        while finished.load(ordering: .acquiring) != generation {}
    }
}
