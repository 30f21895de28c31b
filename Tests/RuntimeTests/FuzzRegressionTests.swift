import Foundation
import Runtime
import Testing
import TestSupport

/// Inputs that once trapped the safetensors reader (found by `scripts/fuzz.sh` or while fixing
/// what it found) must now throw a `CheckpointError`, and a short seeded mutation run over the
/// corpus must never trap.
@Suite("Safetensors reader: fuzz regressions")
struct SafeTensorsFuzzTests {
    @Test("each regression input throws a CheckpointError",
          arguments: ["header-length-over-int-max", "negative-dimension", "shape-count-overflow"])
    func regression(_ name: String) throws {
        let bytes = try Mutator.regression("safetensors", name)
        #expect(throws: CheckpointError.self) { _ = try SafeTensors.decode(Data(bytes), path: name) }
    }

    @Test("the seeds decode, and seeded mutations of them decode or throw")
    func mutations() throws {
        let corpus = try Mutator.corpus("safetensors")
        for seed in corpus { _ = try SafeTensors.decode(Data(seed), path: "seed") }
        var mutator = Mutator(corpus: corpus, seed: 17)
        for _ in 0..<500 { _ = try? SafeTensors.decode(Data(mutator.next()), path: "mutant") }
    }

    @Test("a reader works on a Data slice that does not start at index 0")
    func slice() throws {
        let seed = try #require(Mutator.corpus("safetensors").first)
        let padded = Data([0xAA] + seed)
        let decoded = try SafeTensors.decode(padded[1...], path: "slice")
        #expect(try decoded.tensors.keys.sorted() == SafeTensors.decode(Data(seed), path: "seed").tensors.keys.sorted())
    }
}
