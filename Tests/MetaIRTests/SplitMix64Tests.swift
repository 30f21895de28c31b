import Interpreter
import MetaIR
import Testing

/// Seeded streams feed checkpoints, benchmarks and test expectations: these pin them so that a
/// change to the generator (or to how `SeededRandom` seeds it) fails here first.
@Suite struct SplitMix64Tests {
    @Test func matchesTheReferenceSequence() {
        // The first outputs of Vigna's splitmix64.c for seed 1234567.
        var rng = SplitMix64(seed: 1_234_567)
        let got = (0..<4).map { _ in rng.next() }
        #expect(got == [0x599e_d017_fb08_fc85, 0x2c73_f084_5854_0fa5, 0x883e_bce5_a3f2_7c77, 0x3fbe_f740_e917_7b3f])
    }

    @Test func seededRandomKeepsItsRecordedStream() {
        var rng = SeededRandom(seed: 7)
        let got = (0..<4).map { _ in rng.next() }
        #expect(got == [0x044c_3cd7_f43c_661c, 0xe698_4080_bab1_2a02, 0x953a_eb70_673e_29cb, 0x73d3_3b66_6a1e_21da])
        var zero = SeededRandom(seed: 0)
        #expect(zero.next() == 0x6e78_9e6a_a1b9_65f4)
        #expect(zero.next() == 0x06c4_5d18_8009_454f)
        #expect(zero.normal() == 0.19082411246493078)
        #expect(zero.int(below: 10) == 0)
    }

    @Test func seededRandomSkipsTheFirstSplitMixOutput() {
        var mix = SplitMix64(seed: 99)
        _ = mix.next()
        var seeded = SeededRandom(seed: 99)
        for _ in 0..<8 { #expect(seeded.next() == mix.next()) }
    }
}
