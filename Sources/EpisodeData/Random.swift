import MetaIR

/// xoshiro256** (Blackman & Vigna): the deterministic generator behind all sampling here.
///
/// Its output, and therefore every sampled episode, depends only on the seed, never on
/// the platform, the Swift standard library's algorithms, or thread scheduling.
public struct Xoshiro256: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// Seeds the four state words from MetaIR's `SplitMix64(seed:)`.
    public init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
    }

    /// The generator for stream `index` of `seed`: a pure function of `(seed, index)`,
    /// so item `i` of a seeded sequence can be generated independently of all others.
    public init(seed: UInt64, stream index: UInt64) {
        var mix = SplitMix64(seed: seed)
        let a = mix.next()
        var mix2 = SplitMix64(seed: a ^ (index &* 0xD1B5_4A32_D192_ED03))
        _ = mix2.next()
        self.init(seed: mix2.next() ^ index)
    }

    /// Returns the next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// A uniform integer in `0..<bound`, without modulo bias (Lemire's method).
    /// Returns 0 without consuming randomness when `bound <= 1`.
    public mutating func nextInt(below bound: Int) -> Int {
        guard bound > 1 else { return 0 }
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = next().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// A uniform `Double` in `[0, 1)` with 53 random bits.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform `Double` in `[lower, upper)`.
    public mutating func nextDouble(in lower: Double, _ upper: Double) -> Double {
        lower + (upper - lower) * nextUnit()
    }

    /// The first `k` entries of a uniformly random permutation of `0..<n` (partial
    /// Fisher–Yates), i.e. `k` distinct values in random order. `k` is clamped to `0...n`.
    public mutating func sample(_ count: Int, from n: Int) -> [Int] {
        let k = max(0, min(count, n))
        if k == 0 { return [] }
        if k * 4 < n {
            // Sparse variant: Fisher–Yates over a virtual array stored in a dictionary.
            var swapped: [Int: Int] = [:]
            var out: [Int] = []
            out.reserveCapacity(k)
            for i in 0..<k {
                let j = i + nextInt(below: n - i)
                let vj = swapped[j] ?? j
                let vi = swapped[i] ?? i
                swapped[j] = vi
                out.append(vj)
            }
            return out
        }
        var all = Array(0..<n)
        for i in 0..<k {
            let j = i + nextInt(below: n - i)
            all.swapAt(i, j)
        }
        return Array(all[0..<k])
    }

    /// Shuffles `array` in place (Fisher–Yates with this generator).
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(i, nextInt(below: i + 1))
        }
    }
}
