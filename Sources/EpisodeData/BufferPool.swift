import Foundation

/// A thread-safe pool of `[Float]` buffers for recycling meta-batch storage.
///
/// A 20-way 5-shot meta-batch of 16 tasks is ~20 MB; allocating that afresh for every
/// batch makes the kernel hand out and zero new pages each time, which dominates the cost
/// when several producer threads run. A consumer that is done with a batch can give its
/// buffers back (``MetaBatch/recycle(into:)``) and samplers given the same pool
/// (``EpisodeSampler/metaBatch(at:pool:)``, ``EpisodeSampler/makeLoader(threads:capacity:count:pool:)``)
/// reuse them. Recycling is safe even if the consumer kept a copy of an array: a shared
/// buffer is copied on write, never overwritten.
///
/// `@unchecked Sendable`: the only mutable state, `free`, is accessed under `lock`.
public final class FloatBufferPool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [Int: [[Float]]] = [:]
    private var held = 0
    /// The most buffers kept at once; extra buffers given back are released.
    public let maxBuffers: Int

    /// Creates an empty pool keeping at most `maxBuffers` spare buffers.
    public init(maxBuffers: Int = 16) {
        self.maxBuffers = max(0, maxBuffers)
    }

    /// A buffer of exactly `count` floats with unspecified contents: a recycled one if
    /// available, otherwise a new zero-filled one.
    public func take(count: Int) -> [Float] {
        lock.lock()
        let reused = free[count]?.popLast()
        if reused != nil { held -= 1 }
        lock.unlock()
        return reused ?? [Float](repeating: 0, count: count)
    }

    /// Gives a buffer back for reuse (dropped if the pool is full or it is empty).
    public func give(_ buffer: [Float]) {
        guard !buffer.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        guard held < maxBuffers else { return }
        free[buffer.count, default: []].append(buffer)
        held += 1
    }

    /// Number of spare buffers currently held.
    public var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return held
    }
}

extension MetaBatch {
    /// Gives this batch's image buffers to `pool` so a sampler can reuse them.
    /// Call it when done with the batch (e.g. after copying it into device tensors).
    public consuming func recycle(into pool: FloatBufferPool) {
        pool.give(supportX)
        pool.give(queryX)
    }
}
