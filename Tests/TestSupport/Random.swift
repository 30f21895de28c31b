import MetaIR

/// Deterministic pseudo-random floats in [-1, 1) from the project's `SplitMix64`, so failures
/// reproduce and tests draw from the same generator as the code under test.
public func pseudoRandomFloats(count: Int, seed: UInt64) -> [Float] {
    var rng = SplitMix64(seed: seed)
    // The top 24 bits give every representable step of 2^-23 in [0, 2).
    return (0..<count).map { _ in Float(rng.next() >> 40) / Float(1 << 23) - 1 }
}
