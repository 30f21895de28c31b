import EpisodeData
import Foundation
import Interpreter
import MetaIR
import MetaLearning
import Runtime
import Testing

/// One meta-training step of every algorithm on the JIT back end and on the reference
/// interpreter, from the same parameters and the same Omniglot meta-batch.
///
/// What "agree within 1e-3 relative" means for each output of the step (all Adam, fresh
/// optimiser state, so after one step `adam.m.P = 0.1·g` and `adam.v.P = 0.001·g²`):
/// - `loss`: relative difference ≤ 1e-3.
/// - `update.adam.m.P`, `update.adam.v.P` (the meta-gradient): per tensor,
///   ‖jit − interp‖∞ ≤ 1e-3 · ‖interp‖∞. The exception are tensors whose whole gradient is
///   below the noise floor 1e-4 · (largest ‖·‖∞ over all parameters) on the interpreter: conv
///   biases feed batch norm, which removes any constant shift, so their true gradient is 0 and
///   each back end returns its own rounding noise. For those the JIT's must be below the floor
///   too (both agree it is ≈ 0); a wrong kernel would show as an error of the gradient's size.
/// - `update.P` (the new weights): elementwise relative difference ≤ 1e-3 (of max(|w|, lr))
///   where the interpreter's gradient is above the floor. Below it Adam's first step
///   `lr·g/(|g|+ε)` turns noise into an arbitrary ±lr, so there both must only stay within one
///   step (2·lr) of each other.
/// - `update.adam.b1t`, `update.adam.b2t`: relative difference ≤ 1e-3.
@Suite("JIT and interpreter agree on one training step", .enabled(if: RT.hasOmniglot, RT.noOmniglot))
struct BackendAgreementTests {
    static let lr = 1e-3

    @Test("loss and every update.* output agree within 1e-3 relative", arguments: Algorithm.episodic)
    func agree(_ algorithm: Algorithm) throws {
        try #require(OmniglotFixture.steps[algorithm]).use { s in
            let store = ParameterStore(specs: s.step.parameters, seed: 3)
            let sampler = try EpisodeSampler(dataset: RT.trainData(), config: OmniglotFixture.episodes, seed: 5)
            let inputs = RT.feeds(try sampler.metaBatch(at: 0))
            let lrTensor = HostTensor(TensorType(.f32, .scalar), [Self.lr])

            let p = s.program
            for (n, v) in store.values { try p.set(n, v) }
            for (n, v) in inputs { try v.write(n, into: p) }
            try p.set("lr", lrTensor)
            p.execute()

            var feeds = inputs.mapValues(\.hostTensor)
            feeds["lr"] = lrTensor
            for (n, v) in store.values { feeds[n] = v }
            let start = ContinuousClock.now
            let reference = try InterpretedProgram(graph: s.step.graph).run(feeds)
            let interpSeconds = RT.seconds(since: start)

            func pair(_ name: String) throws -> (jit: HostTensor, interp: HostTensor) {
                let expected = try #require(reference[name], "the interpreter has no output \(name)")
                let got = try p.value(name)
                #expect(got.shape == expected.shape, "\(name)")
                return (got, expected)
            }
            func maxAbs(_ t: HostTensor) -> Double { t.data.reduce(0) { max($0, abs($1)) } }

            let outputs = s.step.graph.outputs.map(\.name)
            let updated = outputs.filter { $0.hasPrefix("update.") && !$0.hasPrefix("update.adam.") }
                .map { String($0.dropFirst("update.".count)) }
            #expect(!updated.isEmpty)
            var checked = 0, worst = (name: "", error: 0.0), noisy: [String] = [], zeroGradient: [String] = []
            func record(_ name: String, _ e: Double) {
                checked += 1
                if !(e <= worst.error) { worst = (name, e) }
                #expect(e <= 1e-3, "\(algorithm.rawValue) \(name): relative difference \(e)")
            }

            let loss = try pair("loss")
            record("loss", abs(loss.jit.scalar - loss.interp.scalar) / abs(loss.interp.scalar))
            for name in ["adam.b1t", "adam.b2t"] {
                let t = try pair("update.\(name)")
                record(name, abs(t.jit.scalar - t.interp.scalar) / abs(t.interp.scalar))
            }

            var moments: [String: (m: (jit: HostTensor, interp: HostTensor), v: (jit: HostTensor, interp: HostTensor))] = [:]
            for n in updated { moments[n] = (try pair("update.adam.m.\(n)"), try pair("update.adam.v.\(n)")) }
            let mFloor = 1e-4 * (moments.values.map { maxAbs($0.m.interp) }.max() ?? 0)
            let vFloor = 1e-4 * (moments.values.map { maxAbs($0.v.interp) }.max() ?? 0)
            for n in updated {
                guard let (m, v) = moments[n] else { continue }
                if maxAbs(m.interp) < mFloor {
                    // A zero-gradient tensor (conv biases before batch norm): both must say ≈ 0.
                    zeroGradient.append(n)
                    #expect(maxAbs(m.jit) < mFloor, "\(algorithm.rawValue) \(n): JIT gradient \(m.jit), interpreter \(m.interp)")
                    #expect(maxAbs(v.jit) < vFloor, "\(algorithm.rawValue) \(n): JIT second moment \(v.jit)")
                } else {
                    let mScale = maxAbs(m.interp), vScale = max(maxAbs(v.interp), vFloor)
                    record("adam.m.\(n)", zip(m.jit.data, m.interp.data).reduce(0) { max($0, abs($1.0 - $1.1)) } / mScale)
                    record("adam.v.\(n)", zip(v.jit.data, v.interp.data).reduce(0) { max($0, abs($1.0 - $1.1)) } / vScale)
                }

                let w = try pair("update.\(n)")
                var e = 0.0, belowFloor = 0
                for i in w.interp.data.indices {
                    let a = w.jit.data[i], b = w.interp.data[i]
                    if abs(m.interp.data[i]) >= mFloor {
                        e = max(e, abs(a - b) / max(abs(a), abs(b), Self.lr))
                    } else {
                        belowFloor += 1
                        #expect(abs(a - b) <= 2 * Self.lr * (1 + 1e-3), "\(algorithm.rawValue) \(n)[\(i)]: \(a) vs \(b)")
                    }
                }
                if belowFloor > 0 { noisy.append("\(n)(\(belowFloor))") }
                record(n, e)
            }
            #expect(zeroGradient.count < updated.count / 2, "\(algorithm.rawValue): gradients vanish: \(zeroGradient)")
            RT.note(String(format: "%@: JIT vs interpreter, %d outputs within 1e-3, worst %@ %.1e; zero-gradient tensors %@; noise-level elements %@ (interpreter %.1f s)",
                           algorithm.rawValue, checked, worst.name, worst.error, zeroGradient.joined(separator: " "),
                           noisy.joined(separator: " "), interpSeconds))
        }
    }
}
