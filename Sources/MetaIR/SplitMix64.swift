/// SplitMix64 (Steele, Lea & Flood; Vigna's reference constants): a tiny, fast 64-bit
/// generator.
///
/// This is the one generator every seeded stream in the project is built on: the
/// interpreter's random feeds and parameter initialisation, and the episode samplers'
/// seed expansion. Its output depends only on the seed, never on the platform or the
/// standard library, so checkpoints and tests that record seeded values stay valid.
/// Changing it changes every seeded result; `SplitMix64Tests` pins the sequence.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The increment added to the state on every step (2^64 divided by the golden ratio).
    public static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// The internal state; each call to ``next()`` advances it by ``increment``.
    public var state: UInt64

    /// Creates a generator whose first output mixes `seed &+ increment`, as the reference
    /// implementation does.
    public init(seed: UInt64) { state = seed }

    /// Returns the next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= Self.increment
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
