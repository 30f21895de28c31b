import Foundation

/// Sinusoid regression tasks as in MAML (Finn et al., 2017): `y = A sin(x - φ)` with
/// amplitude `A ~ U[0.1, 5.0]`, phase `φ ~ U[0, π]`, inputs `x ~ U[-5, 5]`.
///
/// Task `i` is a pure function of `(seed, i)` (its own ``Xoshiro256`` stream): it draws
/// A, then φ, then K support inputs, then Q query inputs. Batch `j` holds tasks `j*B ..< (j+1)*B`.
public struct SinusoidTaskGenerator: Sendable {
    /// K: support points per task.
    public let shots: Int
    /// Q: query points per task.
    public let queries: Int
    /// B: tasks per batch.
    public let metaBatchSize: Int
    /// Seed of the task stream.
    public let seed: UInt64
    /// Amplitude range (default 0.1...5.0).
    public let amplitudeRange: ClosedRange<Double>
    /// Phase range (default 0...π).
    public let phaseRange: ClosedRange<Double>
    /// Input range (default -5...5).
    public let inputRange: ClosedRange<Double>

    /// One task: its parameters and points.
    public struct Task: Sendable, Equatable {
        /// Amplitude A.
        public let amplitude: Double
        /// Phase φ.
        public let phase: Double
        /// K support inputs and targets.
        public let supportX: [Double], supportY: [Double]
        /// Q query inputs and targets.
        public let queryX: [Double], queryY: [Double]
    }

    /// Creates a generator.
    /// - Throws: ``DataError`` `.invalidArgument` unless `shots >= 1`, `queries >= 0`, `metaBatchSize >= 1`.
    public init(shots: Int, queries: Int, metaBatchSize: Int, seed: UInt64,
                amplitudeRange: ClosedRange<Double> = 0.1...5.0,
                phaseRange: ClosedRange<Double> = 0...Double.pi,
                inputRange: ClosedRange<Double> = -5...5) throws {
        guard shots >= 1, queries >= 0, metaBatchSize >= 1 else {
            throw DataError(.invalidArgument, path: "",
                            "sinusoid tasks need shots >= 1, queries >= 0, metaBatchSize >= 1")
        }
        self.shots = shots
        self.queries = queries
        self.metaBatchSize = metaBatchSize
        self.seed = seed
        self.amplitudeRange = amplitudeRange
        self.phaseRange = phaseRange
        self.inputRange = inputRange
    }

    /// Task `index` (any `index >= 0`; negative indices are treated as their bit pattern).
    public func task(at index: Int) -> Task {
        var rng = Xoshiro256(seed: seed, stream: UInt64(bitPattern: Int64(index)))
        let a = rng.nextDouble(in: amplitudeRange.lowerBound, amplitudeRange.upperBound)
        let phi = rng.nextDouble(in: phaseRange.lowerBound, phaseRange.upperBound)
        let draw = { (rng: inout Xoshiro256) -> Double in
            rng.nextDouble(in: inputRange.lowerBound, inputRange.upperBound)
        }
        let sx = (0..<shots).map { _ in draw(&rng) }
        let qx = (0..<queries).map { _ in draw(&rng) }
        return Task(amplitude: a, phase: phi,
                    supportX: sx, supportY: sx.map { a * sin($0 - phi) },
                    queryX: qx, queryY: qx.map { a * sin($0 - phi) })
    }

    /// Batch `index`: tasks `index*B ..< (index+1)*B` in the ``SinusoidBatch`` layout.
    public func batch(at index: Int) -> SinusoidBatch {
        let tasks = (0..<metaBatchSize).map { task(at: index * metaBatchSize + $0) }
        return SinusoidBatch(
            index: index, batchSize: metaBatchSize, shots: shots, queries: queries,
            supportX: tasks.flatMap { $0.supportX.map(Float.init) },
            supportY: tasks.flatMap { $0.supportY.map(Float.init) },
            queryX: tasks.flatMap { $0.queryX.map(Float.init) },
            queryY: tasks.flatMap { $0.queryY.map(Float.init) },
            amplitudes: tasks.map { Float($0.amplitude) },
            phases: tasks.map { Float($0.phase) })
    }

    /// A streaming loader over batches `0, 1, ...` (endless unless `count` is given).
    public func makeLoader(threads: Int = 2, capacity: Int = 4, count: Int? = nil) throws -> StreamingLoader<SinusoidBatch> {
        let generator = self
        return try StreamingLoader(threads: threads, capacity: capacity, count: count) { generator.batch(at: $0) }
    }
}
