import Dispatch
import Foundation
import Interpreter
import MetaIR
import Synchronization

/// A meta-training step run as shares of the meta-batch, one share per core: task-level
/// parallelism instead of splitting each kernel between threads.
///
/// A MAML step is hundreds of small kernels per task (a 1-shot support set is 5 images), most
/// too small to split between two threads, so with kernel splitting one core idles through
/// much of the step. Here every share — a gradient step over its tasks
/// (`StepBuilder.gradientStep`, partials already scaled by `1 / metaBatch`) — runs whole on
/// its own core with single-threaded kernels; then the partial gradients are summed into the
/// update step (`StepBuilder.updateStep`), which applies the outer optimiser. The result is
/// the fused training step's up to float summation order, so the trainer and the benchmark
/// drive it as they drive a ``CompiledProgram``: through ``Executable``, with the fused
/// step's names (`support_x` … `query_y` with every task on axis 0, `lr`, `loss`,
/// `accuracy`, `task_accuracy`, `update.<param>`).
///
/// Shares with the same task count run one compiled module (``CompiledProgram/instance(threads:)``),
/// so two shares of 16 tasks compile once.
public final class TaskParallelProgram: Executable {
    /// The step's interface: the fused step's inputs (every task on axis 0), parameters and
    /// outputs. It describes the names and types the step answers to; it is not what runs
    /// (``shares`` and ``update`` are).
    public let graph: Graph
    /// The gradient steps, one per share, in task order.
    public let shares: [CompiledProgram]
    /// Tasks in each share.
    public let tasks: [Int]
    /// The update step.
    public let update: CompiledProgram
    private let signature: StepSignature
    /// Names the gradient steps read as parameters (the learned ones).
    private let shareParameters: Set<String>
    /// Inputs split along axis 0 between the shares.
    private let taskInputs: Set<String>
    /// Threads for shares 1…: persistent, with the kernel threads' stack size.
    private let workers: ShareThreads

    /// Compiles the shares and the update step.
    ///
    /// - Parameters:
    ///   - shares: one gradient graph per share and its task count (graphs with the same
    ///     task count must be the same graph: they are compiled once).
    ///   - update: the update graph (`grad.<param>` and `lr` inputs, `update.<param>` outputs).
    ///   - options: compile options (`threads`: module parts LLVM compiles in parallel); every
    ///     program runs with one kernel thread, its share on its own core.
    public init(shares: [(graph: Graph, tasks: Int)], update: Graph, options: CompileOptions = CompileOptions()) throws {
        guard !shares.isEmpty, shares.allSatisfy({ $0.tasks >= 1 }) else {
            throw ProgramError.unknownName("a task-parallel step needs at least one share of at least one task")
        }
        // Compiled with `options.threads` (LLVM compiles that many module parts in parallel),
        // run with one kernel thread each.
        let compiler = Compiler(options: options)
        var byCount: [Int: CompiledProgram] = [:]
        var programs: [CompiledProgram] = []
        for s in shares {
            if let first = byCount[s.tasks] {
                programs.append(try first.instance(threads: 1))
            } else {
                let p = try CompiledProgram(compiled: try compiler.compile(s.graph), threads: 1)
                byCount[s.tasks] = p
                programs.append(p)
            }
        }
        self.shares = programs
        tasks = shares.map(\.tasks)
        self.update = try CompiledProgram(compiled: try compiler.compile(update), threads: 1)
        let gradientSignature = StepSignature.episodic(.gradient, of: programs[0].graph)
        shareParameters = Set(programs[0].graph.parameters.map(\.name))
        let updateSignature = StepSignature.episodic(.update, of: self.update.graph)
        for g in gradientSignature.gradients where !self.update.graph.inputs.contains(where: { $0.name == g.name }) {
            throw ProgramError.unknownName("the update step has no input \(g.name) for the gradient of \(g.parameter)")
        }
        // The interface graph: the share's inputs with the whole meta-batch on axis 0.
        let total = tasks.reduce(0, +)
        var nodes: [Node] = [], outputs: [GraphOutput] = []
        var batched: Set<String> = []
        let shareGraph = programs[0].graph
        for (name, node) in shareGraph.inputs {
            var t = shareGraph.nodes[node].type
            if t.shape.rank >= 1, t.shape.dims[0] == tasks[0] {
                t = TensorType(t.dtype, Shape([total] + t.shape.dims.dropFirst()))
                batched.insert(name)
            }
            nodes.append(Node(op: .input(name: name), inputs: [], type: t))
        }
        taskInputs = batched
        let updateGraph = self.update.graph
        for (name, node) in updateGraph.inputs where name == StepSignature.learningRateName {
            nodes.append(Node(op: .input(name: name), inputs: [], type: updateGraph.nodes[node].type))
        }
        for (name, node) in updateGraph.parameters {
            nodes.append(Node(op: .parameter(name: name), inputs: [], type: updateGraph.nodes[node].type))
        }
        func output(_ name: String, _ type: TensorType) {
            nodes.append(Node(op: .constant(0), inputs: [], type: type))
            outputs.append(GraphOutput(name: name, node: nodes.count - 1))
        }
        let gradientOutputs = Set(gradientSignature.gradients.map(\.name))
        for (name, node) in shareGraph.outputs.map({ ($0.name, $0.node) }) where !gradientOutputs.contains(name) {
            var t = shareGraph.nodes[node].type
            if name == StepSignature.taskAccuracyName { t = TensorType(t.dtype, Shape([total])) }
            output(name, t)
        }
        for u in updateSignature.updates {
            guard let o = updateGraph.outputs.first(where: { $0.name == u.output }) else { continue }
            output(u.output, updateGraph.nodes[o.node].type)
        }
        graph = Graph(name: "task-parallel(\(shares.count) shares: \(tasks.map(String.init).joined(separator: "+")) tasks)",
                      nodes: nodes, outputs: outputs)
        signature = gradientSignature
        workers = ShareThreads(count: programs.count - 1)
    }

