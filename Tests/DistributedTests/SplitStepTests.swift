import Foundation
import Interpreter
import MetaIR
import MetaLearning
import Runtime
import TestSupport
import Testing

/// The split training step (gradient half + update half) against the fused step, in one
/// process: what `--distributed mpi` computes, without MPI.
@Suite("Split gradient/update steps agree with the fused training step")
struct SplitStepTests {
    static func config(_ a: Algorithm, metaBatch: Int) -> StepConfig {
        StepConfig(algorithm: a, ways: 3, shots: 1, queries: 2, metaBatch: metaBatch, innerSteps: 1, innerLR: 0.4,
                   optimizer: a == .reptile ? .sgd : .adam, imageSize: 6, backbone: .mlp(hidden: [12]))
    }

    /// Deterministic synthetic episodes: task `t` of iteration `i`, as flat arrays.
    struct Task {
        var sx: [Float], sy: [Int32], qx: [Float], qy: [Int32]
        init(_ c: StepConfig, iteration: Int, task: Int) {
            var rng = SplitMix64(seed: UInt64(iteration * 1000 + task + 1))
            func floats(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.next() % 2001) / 1000 - 1 } }
            let image = c.imageSize * c.imageSize
            sx = floats(c.ways * c.shots * image)
            qx = floats(c.ways * c.queries * image)
            sy = (0..<(c.ways * c.shots)).map { Int32($0 / c.shots) }
            qy = (0..<(c.ways * c.queries)).map { Int32($0 / c.queries) }
        }
    }

    /// Step inputs for tasks `tasks` of iteration `i`.
    static func feeds(_ c: StepConfig, iteration i: Int, tasks: [Int]) -> [String: FeedValue] {
        let all = tasks.map { Task(c, iteration: i, task: $0) }, n = tasks.count, s = c.imageSize
        return [StepSignature.supportX: .f32(all.flatMap(\.sx), [n, c.ways * c.shots, 1, s, s]),
                StepSignature.supportY: .i32(all.flatMap(\.sy), [n, c.ways * c.shots]),
                StepSignature.queryX: .f32(all.flatMap(\.qx), [n, c.ways * c.queries, 1, s, s]),
                StepSignature.queryY: .i32(all.flatMap(\.qy), [n, c.ways * c.queries])]
    }

    static func compile(_ g: Graph) throws -> CompiledProgram {
        try CompiledProgram(graph: g, options: CompileOptions(optLevel: .O3, threads: 1, cache: nil))
    }

    static func options(_ dir: URL, iterations: Int, tasks: Int) -> TrainerOptions {
        TrainerOptions(iterations: iterations, outputDirectory: dir, checkpointEvery: 100, evaluateEvery: 0,
                       learningRate: { _ in 0.01 }, tasksPerBatch: tasks, progress: false)
    }

    static func worst(_ a: ParameterStore, _ b: ParameterStore) -> Double {
        var worst = 0.0
        for s in a.specs {
            guard let x = a.values[s.name], let y = b.values[s.name] else { return .infinity }
            for (u, v) in zip(x.data, y.data) { worst = max(worst, abs(u - v) / max(abs(u), abs(v), 1e-3)) }
        }
        return worst
    }

    @Test("rank r of P takes tasks r, r+P, …; fewer tasks than ranks is refused")
    func shares() throws {
        #expect(try MetaBatchShare.tasks(rank: 0, size: 2, metaBatch: 5) == [0, 2, 4])
        #expect(try MetaBatchShare.tasks(rank: 1, size: 2, metaBatch: 5) == [1, 3])
        #expect(try MetaBatchShare.tasks(rank: 3, size: 4, metaBatch: 6) == [3])
        #expect(try MetaBatchShare.tasks(rank: 0, size: 1, metaBatch: 3) == [0, 1, 2])
        #expect(throws: DistributedError.self) { try MetaBatchShare.tasks(rank: 0, size: 4, metaBatch: 3) }
        #expect(throws: DistributedError.self) { try MetaBatchShare.tasks(rank: 2, size: 2, metaBatch: 3) }
    }

    @Test("the two halves have gradient signatures that match", arguments: [Algorithm.maml, .reptile, .metasgd])
    func signatures(_ a: Algorithm) throws {
        let c = Self.config(a, metaBatch: 4)
        let g = try StepBuilder.gradientStep(c, tasks: 2), u = try StepBuilder.updateStep(c)
        #expect(g.signature.kind == .gradient && u.signature.kind == .update)
        #expect(g.signature.gradients.map(\.parameter) == StepBuilder.gradientParameterNames(c))
        #expect(u.signature.gradients.map(\.parameter) == StepBuilder.gradientParameterNames(c))
        #expect(g.signature.updates.isEmpty && u.signature.learningRate == StepSignature.learningRateName)
        #expect(u.parameters == (try StepBuilder.trainStep(c)).parameters)
        #expect(throws: StepConfigError.self) { try StepBuilder.gradientStep(c, tasks: 5) }
    }

    @Test("learners that train one episode or batch per step are refused with a plain error",
          arguments: [Algorithm.relationnet, .matchingnet, .baseline, .baselinepp])
    func notSplittable(_ a: Algorithm) throws {
        let error = #expect(throws: StepConfigError.self) { try StepBuilder.gradientStep(Self.config(a, metaBatch: 4), tasks: 2) }
        #expect(error?.description.contains("without --distributed") == true)
    }

    @Test("one-process DataParallelTrainer matches the fused Trainer", arguments: [Algorithm.maml, .reptile, .metasgd])
    func oneProcess(_ a: Algorithm) throws {
        let c = Self.config(a, metaBatch: 3), iterations = 3
        let dir = try TestPaths.makeTemporaryFolder(prefix: "split-\(a.rawValue)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fusedDir = dir.appendingPathComponent("fused"), splitDir = dir.appendingPathComponent("split")
        for d in [fusedDir, splitDir] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        let all = Array(0..<c.metaBatch)

        let fused = try StepBuilder.trainStep(c)
        let trainer = try Trainer(step: try Self.compile(fused.graph), signature: fused.signature,
                                  store: ParameterStore(specs: fused.parameters, seed: 7),
                                  options: Self.options(fusedDir, iterations: iterations, tasks: c.metaBatch),
                                  metadata: [:], resume: false)
        try trainer.run(batch: { Self.feeds(c, iteration: $0, tasks: all) }, evaluate: nil)

        let g = try StepBuilder.gradientStep(c, tasks: c.metaBatch), u = try StepBuilder.updateStep(c)
        let split = try DataParallelTrainer(
            gradientStep: try Self.compile(g.graph), gradientSignature: g.signature, updateStep: try Self.compile(u.graph),
            updateSignature: u.signature, store: ParameterStore(specs: u.parameters, seed: 7),
            options: Self.options(splitDir, iterations: iterations, tasks: c.metaBatch), metadata: [:], resume: false,
            reducer: SingleProcessReducer())
        try split.run(batch: { Self.feeds(c, iteration: $0, tasks: all) }, evaluate: nil)
        #expect(split.iteration == iterations && split.timing.iterations == iterations - 1)
        let w = Self.worst(trainer.store, split.store)
        #expect(w < 1e-4, "largest relative parameter difference \(w)")
        // Something moved: the comparison is not between two untouched initialisations.
        #expect(Self.worst(trainer.store, ParameterStore(specs: fused.parameters, seed: 7)) > 1e-4)
        // The checkpoint is the fused trainer's format: it loads into the same specs.
        var reloaded = ParameterStore(specs: u.parameters, seed: 0)
        let meta = try reloaded.load(from: splitDir.appendingPathComponent(Trainer.checkpointName))
        #expect(meta["iteration"] == String(iterations))
        #expect(Self.worst(reloaded, split.store) < 1e-6)
    }

    @Test("uneven shares (5 tasks over 2 ranks) sum to the fused update", arguments: [Algorithm.maml, .reptile])
    func unevenShares(_ a: Algorithm) throws {
        let c = Self.config(a, metaBatch: 5)
        let fused = try StepBuilder.trainStep(c), update = try StepBuilder.updateStep(c)
        let store = ParameterStore(specs: fused.parameters, seed: 3)
        let f = try Self.compile(fused.graph), u = try Self.compile(update.graph)
        for (n, v) in store.values { try f.set(n, v); try u.set(n, v) }
        for (n, v) in Self.feeds(c, iteration: 0, tasks: Array(0..<5)) { try f.feed(n, v) }
        try f.set(StepSignature.learningRateName, HostTensor(TensorType(.f32, .scalar), [0.01]))
        f.execute()

        var sums: [String: [Double]] = [:], loss = 0.0
        for rank in 0..<2 {
            let tasks = try MetaBatchShare.tasks(rank: rank, size: 2, metaBatch: 5)
            let gs = try StepBuilder.gradientStep(c, tasks: tasks.count)
            let g = try Self.compile(gs.graph)
            for n in g.graph.parameters.map(\.name) { try g.set(n, store.values[n]!) }
            for (n, v) in Self.feeds(c, iteration: 0, tasks: tasks) { try g.feed(n, v) }
            g.execute()
            loss += try g.scalar(StepSignature.lossName)
            for grad in gs.signature.gradients {
                let v = try g.value(grad.name).data
                sums[grad.parameter] = zip(sums[grad.parameter] ?? [Double](repeating: 0, count: v.count), v).map { $0 + $1 }
            }
        }
        #expect(abs(loss - (try f.scalar(StepSignature.lossName))) < 1e-5 * max(1, abs(loss)))
        for grad in update.signature.gradients {
            let t = update.graph.inputs.first { $0.name == grad.name }.map { update.graph.nodes[$0.node].type }!
            try u.set(grad.name, HostTensor(t, sums[grad.parameter]!))
        }
        try u.set(StepSignature.learningRateName, HostTensor(TensorType(.f32, .scalar), [0.01]))
        u.execute()
        var worst = 0.0
        for up in update.signature.updates {
            for (x, y) in zip(try f.value(up.output).data, try u.value(up.output).data) {
                worst = max(worst, abs(x - y) / max(abs(x), abs(y), 1e-3))
            }
        }
        #expect(worst < 1e-4, "largest relative difference of the updates \(worst)")
    }
}
