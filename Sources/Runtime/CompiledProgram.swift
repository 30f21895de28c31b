import Foundation
import Interpreter
import JIT
import Lowering
import MetaIR
import Passes
import Synchronization

/// Errors feeding or compiling a program.
public enum ProgramError: Error, CustomStringConvertible, Equatable {
    /// No value was given for an input or parameter.
    case missingValue(String)
    /// A value of the wrong shape or type.
    case wrongType(name: String, expected: TensorType, got: TensorType)
    /// A name the program does not have.
    case unknownName(String)

    /// Human-readable message.
    public var description: String {
        switch self {
        case .missingValue(let n): return "no value fed for \"\(n)\""
        case .wrongType(let n, let e, let g): return "value for \"\(n)\" has type \(g), the program expects \(e)"
        case .unknownName(let n): return "the program has no input, parameter or output \"\(n)\""
        }
    }
}

/// A graph compiled to native code: a schedule of JIT-compiled kernels over one arena.
///
/// Inputs and parameters live in resident buffers that the caller fills (`run` copies
/// `HostTensor` feeds in; `setInput`/`setParameter` write them directly), outputs are read
/// back after each call. Parameters keep their values between calls, so a training loop
/// calls `run(applyingUpdates:)` and never copies weights through Swift arrays.
public final class CompiledProgram: Executable {
    /// The graph after the pass pipeline.
    public let graph: Graph
    /// The fused kernels.
    public let program: KernelProgram
    /// The LLVM module and schedule.
    public let lowered: LoweredProgram
    /// Buffer placement.
    public let plan: MemoryPlan
    /// Compile-stage timings.
    public let report: CompileReport
    let modules: [CompiledModule]
    let functions: [RangeKernelFunction]
    let arena: UnsafeMutableRawPointer
    let resident: [Int: UnsafeMutableRawPointer]
    /// All call arguments, flattened; call `i` starts at `argumentStart[i]`.
    let argumentTable: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    let argumentStart: [Int]
    let inputBuffers: [String: Int]
    let parameterBuffers: [String: Int]
    let outputBuffers: [String: (buffer: Int, type: TensorType)]
    let pool: WorkerPool?
    /// Swaps MXCSR (x86-64, kernel ABI with the word in `buffers[0]`), or `nil`.
    let floatControl: RangeKernelFunction?
    /// MXCSR with all exceptions masked, round to nearest, FTZ (bit 15) and DAZ (bit 6).
    static let mxcsrFlushDenormals: UInt32 = 0x1F80 | 0x8000 | 0x40
    /// Declared type of each input and parameter.
    public let feedTypes: [String: TensorType]
    /// Work above which a kernel is split between threads.
    let splitThreshold = 150_000

    /// The compiler's output this program runs (shared, read-only, by ``instance(threads:)``).
    let compiled: CompiledStages

    /// Compiles `graph` with `options` (see `Compiler` for the stages).
    public convenience init(graph g: Graph, options: CompileOptions = CompileOptions(), jit: LLVMJIT? = nil) throws {
        try self.init(compiled: try Compiler(options: options).compile(g, jit: jit), threads: options.threads)
    }

    /// Another program running the same machine code on buffers of its own (its own arena,
    /// inputs and parameters, zeroed), with `threads` kernel threads: no compilation. Task-
    /// parallel training runs one instance per core (``TaskParallelProgram``).
    public func instance(threads: Int) throws -> CompiledProgram {
        try CompiledProgram(compiled: compiled, threads: threads)
    }

    /// A program over already compiled stages, with `threads` kernel threads (1: no worker).
    init(compiled: CompiledStages, threads: Int) throws {
        self.compiled = compiled
        let stages = compiled.stages
        graph = stages.graph
        program = stages.program
        plan = stages.plan
        lowered = stages.lowered
        report = compiled.report
        modules = compiled.modules
        functions = compiled.functions
        let plan = stages.plan, program = stages.program, lowered = stages.lowered

        let arena = UnsafeMutableRawPointer.allocate(byteCount: max(plan.arenaBytes, 64), alignment: MemoryPlan.alignment)
        self.arena = arena
        var resident: [Int: UnsafeMutableRawPointer] = [:]
        var inputs: [String: Int] = [:], params: [String: Int] = [:]
        for (i, b) in program.buffers.enumerated() {
            switch b.role {
            case .input(let n), .parameter(let n):
                let bytes = max(b.count * b.dtype.byteSize, 1)
                let p = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: MemoryPlan.alignment)
                p.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
                resident[i] = p
                if case .input = b.role { inputs[n] = i } else { params[n] = i }
            case .intermediate: break
            }
        }
        self.resident = resident
        inputBuffers = inputs
        parameterBuffers = params
        var outs: [String: (Int, TensorType)] = [:]
        for o in program.outputs { outs[o.name] = (o.buffer, o.type) }
        outputBuffers = outs
        var types: [String: TensorType] = [:]
        let graph = self.graph
        for (n, i) in graph.inputs + graph.parameters { types[n] = graph.nodes[i].type }
        feedTypes = types