    deinit { workers.shutdown() }

    /// Writes an input or parameter: task inputs are split along axis 0 between the shares,
    /// learned parameters go to every share and to the update step, optimiser state and the
    /// learning rate to the update step.
    public func set(_ name: String, _ value: HostTensor) throws {
        if taskInputs.contains(name) {
            let per = value.shape.count / max(tasks.reduce(0, +), 1)
            var start = 0
            for (p, n) in zip(shares, tasks) {
                let dims = [n] + value.shape.dims.dropFirst()
                try p.set(name, HostTensor(TensorType(value.type.dtype, Shape(dims)), Array(value.data[(start * per)..<((start + n) * per)])))
                start += n
            }
            return
        }
        var known = false
        if shareParameters.contains(name) || shares[0].feedTypes[name] != nil {
            for p in shares { try p.set(name, value) }
            known = true
        }
        if update.feedTypes[name] != nil {
            try update.set(name, value)
            known = true
        }
        guard known else { throw ProgramError.unknownName(name) }
    }

    /// Writes an input from values in the step's element types (split like ``set(_:_:)``).
    public func feed(_ name: String, _ value: FeedValue) throws {
        guard taskInputs.contains(name) else { return try set(name, value.hostTensor) }
        let total = tasks.reduce(0, +)
        switch value {
        case .f32(let x, let dims):
            let per = x.count / max(total, 1)
            var start = 0
            for (p, n) in zip(shares, tasks) {
                try p.feed(name, .f32(Array(x[(start * per)..<((start + n) * per)]), [n] + dims.dropFirst()))
                start += n
            }
        case .i32(let x, let dims):
            let per = x.count / max(total, 1)
            var start = 0
            for (p, n) in zip(shares, tasks) {
                try p.feed(name, .i32(Array(x[(start * per)..<((start + n) * per)]), [n] + dims.dropFirst()))
                start += n
            }
        }
    }

    /// Runs every share on its own thread, sums their gradients into the update step, runs it.
    public func execute() throws {
        let programs = shares
        workers.run { programs[$0].execute() }
        for g in signature.gradients {
            try update.withMutableFloats(g.name) { sum in
                try programs[0].withFloats(g.name) { first in _ = sum.update(from: first) }
                for p in programs.dropFirst() {
                    try p.withFloats(g.name) { part in
                        for i in 0..<min(sum.count, part.count) { sum[i] += part[i] }
                    }
                }
            }
        }
        update.execute()
    }

    /// An output (summed over the shares for `loss` and `accuracy`, concatenated for
    /// `task_accuracy`), or an input or parameter.
    public func value(_ name: String) throws -> HostTensor {
        if update.outputBuffers[name] != nil || update.feedTypes[name] != nil && !shareParameters.contains(name) {
            return try update.value(name)
        }
        if name == StepSignature.taskAccuracyName {
            let parts = try shares.map { try $0.value(name) }
            return HostTensor(TensorType(parts[0].type.dtype, Shape([parts.reduce(0) { $0 + $1.shape.count }])), parts.flatMap(\.data))
        }
        if taskInputs.contains(name) {
            let parts = try shares.map { try $0.value(name) }
            let total = parts.reduce(0) { $0 + $1.shape.dims[0] }
            return HostTensor(TensorType(parts[0].type.dtype, Shape([total] + parts[0].shape.dims.dropFirst())), parts.flatMap(\.data))
        }
        if shares[0].outputBuffers[name] != nil {
            let parts = try shares.map { try $0.value(name) }
            var data = parts[0].data
            for p in parts.dropFirst() { for i in data.indices { data[i] += p.data[i] } }
            return HostTensor(parts[0].type, data)
        }
        return try shares[0].value(name)
    }

