import Autodiff
import EpisodeData
import Foundation
import GraphDSL
import Interpreter
import MetaIR
import MetaLearning
import Runtime

/// A value built on first use and then used by one test at a time (a `CompiledProgram` keeps
/// its parameters in resident buffers, so two tests must not run it at once). Compiling a
/// Conv-4 step takes seconds, so the learning, JIT-vs-interpreter and resume tests share one
/// compiled step per algorithm instead of compiling their own.
final class Shared<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value?
    private let make: () throws -> Value

    init(_ make: @escaping () throws -> Value) {
        self.make = make
        // A strong reference: fixtures are static and live for the whole process anyway, and a
        // weak one's side table would itself look leaked to LeakSanitizer (tagged pointer).
        SharedRegistry.register { self.release() }
    }

    /// Drops the value (at process exit; see `SharedRegistry`).
    func release() {
        lock.lock()
        defer { lock.unlock() }
        value = nil
    }

    /// Runs `body` with the value, holding it exclusively.
    func use<R>(_ body: (Value) throws -> R) throws -> R {
        lock.lock()
        defer { lock.unlock() }
        if value == nil { value = try make() }
        return try body(value!)
    }
}

/// Drops every `Shared` value when the test process exits, before LeakSanitizer's own exit
/// check runs (it registered its `atexit` handler first, so it runs after ours).
///
/// Without this the fixtures' compiled programs are alive at exit, which is no leak, but
/// LeakSanitizer reports the `Passes.Expr` trees they hold as "direct leaks": Swift stores
/// the box pointers of a multi-payload indirect enum with tag bits in the pointer's spare
/// bits, so LeakSanitizer's conservative scan does not recognise them as references. With
/// the fixtures released, every Expr still allocated at exit is a real leak.
enum SharedRegistry {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var releases: [() -> Void] = []
    nonisolated(unsafe) private static var installed = false

    static func register(_ release: @escaping () -> Void) {
        lock.lock()
        defer { lock.unlock() }
        releases.append(release)
        if !installed {
            installed = true
            atexit { SharedRegistry.releaseAll() }
        }
    }

    static func releaseAll() {
        lock.lock()
        let all = releases
        releases = []
        lock.unlock()
        for release in all { release() }
    }
}

/// A compiled training step and its parameter specs.
struct CompiledStep {
    var config: StepConfig
    var step: StepGraph
    var program: CompiledProgram
    var compileSeconds: Double
}

/// The Omniglot set-up of the tests: 5-way 1-shot, 5 queries, meta-batch 2, strided Conv-4
/// of width 8 (max-pool for ProtoNet), one inner step of α = 0.4 (Reptile: three of 0.2) — small enough that a step compiles in
/// seconds and an iteration takes about 10 ms.
enum OmniglotFixture {
    static let ways = 5, shots = 1, queries = 5, metaBatch = 2

    static func config(_ a: Algorithm, width: Int = 8) -> StepConfig {
        // Reptile with one inner step is joint training over randomly labelled tasks and learns
        // nothing a new task can use; three steps of α = 0.2 do.
        StepConfig(algorithm: a, ways: ways, shots: shots, queries: queries, metaBatch: metaBatch,
                   innerSteps: a == .protonet ? 0 : a == .reptile ? 3 : 1, innerLR: a == .reptile ? 0.2 : 0.4,
                   optimizer: .adam, imageSize: 28, width: width, strided: a != .protonet)
    }

    static let steps: [Algorithm: Shared<CompiledStep>] = Dictionary(uniqueKeysWithValues: Algorithm.episodic.map { a in
        (a, Shared {
            let c = config(a)
            let start = ContinuousClock.now
            let step = try StepBuilder.trainStep(c)
            let program = try RT.compile(step.graph)
            let seconds = RT.seconds(since: start)
            RT.note("compiled train-\(a.rawValue) in \(String(format: "%.1f", seconds)) s: \(program.report.kernels) kernels")
            return CompiledStep(config: c, step: step, program: program, compileSeconds: seconds)
        })
    })

    static var episodes: EpisodeConfig {
        EpisodeConfig(ways: ways, shots: shots, queries: queries, metaBatchSize: metaBatch)
    }
}

