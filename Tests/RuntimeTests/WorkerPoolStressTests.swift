import Foundation
import Synchronization
import JIT
import MetaIR
@testable import Runtime
import Testing

/// A trivial range kernel: counts calls into `arguments[0]` (an `Int64` per half).
private let countingKernel: RangeKernelFunction = { args, begin, _ in
    let counter = args[0]!.assumingMemoryBound(to: Int64.self)
    counter[begin == 0 ? 0 : 1] += 1
}

/// Regression test for a lost wake-up in `WorkerPool` (fixed with sequentially consistent
/// flags; 5 000 hand-offs by default, `METAJIT_STRESS_ROUNDS` sets the count). The bug: the worker
/// publishes `sleeping = true` then re-reads `posted`, while `run` publishes `posted` then reads
/// `sleeping`, all with acquire/release ordering only. That store→load pattern needs sequential
/// consistency (x86 reorders a store with a later load), so both sides can read the stale
/// value: the worker sleeps on the semaphore, nobody signals it, and `run` spins forever on
/// `finished`. Seen as a hung `Trainer.run` (main thread in `WorkerPool.run` line 70, worker
/// in `wake.wait()` line 49). The pool runs on its own thread so that a hang fails the test
/// (leaking that spinning thread) instead of blocking the whole run.
private final class Counter: Sendable { let value = Atomic<Int>(0) }

@Suite struct WorkerPoolStressTests {
    @Test("WorkerPool hand-off never loses a wake-up")
    func handOff() throws {
        let rounds = Int(ProcessInfo.processInfo.environment["METAJIT_STRESS_ROUNDS"] ?? "") ?? 5_000
        let progress = Counter()
        // Calls of each half, copied out of the kernel's buffer once the pool has shut down.
        let localCalls = Counter(), workerCalls = Counter()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            let pool = WorkerPool()
            let counters = UnsafeMutablePointer<Int64>.allocate(capacity: 2)
            counters.initialize(repeating: 0, count: 2)
            let args = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: 1)
            args[0] = UnsafeMutableRawPointer(counters)
            var rng = SplitMix64(seed: 17)
            for i in 0..<rounds {
                // Gaps of 0…~60 µs: around the worker's 20 000-spin threshold, so it is often
                // going to sleep just as the next job is posted.
                let spin = Int.random(in: 0..<30_000, using: &rng)
                var x = 0
                for k in 0..<spin { x &+= k }
                if x == -1 { print(x) }
                pool.run(countingKernel, args, 1, 2) { countingKernel(args, 0, 1) }
                progress.value.store(i + 1, ordering: .relaxed)
            }
            pool.shutdown()
            localCalls.value.store(Int(counters[0]), ordering: .relaxed)
            workerCalls.value.store(Int(counters[1]), ordering: .relaxed)
            counters.deallocate()
            args.deallocate()
            done.signal()
        }
        thread.start()
        let finished = done.wait(timeout: .now() + 120) == .success
        try #require(finished, "WorkerPool.run hung after \(progress.value.load(ordering: .relaxed)) of \(rounds) hand-offs (lost wake-up)")
        // Every hand-off ran both halves exactly once: none skipped, none run twice.
        #expect(localCalls.value.load(ordering: .relaxed) == rounds)
        #expect(workerCalls.value.load(ordering: .relaxed) == rounds)
    }
}