    /// A scalar output, summed over the shares (their partials are already scaled).
    public func scalar(_ name: String) throws -> Double {
        if update.outputBuffers[name] != nil { return try update.scalar(name) }
        return try shares.reduce(0) { $0 + (try $1.scalar(name)) }
    }

    /// The first of `outputs` holding a NaN or an infinity, in any share or the update.
    public func firstNonFinite(among outputs: [String]) throws -> String? {
        for name in outputs {
            if update.outputBuffers[name] != nil {
                if try update.firstNonFinite(among: [name]) != nil { return name }
            } else {
                for p in shares where try p.firstNonFinite(among: [name]) != nil { return name }
            }
        }
        return nil
    }

    /// Applies the outer update in the update step and copies the new learned parameters to
    /// every share.
    public func apply(_ updates: [StepSignature.Update]) throws {
        try update.apply(updates)
        for u in updates where shareParameters.contains(u.parameter) {
            try update.withFloats(u.parameter) { values in
                for p in shares { try p.withMutableFloats(u.parameter) { dst in _ = dst.update(from: values) } }
            }
        }
    }

    /// Feeds every input and parameter, runs, and returns every output.
    public func run(_ feeds: [String: HostTensor]) throws -> [String: HostTensor] {
        for (name, v) in feeds { try set(name, v) }
        try execute()
        var out: [String: HostTensor] = [:]
        for o in graph.outputs { out[o.name] = try value(o.name) }
        return out
    }
}

extension CompiledProgram {
    /// Calls `body` with an `f32` output, input or parameter's buffer, read-only.
    func withFloats<T>(_ name: String, _ body: (UnsafeBufferPointer<Float>) throws -> T) throws -> T {
        guard let b = outputBuffers[name]?.buffer ?? inputBuffers[name] ?? parameterBuffers[name] else {
            throw ProgramError.unknownName(name)
        }
        guard program.buffers[b].dtype == .f32 else { throw ProgramError.unknownName("\(name) (not f32)") }
        return try body(UnsafeBufferPointer(start: pointer(b).assumingMemoryBound(to: Float.self), count: program.buffers[b].count))
    }

    /// Calls `body` with an `f32` input or parameter's buffer (or an output's), writable.
    func withMutableFloats<T>(_ name: String, _ body: (UnsafeMutableBufferPointer<Float>) throws -> T) throws -> T {
        guard let b = inputBuffers[name] ?? parameterBuffers[name] ?? outputBuffers[name]?.buffer else {
            throw ProgramError.unknownName(name)
        }
        guard program.buffers[b].dtype == .f32 else { throw ProgramError.unknownName("\(name) (not f32)") }
        return try body(UnsafeMutableBufferPointer(start: pointer(b).assumingMemoryBound(to: Float.self), count: program.buffers[b].count))
    }
}

/// `count` persistent threads that run share `k + 1` of a step while the caller runs share 0.
final class ShareThreads: @unchecked Sendable {
    private var threads: [Thread] = []
    private let start: [DispatchSemaphore]
    private let done = DispatchSemaphore(value: 0)
    private let stop = Atomic<Bool>(false)
    private var body: ((Int) -> Void)?

    init(count: Int) {
        start = (0..<count).map { _ in DispatchSemaphore(value: 0) }
        for k in 0..<count {
            // The thread holds the pool until `shutdown` ends its loop.
            let t = Thread { self.loop(k) }
            t.stackSize = 1 << 22
            t.start()
            threads.append(t)
        }
    }

    private func loop(_ k: Int) {
        while true {
            start[k].wait()
            if stop.load(ordering: .acquiring) { return }
            body?(k + 1)
            done.signal()
        }
    }

    /// Runs `work(0)` here and `work(k)` for every other share on thread `k − 1`; returns when all are done.
    func run(_ work: (Int) -> Void) {
        withoutActuallyEscaping(work) { w in
            body = w
            for s in start { s.signal() }
            w(0)
            for _ in start { done.wait() }
            body = nil
        }
    }

    /// Ends the threads (the pool is unusable afterwards).
    func shutdown() {
        stop.store(true, ordering: .releasing)
        for s in start { s.signal() }
        threads = []
    }
}