        let total = lowered.calls.reduce(0) { $0 + $1.arguments.count }
        argumentTable = .allocate(capacity: max(total, 1))
        var starts: [Int] = []
        var cursor = 0
        let planOffsets = plan.offsets
        let buffers = program.buffers
        func base(_ b: Int) -> UnsafeMutableRawPointer {
            if let r = resident[b] { return r }
            return arena + (planOffsets[b] ?? 0)
        }
        for c in lowered.calls {
            starts.append(cursor)
            for a in c.arguments {
                let size = buffers[a.buffer].dtype.byteSize
                argumentTable[cursor] = base(a.buffer) + a.offset * size
                cursor += 1
            }
        }
        argumentStart = starts
        #if arch(x86_64)
        let fc = try modules[0].rangeKernel(named: LoweredProgram.floatControlSymbol)
        floatControl = fc
        #else
        floatControl = nil
        #endif
        pool = threads > 1 ? WorkerPool() : nil
        if let pool, let fc = floatControl {
            // The worker only ever runs kernels: set its control word once.
            var word = Self.mxcsrFlushDenormals
            withUnsafeMutablePointer(to: &word) { w in
                var slot: UnsafeMutableRawPointer? = UnsafeMutableRawPointer(w)
                withUnsafeMutablePointer(to: &slot) { args in pool.run(fc, args, 0, 1) {} }
            }
        }
    }

    deinit {
        pool?.shutdown()
        arena.deallocate()
        for p in resident.values { p.deallocate() }
        argumentTable.deallocate()
    }

    func pointer(_ buffer: Int) -> UnsafeMutableRawPointer {
        resident[buffer] ?? arena + (plan.offsets[buffer] ?? 0)
    }

    /// Runs every kernel once.
    public func execute() {
        // Flush denormals to zero while the kernels run (restored afterwards, so Swift code on
        // this thread keeps IEEE behaviour); the worker sets it once for itself.
        withFlushedDenormals { runSchedule() }
    }

    /// Runs `body` with FTZ/DAZ set on this thread, restoring the previous control word.
    func withFlushedDenormals<T>(_ body: () -> T) -> T {
        var control = Self.mxcsrFlushDenormals
        return withUnsafeMutablePointer(to: &control) { w in
            var slot: UnsafeMutableRawPointer? = UnsafeMutableRawPointer(w)
            return withUnsafeMutablePointer(to: &slot) { args in
                floatControl?(args, 0, 1)          // set FTZ/DAZ, keep the old word
                defer { floatControl?(args, 0, 1) } // restore it
                return body()
            }
        }
    }

    private func runSchedule() {
        withExtendedLifetime(modules) {
            for i in lowered.calls.indices { call(i) }
        }
    }

    /// Runs schedule entry `i`, split between the two threads when it is large enough.
    func call(_ i: Int) {
        let c = lowered.calls[i]
        let f = functions[c.function]
        let args = argumentTable + argumentStart[i]
        let n = Int64(c.outerExtent)
        if let pool, c.work >= splitThreshold, n >= 2 {
            pool.run(f, args, n / 2, n) { f(args, 0, n / 2) }
        } else {
            f(args, 0, n)
        }
    }

    /// Writes an input or parameter from `HostTensor` values (converted to its element type).
    public func set(_ name: String, _ value: HostTensor) throws {
        guard let b = inputBuffers[name] ?? parameterBuffers[name] else { throw ProgramError.unknownName(name) }
        let info = program.buffers[b]
        guard value.shape.count == info.count else {
            throw ProgramError.wrongType(name: name, expected: TensorType(info.dtype, value.shape), got: value.type)
        }
        let p = pointer(b)
        switch info.dtype {
        case .f32:
            let f = p.assumingMemoryBound(to: Float.self)
            for (i, v) in value.data.enumerated() { f[i] = Float(v) }
        case .f64:
            let f = p.assumingMemoryBound(to: Double.self)
            for (i, v) in value.data.enumerated() { f[i] = v }
        case .i32:
            let f = p.assumingMemoryBound(to: Int32.self)
            for (i, v) in value.data.enumerated() { f[i] = Int32(clamping: Int(v)) }
        case .bool:
            let f = p.assumingMemoryBound(to: UInt8.self)
            for (i, v) in value.data.enumerated() { f[i] = v != 0 ? 1 : 0 }
        }
    }

    /// Copies `values` into an `f32` input or parameter.
    public func set(_ name: String, floats values: UnsafeBufferPointer<Float>) throws {
        try copyIn(name, values, dtype: .f32)
    }

    /// Copies `values` into an `i32` input.
    public func set(_ name: String, int32s values: UnsafeBufferPointer<Int32>) throws {
        try copyIn(name, values, dtype: .i32)
    }

    private func copyIn<T>(_ name: String, _ values: UnsafeBufferPointer<T>, dtype: DType) throws {
        guard let b = inputBuffers[name] ?? parameterBuffers[name] else { throw ProgramError.unknownName(name) }
        guard program.buffers[b].dtype == dtype, values.count == program.buffers[b].count else {
            throw ProgramError.wrongType(name: name, expected: TensorType(program.buffers[b].dtype, [program.buffers[b].count]),
                                         got: TensorType(dtype, [values.count]))
        }
        if let base = values.baseAddress { pointer(b).copyMemory(from: base, byteCount: values.count * MemoryLayout<T>.stride) }
    }

    /// An output (or input/parameter) as a `HostTensor`.
    public func value(_ name: String) throws -> HostTensor {
        let b: Int, t: TensorType
        if let o = outputBuffers[name] {
            (b, t) = o
        } else if let i = inputBuffers[name] ?? parameterBuffers[name] {
            b = i
            t = feedTypes[name] ?? TensorType(program.buffers[i].dtype, [program.buffers[i].count])
        } else {
            throw ProgramError.unknownName(name)
        }
        let p = pointer(b), n = t.shape.count
        var data = [Double](repeating: 0, count: n)
        switch program.buffers[b].dtype {
        case .f32: let f = p.assumingMemoryBound(to: Float.self); for i in 0..<n { data[i] = Double(f[i]) }
        case .f64: let f = p.assumingMemoryBound(to: Double.self); for i in 0..<n { data[i] = f[i] }
        case .i32: let f = p.assumingMemoryBound(to: Int32.self); for i in 0..<n { data[i] = Double(f[i]) }
        case .bool: let f = p.assumingMemoryBound(to: UInt8.self); for i in 0..<n { data[i] = Double(f[i]) }
        }
        return HostTensor(t, data)
    }

    /// The first element of a scalar `f32` output, read without copying the rest.
    public func scalar(_ name: String) throws -> Double {
        guard let o = outputBuffers[name] else { throw ProgramError.unknownName(name) }
        return Double(pointer(o.buffer).assumingMemoryBound(to: Float.self)[0])
    }

    /// Names of the parameters.
    public var parameterNames: [String] { parameterBuffers.keys.sorted() }

    /// Feeds every input and parameter, runs, and returns every output.
    public func run(_ feeds: [String: HostTensor]) throws -> [String: HostTensor] {
        for (name, expected) in feedTypes {
            guard let v = feeds[name] else { throw ProgramError.missingValue(name) }
            guard expected.shape == v.shape else { throw ProgramError.wrongType(name: name, expected: expected, got: v.type) }
            try set(name, v)
        }
        execute()
        var out: [String: HostTensor] = [:]
        for name in outputBuffers.keys { out[name] = try value(name) }
        return out
    }
}

