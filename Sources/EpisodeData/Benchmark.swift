import Dispatch
import Foundation

/// Throughput of a ``StreamingLoader`` of meta-batches.
public struct LoaderBenchmark: Sendable, CustomStringConvertible {
    /// The episode shape measured.
    public let config: EpisodeConfig
    /// Producer threads.
    public let threads: Int
    /// Meta-batches consumed.
    public let metaBatches: Int
    /// Episodes (tasks) consumed: `metaBatches * B`.
    public let episodes: Int
    /// Wall-clock seconds from starting the loader to receiving the last batch.
    public let seconds: Double
    /// Seconds spent decoding the images first (nil if the dataset was already decoded).
    public let decodeSeconds: Double?

    /// `episodes / seconds`.
    public var episodesPerSecond: Double { seconds > 0 ? Double(episodes) / seconds : 0 }
    /// `metaBatches / seconds`.
    public var metaBatchesPerSecond: Double { seconds > 0 ? Double(metaBatches) / seconds : 0 }

    /// One line of results.
    public var description: String {
        var s = String(format: "%@, %d thread(s): %.1f episodes/s, %.2f meta-batches/s (%d batches in %.2f s)",
                       config.description, threads, episodesPerSecond, metaBatchesPerSecond, metaBatches, seconds)
        if let decodeSeconds { s += String(format: "; decode %.3f s", decodeSeconds) }
        return s
    }
}

/// Measures how fast a streaming loader delivers meta-batches of `config` from `dataset`.
///
/// Consumes batches until `metaBatches` have arrived, or `seconds` have passed (whichever
/// is given; with both, whichever comes first; with neither, 50 batches). With
/// `recycleBuffers` (the default) the consumer gives each batch's buffers back through a
/// ``FloatBufferPool``, as a training loop should; without it every batch is freshly allocated.
/// - Throws: ``DataError`` from the sampler or loader.
public func benchmarkLoader<D: ClassDataset>(dataset: D, config: EpisodeConfig, threads: Int = 2,
                                             metaBatches: Int? = nil, seconds: Double? = nil,
                                             capacity: Int = 4, seed: UInt64 = 0,
                                             recycleBuffers: Bool = true) throws -> LoaderBenchmark {
    let sampler = try EpisodeSampler(dataset: dataset, config: config, seed: seed)
    let limit = metaBatches ?? (seconds == nil ? 50 : nil)
    let pool = recycleBuffers ? FloatBufferPool(maxBuffers: 2 * (capacity + threads + 1)) : nil
    let loader = try sampler.makeLoader(threads: threads, capacity: capacity, count: limit, pool: pool)
    defer { loader.stop() }
    let start = DispatchTime.now().uptimeNanoseconds
    var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
    var received = 0
    var checksum: Float = 0
    while let batch = try loader.next() {
        received += 1
        checksum += batch.supportX.first ?? 0
        if let pool { batch.recycle(into: pool) }
        if let seconds, elapsed >= seconds { break }
    }
    let total = elapsed
    _ = checksum
    return LoaderBenchmark(config: config, threads: threads, metaBatches: received,
                           episodes: received * config.metaBatchSize, seconds: total, decodeSeconds: nil)
}

/// Decodes the Omniglot data at `path` (the given alphabets, all if nil, with `rotations`)
/// and measures the loader on it; the result includes the decode time.
public func benchmarkLoader(omniglotPath path: String, alphabets: [String]?, rotations: [Int] = [0],
                            config: EpisodeConfig, threads: Int = 2, metaBatches: Int? = nil,
                            seconds: Double? = nil, seed: UInt64 = 0,
                            recycleBuffers: Bool = true) throws -> LoaderBenchmark {
    let store = try OmniglotImageStore(path: path, alphabets: alphabets, threads: max(threads, 1))
    let dataset = try OmniglotDataset(store: store, alphabets: alphabets, rotations: rotations)
    let result = try benchmarkLoader(dataset: dataset, config: config, threads: threads,
                                     metaBatches: metaBatches, seconds: seconds, seed: seed,
                                     recycleBuffers: recycleBuffers)
    return LoaderBenchmark(config: result.config, threads: result.threads, metaBatches: result.metaBatches,
                           episodes: result.episodes, seconds: result.seconds, decodeSeconds: store.decodeSeconds)
}
