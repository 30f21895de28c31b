import EpisodeData
import Foundation
import Graphs
import Interpreter
import MetaIR
import Runtime
import Testing

/// ProtoNet on the masked LSTM encoder, compiled, trained on WordNet's meta-train categories
/// and evaluated on the held-out test categories.
private let n = 5, k = 5, q = 5, t = 10

@Suite struct ProtoNetLSTMTests {
    /// One episode of `categories`: token and mask feeds for support and query, and labels.
    static func episode(_ byCategory: [Int: [String]], _ categories: [Int], _ tok: WordTokenizer,
                        _ rng: inout SeededRandom) -> [String: HostTensor] {
        var cats = categories
        var chosen: [Int] = []
        for _ in 0..<n { chosen.append(cats.remove(at: rng.int(below: cats.count))) }
        var st: [Double] = [], sm: [Double] = [], qt: [Double] = [], qm: [Double] = [], ql: [Double] = []
        for (label, c) in chosen.enumerated() {
            let pool = byCategory[c] ?? []
            for j in 0..<(k + q) {
                let (ids, mask) = tok.encode(pool[rng.int(below: pool.count)], length: t)
                if j < k { st += ids.map(Double.init); sm += mask.map(Double.init) } else {
                    qt += ids.map(Double.init); qm += mask.map(Double.init); ql.append(Double(label))
                }
            }
        }
        return ["support": HostTensor(TensorType(.i32, [n * k, t]), st), "support_mask": HostTensor(TensorType(.f32, [n * k, t]), sm),
                "query": HostTensor(TensorType(.i32, [n * q, t]), qt), "query_mask": HostTensor(TensorType(.f32, [n * q, t]), qm),
                "query_labels": HostTensor(TensorType(.i32, [n * q]), ql)]
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/share/wordnet/data.noun")))
    func learnsOnHeldOutCategories() throws {
        let wn = try WordNetGlosses()
        let train = wn.byCategory(in: .train), test = wn.byCategory(in: .test)
        // Categories with enough glosses for an episode.
        let trainCats = train.keys.sorted().filter { train[$0]!.count >= k + q }
        let testCats = test.keys.sorted().filter { test[$0]!.count >= k + q }
        let tok = WordTokenizer(corpus: trainCats.flatMap { train[$0]! }, minCount: 3, maxSize: 2000)
        let (e, h) = (16, 24)
        let graph = try TextGraphs.protoNetLSTM(ways: n, shots: k, queries: q, length: t,
                                                vocabulary: tok.vocabularySize, embedding: e, hidden: h)
        let program = try CompiledProgram(graph: graph)
        var rng = SeededRandom(seed: 14)
        var params: [String: HostTensor] = [:]
        let specs: [(String, [Int], Double)] = [("table", [tok.vocabularySize, e], 0.3), ("wx", [e, 4 * h], 1 / Double(e).squareRoot()),
                                                ("wh", [h, 4 * h], 1 / Double(h).squareRoot()), ("b", [4 * h], 0.0)]
        for (name, shape, scale) in specs {
            let s = Shape(shape)
            params[name] = HostTensor(TensorType(.f32, s), (0..<s.count).map { _ in rng.normal() * scale })
        }
        func evaluate(_ seed: UInt64) throws -> Double {
            var r = SeededRandom(seed: seed)
            var total = 0.0
            for _ in 0..<40 { total += try program.run(params.merging(Self.episode(test, testCats, tok, &r)) { a, _ in a })["accuracy"]!.scalar }
            return total / 40
        }
        let before = try evaluate(99)
        // Adam, 1e-2.
        var m: [String: [Double]] = [:], v: [String: [Double]] = [:]
        let (lr, b1, b2) = (1e-2, 0.9, 0.999)
        for step in 1...400 {
            let out = try program.run(params.merging(Self.episode(train, trainCats, tok, &rng)) { a, _ in a })
            for name in TextGraphs.protoNetLSTMParameters {
                let g = out["grad_\(name)"]!.data
                var p = params[name]!
                var mm = m[name] ?? [Double](repeating: 0, count: g.count), vv = v[name] ?? [Double](repeating: 0, count: g.count)
                for i in g.indices {
                    mm[i] = b1 * mm[i] + (1 - b1) * g[i]
                    vv[i] = b2 * vv[i] + (1 - b2) * g[i] * g[i]
                    let mh = mm[i] / (1 - pow(b1, Double(step))), vh = vv[i] / (1 - pow(b2, Double(step)))
                    p.data[i] -= lr * mh / (vh.squareRoot() + 1e-8)
                }
                params[name] = p
                m[name] = mm
                v[name] = vv
            }
        }
        let after = try evaluate(99)
        print("protonet-lstm wordnet 5w5s held-out accuracy: before \(before), after \(after)")
        #expect(after > 0.3, "chance is 0.2")
        #expect(after > before + 0.05)
    }
}