/// Time spent in one distinct kernel function over a profiled call.
public struct KernelProfileEntry: Sendable {
    /// Function index in the module.
    public var function: Int
    /// Calls per step.
    public var calls: Int
    /// Seconds per step in this function.
    public var seconds: Double
    /// Work per step (FLOPs for dense kernels).
    public var work: Int
    /// One representative kernel, as `metajit dump --stage fused` prints it.
    public var example: String
}

extension CompiledProgram {
    /// Runs the schedule once, timing every kernel call; entries sorted by time, largest first.
    public func profile() -> [KernelProfileEntry] {
        var seconds = [Double](repeating: 0, count: lowered.functionNames.count)
        var calls = [Int](repeating: 0, count: seconds.count), work = calls
        var example = [Int](repeating: -1, count: seconds.count)
        let clock = ContinuousClock()
        withFlushedDenormals { withExtendedLifetime(modules) {
            for (i, c) in lowered.calls.enumerated() {
                let t = clock.now
                call(i)
                let d = clock.now - t
                seconds[c.function] += Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
                calls[c.function] += 1
                work[c.function] += c.work
                if example[c.function] < 0 { example[c.function] = c.kernel }
            }
        } }
        let lines = KernelPrinter.print(program).split(separator: "\n").filter { $0.hasPrefix("k") }
        return seconds.indices.map { f in
            let k = example[f]
            let text = k >= 0 && k < lines.count ? String(lines[k]) : ""
            return KernelProfileEntry(function: f, calls: calls[f], seconds: seconds[f], work: work[f], example: text)
        }.sorted { $0.seconds > $1.seconds }
    }
}