/// MAML on sinusoid regression (Finn et al. 2017, §5.1), built here from the library's
/// pieces: `MAML.adapt` for the inner loop, `Autodiff.grad` for the meta-gradient and
/// `OuterOptimizer.update` for the compiled Adam step. Follows the `StepBuilder` interface
/// (`support_x` … `query_y`, `lr`, `loss`, `update.*`) and adds `pre_adaptation_loss`.
enum SinusoidFixture {
    static let tasks = 4, shots = 10, queries = 10, hidden = 40
    static let innerLR = 0.01

    static func trainStep() throws -> StepGraph {
        let model = SinusoidMLP(hidden: hidden)
        let specs = model.parameterSpecs
        let optimizer = OuterOptimizer.adam
        let state = optimizer.stateSpecs(for: specs)
        let b = GraphBuilder(name: "test-maml-sinusoid")
        let p = try Parameters(declaring: specs, in: b)
        let s = try Parameters(declaring: state, in: b)
        let sx = try b.input("support_x", [tasks, shots, 1]), sy = try b.input("support_y", [tasks, shots, 1])
        let qx = try b.input("query_x", [tasks, queries, 1]), qy = try b.input("query_y", [tasks, queries, 1])
        let lr = try b.input("lr", .scalar)
        let inner = InnerLoop(steps: 1, learningRate: innerLR)
        var post: Tensor? = nil, pre: Tensor? = nil
        for t in 0..<tasks {
            try b.scope("task\(t)") {
                let x = try slice(sx, t), y = try slice(sy, t), xq = try slice(qx, t), yq = try slice(qy, t)
                let adapted = try MAML.adapt(model: model, params: p, supportX: x, supportY: y,
                                             loss: meanSquaredError, inner: inner)
                let after = try meanSquaredError(model(xq, adapted), yq)
                let before = try meanSquaredError(model(xq, p), yq).stopGradient()
                post = try post.map { try $0 + after } ?? after
                pre = try pre.map { try $0 + before } ?? before
            }
        }
        let loss = try post! * (1.0 / Double(tasks))
        b.output("loss", loss)
        b.output("pre_adaptation_loss", try pre! * (1.0 / Double(tasks)))
        var grads: [String: Tensor] = [:]
        for (n, g) in zip(p.names, try Autodiff.grad(of: loss, wrt: p.all)) { grads[n] = g }
        try optimizer.update(params: p, grads: grads, state: s, learningRate: lr, builder: b)
        return try StepGraph(graph: try b.finish(), parameters: specs + state, kind: .train)
    }

    /// Task `t` of a `[tasks, n, 1]` tensor.
    static func slice(_ x: Tensor, _ t: Int) throws -> Tensor {
        try x.slice(start: [t, 0, 0], end: [t + 1, x.shape[1], 1]).reshaped([x.shape[1], 1])
    }

    static func generator(seed: UInt64) throws -> SinusoidTaskGenerator {
        try SinusoidTaskGenerator(shots: shots, queries: queries, metaBatchSize: tasks, seed: seed)
    }

    static func feeds(_ b: SinusoidBatch) -> [String: FeedValue] {
        ["support_x": .f32(b.supportX, [b.batchSize, b.shots, 1]), "support_y": .f32(b.supportY, [b.batchSize, b.shots, 1]),
         "query_x": .f32(b.queryX, [b.batchSize, b.queries, 1]), "query_y": .f32(b.queryY, [b.batchSize, b.queries, 1])]
    }

    static let shared = Shared { () -> CompiledStep in
        let start = ContinuousClock.now
        let step = try trainStep()
        let program = try RT.compile(step.graph)
        let seconds = RT.seconds(since: start)
        RT.note("compiled test-maml-sinusoid in \(String(format: "%.1f", seconds)) s: \(program.report.kernels) kernels")
        let c = StepConfig(algorithm: .maml, ways: 1, shots: shots, queries: queries, metaBatch: tasks,
                           innerSteps: 1, innerLR: innerLR)
        return CompiledStep(config: c, step: step, program: program, compileSeconds: seconds)
    }
}
