import EpisodeData
import Foundation
import Interpreter
import MetaLearning
import Runtime
import Testing

@Suite("MAML on sinusoid regression (JIT)")
struct SinusoidTests {
    /// Meta-iterations (about 1 ms each) and Adam learning rate.
    static let iterations = 3000, outerLR = 3e-3

    /// Mean pre- and post-adaptation query MSE of `store` over held-out batches.
    static func heldOut(_ program: CompiledProgram, _ store: ParameterStore, batches: Int) throws -> (pre: Double, post: Double) {
        for (n, v) in store.values { try program.set(n, v) }
        let tasks = try SinusoidFixture.generator(seed: 987_654)
        var pre = 0.0, post = 0.0
        for i in 0..<batches {
            for (n, v) in SinusoidFixture.feeds(tasks.batch(at: i)) { try v.write(n, into: program) }
            program.execute()
            pre += try program.scalar("pre_adaptation_loss")
            post += try program.scalar("loss")
        }
        return (pre / Double(batches), post / Double(batches))
    }

    @Test("meta-training makes one inner step cut the held-out query MSE far below the pre-adaptation MSE")
    func adaptationHelps() throws {
        try SinusoidFixture.shared.use { s in
            let dir = try RT.tempDir("sinusoid")
            defer { RT.remove(dir) }
            let initial = ParameterStore(specs: s.step.parameters, seed: 1)
            let before = try Self.heldOut(s.program, initial, batches: 25)
            let trainer = try Trainer(step: s.program, store: initial,
                                      options: RT.options(iterations: Self.iterations, dir: dir, checkpointEvery: Self.iterations,
                                                          lr: Self.outerLR, tasks: SinusoidFixture.tasks),
                                      metadata: [:], resume: false)
            let tasks = try SinusoidFixture.generator(seed: 1)
            let start = ContinuousClock.now
            try trainer.run(batch: { SinusoidFixture.feeds(tasks.batch(at: $0)) }, evaluate: nil)
            let trainSeconds = RT.seconds(since: start)
            let after = try Self.heldOut(s.program, trainer.store, batches: 25)
            RT.note(String(format: "sinusoid: %d iterations in %.1f s; held-out query MSE before training pre %.3f post %.3f; after: pre %.3f post %.3f",
                           Self.iterations, trainSeconds, before.pre, before.post, after.pre, after.post))
            #expect(after.post.isFinite && after.pre.isFinite)
            #expect(after.post < 0.5 * after.pre, "post-adaptation MSE \(after.post) vs pre-adaptation \(after.pre)")
            #expect(after.post < 0.5 * before.post, "meta-training did not help: \(before.post) → \(after.post)")
        }
    }
}
