import EpisodeData
import Foundation
import Testing

/// A thread-safe counter for observing producers.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() { lock.lock(); value += 1; lock.unlock() }
    var current: Int { lock.lock(); defer { lock.unlock() }; return value }
}

/// A thread-safe list of the values a consumer thread received.
final class Received: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Int] = []
    func append(_ v: Int) { lock.lock(); items.append(v); lock.unlock() }
    var values: [Int] { lock.lock(); defer { lock.unlock() }; return items }
}

struct Boom: Error, Equatable { let index: Int }

@Suite("Streaming loader")
struct LoaderTests {
    @Test("delivers in index order whichever thread finishes first")
    func order() throws {
        let loader = try StreamingLoader<Int>(threads: 3, capacity: 5, count: 40) { index in
            usleep(UInt32((index * 7919) % 5) * 300)  // uneven work
            return index
        }
        var got: [Int] = []
        while let value = try loader.next() { got.append(value) }
        #expect(got == Array(0..<40))
        #expect(try loader.next() == nil)
    }

    @Test("stop() while the consumer is blocked in next() returns nil, no hang")
    func stopWakesConsumer() throws {
        let produceTime: Duration = .milliseconds(300)
        let start = ContinuousClock.now
        let loader = try StreamingLoader<Int>(threads: 2, capacity: 4) { index in
            usleep(300_000)  // slow producers (produceTime): the consumer will be waiting
            return index
        }
        let received = Received()
        let consumerDone = DispatchSemaphore(value: 0)
        Thread {
            // Keep calling until nil: a slow machine may deliver early batches before stop().
            while let value = try? loader.next() { received.append(value) }
            consumerDone.signal()
        }.start()
        usleep(50_000)
        let stoppedAfter = ContinuousClock.now - start
        #expect(Support.finishes(within: 10) { loader.stop() })
        #expect(consumerDone.wait(timeout: .now() + 10) == .success)
        #expect(loader.isStopped)
        #expect(try loader.next() == nil)
        // Whatever arrived came in index order; stopped before any producer could finish,
        // nothing can have arrived.
        let got = received.values
        #expect(got == Array(0..<got.count))
        if stoppedAfter < produceTime { #expect(got.isEmpty) }
    }

    @Test("stop() while producers are blocked on a full ring, no hang; back-pressure holds")
    func stopWakesProducers() throws {
        let produced = Counter()
        let loader = try StreamingLoader<[Float]>(threads: 2, capacity: 3) { index in
            produced.increment()
            return [Float](repeating: Float(index), count: 16)
        }
        // Nobody consumes: producers fill the ring (3) and block.
        var waited = 0
        while produced.current < 3 && waited < 500 { usleep(10_000); waited += 1 }
        usleep(100_000)
        #expect(produced.current == 3)
        #expect(Support.finishes(within: 10) { loader.stop() })
        #expect(produced.current == 3)
    }

    @Test("consume some, then stop and drop; deinit also stops")
    func partialThenStop() throws {
        let loader = try StreamingLoader<Int>(threads: 2, capacity: 2) { $0 * 2 }
        #expect(try loader.next() == 0)
        #expect(try loader.next() == 2)
        #expect(Support.finishes(within: 10) { loader.stop(); loader.stop() })
        #expect(Support.finishes(within: 10) {
            let dropped = try? StreamingLoader<Int>(threads: 2, capacity: 2) { $0 }
            _ = try? dropped?.next()
        })
    }

    @Test("producer errors reach the consumer in order and repeat; never hang")
    func errors() throws {
        let loader = try StreamingLoader<Int>(threads: 2, capacity: 4) { index in
            if index == 3 { throw Boom(index: 3) }
            return index
        }
        let ok = Support.finishes(within: 10) {
            var got: [Int] = []
            var caught: [Boom] = []
            for _ in 0..<6 {
                do {
                    if let v = try loader.next() { got.append(v) }
                } catch let boom as Boom {
                    caught.append(boom)
                } catch {
                    Issue.record("unexpected error \(error)")
                }
            }
            #expect(got == [0, 1, 2])
            #expect(caught == [Boom(index: 3), Boom(index: 3), Boom(index: 3)])
        }
        #expect(ok)
        #expect(Support.finishes(within: 10) { loader.stop() })
    }

    @Test("invalid loader settings are rejected")
    func settings() {
        Support.expectDataError(.invalidArgument) { _ = try StreamingLoader<Int>(threads: 0) { $0 } }
        Support.expectDataError(.invalidArgument) { _ = try StreamingLoader<Int>(capacity: 0) { $0 } }
    }

    @Test("a loader over data whose decode failed is never built; sampler errors propagate", .enabled(if: Support.hasOmniglot))
    func samplerErrorsPropagate() throws {
        let data = try OmniglotDataset(store: Support.store.get(), alphabets: ["Tagalog"])
        let sampler = try EpisodeSampler(dataset: data, config: EpisodeConfig(ways: 5, shots: 1, queries: 1, metaBatchSize: 2), seed: 3)
        // Fixed episodes referencing a class index that the loader will reject at batch 1.
        let bad = try sampler.episode(at: 0)
        Support.expectDataError(.invalidArgument) {
            var broken = bad
            broken.support[0].imageIndex = 999
            _ = try EpisodeSampler(dataset: data, config: sampler.config, episodes: [bad, broken])
        }
        let loader = try StreamingLoader<MetaBatch>(threads: 2, capacity: 2, count: 4) { index in
            if index == 1 { throw DataError(.corruptData, path: "x", "simulated") }
            return try sampler.metaBatch(at: index)
        }
        #expect(try loader.next() == sampler.metaBatch(at: 0))
        Support.expectDataError(.corruptData) { _ = try loader.next() }
    }
}
