import Foundation
import Interpreter
import MetaIR
import MetaLearning
import Runtime
import Testing

/// The task-parallel step (shares of the meta-batch on their own cores, gradients summed,
/// one update) against the fused training step.
@Suite("Task-parallel training step agrees with the fused step")
struct TaskParallelTests {
    static func config(_ a: Algorithm, metaBatch: Int, backbone: Backbone) -> StepConfig {
        StepConfig(algorithm: a, ways: 3, shots: 1, queries: 2, metaBatch: metaBatch, innerSteps: 1, innerLR: 0.4,
                   optimizer: a == .reptile ? .sgd : .adam, imageSize: 8, width: 4, strided: true, backbone: backbone)
    }

    static func feeds(_ c: StepConfig, iteration: Int) -> [String: FeedValue] {
        var rng = SplitMix64(seed: UInt64(iteration + 7))
        func floats(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.next() % 2001) / 1000 - 1 } }
        let t = c.metaBatch, s = c.imageSize
        func labels(_ per: Int) -> [Int32] { (0..<t).flatMap { _ in (0..<(c.ways * per)).map { Int32($0 / per) } } }
        return [StepSignature.supportX: .f32(floats(t * c.ways * c.shots * s * s), [t, c.ways * c.shots, 1, s, s]),
                StepSignature.supportY: .i32(labels(c.shots), [t, c.ways * c.shots]),
                StepSignature.queryX: .f32(floats(t * c.ways * c.queries * s * s), [t, c.ways * c.queries, 1, s, s]),
                StepSignature.queryY: .i32(labels(c.queries), [t, c.ways * c.queries])]
    }

    static func taskParallel(_ c: StepConfig, shares: [Int]) throws -> TaskParallelProgram {
        let graphs = try shares.map { (graph: try StepBuilder.gradientStep(c, tasks: $0).graph, tasks: $0) }
        return try TaskParallelProgram(shares: graphs, update: try StepBuilder.updateStep(c).graph,
                                       options: CompileOptions(optLevel: .O3, threads: 2, cache: nil))
    }

    static func relative(_ a: [Double], _ b: [Double]) -> Double {
        guard a.count == b.count else { return .infinity }
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1) / max(abs($1.0), abs($1.1), 1e-3)) }
    }

    @Test("three steps: same loss, accuracy, task accuracies and parameters",
          arguments: [(Algorithm.maml, Backbone.conv4, [2, 1]), (.metasgd, .mlp(hidden: [12]), [2, 2]), (.reptile, .mlp(hidden: [12]), [1, 1, 1])])
    func agrees(_ a: Algorithm, _ backbone: Backbone, _ shares: [Int]) throws {
        let c = Self.config(a, metaBatch: shares.reduce(0, +), backbone: backbone)
        let train = try StepBuilder.trainStep(c)
        let fused = try CompiledProgram(graph: train.graph, options: CompileOptions(optLevel: .O3, threads: 1, cache: nil))
        let parallel = try Self.taskParallel(c, shares: shares)
        try train.signature.validate(against: parallel.graph)
        let store = ParameterStore(specs: train.parameters, seed: 3)
        for (n, v) in store.values {
            try fused.set(n, v)
            try parallel.set(n, v)
        }
        let lr = HostTensor(TensorType(.f32, .scalar), [0.01])
        try fused.set(StepSignature.learningRateName, lr)
        try parallel.set(StepSignature.learningRateName, lr)
        for i in 0..<3 {
            for (n, v) in Self.feeds(c, iteration: i) {
                try fused.feed(n, v)
                try parallel.feed(n, v)
            }
            fused.execute()
            try parallel.execute()
            #expect(abs(try fused.scalar("loss") - parallel.scalar("loss")) <= 1e-4 * max(1, abs(try fused.scalar("loss"))))
            #expect(abs(try fused.scalar("accuracy") - parallel.scalar("accuracy")) <= 1e-5)
            #expect(try fused.value("task_accuracy").data == parallel.value("task_accuracy").data)
            try fused.apply(train.signature.updates)
            try parallel.apply(train.signature.updates)
            for s in train.parameters {
                let d = Self.relative(try fused.value(s.name).data, try parallel.value(s.name).data)
                #expect(d <= 1e-3, "\(s.name) after step \(i + 1): relative difference \(d)")
            }
        }
        // The shares hold the updated learned parameters too (they run the next step).
        let learned = StepBuilder.learnedSpecs(c).map(\.name)
        for p in parallel.shares { for n in learned { #expect(try p.value(n).data == parallel.update.value(n).data) } }
    }

    @Test("the trainer drives it: checkpoints match the fused step's (SGD outer steps)")
    func trainer() throws {
        // SGD: the update is linear in the gradient, so summation-order noise stays noise
        // (Adam's m/√v turns it into ±lr on coordinates whose gradient is ~0).
        var c = Self.config(.maml, metaBatch: 4, backbone: .mlp(hidden: [12]))
        c.optimizer = .sgd
        let train = try StepBuilder.trainStep(c)
        var stores: [ParameterStore] = []
        for parallel in [false, true] {
            let dir = try RT.tempDir("task-parallel-\(parallel)")
            defer { RT.remove(dir) }
            let step: any Executable = parallel ? try Self.taskParallel(c, shares: [2, 2])
                : try CompiledProgram(graph: train.graph, options: CompileOptions(optLevel: .O3, threads: 1, cache: nil))
            let trainer = try Trainer(step: step, signature: train.signature, store: ParameterStore(specs: train.parameters, seed: 5),
                                      options: RT.options(iterations: 3, dir: dir, checkpointEvery: 3, lr: 0.01, tasks: c.metaBatch),
                                      metadata: [:], resume: false)
            try trainer.run(batch: { i in i < 3 ? Self.feeds(c, iteration: i) : nil }, evaluate: nil)
            var loaded = ParameterStore(specs: train.parameters, seed: 0)
            _ = try loaded.load(from: trainer.checkpointURL)
            stores.append(loaded)
        }
        for s in train.parameters {
            let d = Self.relative(stores[0].values[s.name]?.data ?? [], stores[1].values[s.name]?.data ?? [])
            #expect(d <= 1e-3, "\(s.name): relative difference \(d)")
        }
    }

    @Test("an empty share list is refused with a message")
    func refusesNoShares() throws {
        let c = Self.config(.maml, metaBatch: 2, backbone: .mlp(hidden: [4]))
        #expect(throws: ProgramError.self) { try TaskParallelProgram(shares: [], update: try StepBuilder.updateStep(c).graph) }
    }
}
