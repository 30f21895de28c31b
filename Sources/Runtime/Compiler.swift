import Foundation
import JIT
import Lowering
import MetaIR
import Passes
import Synchronization

/// Options of a native compile.
public struct CompileOptions: Sendable {
    /// How hard every stage works (`O0`: the unoptimised reference).
    public var optLevel: OptLevel = .O3
    /// Threads a kernel may be split over (1 or 2 on this machine).
    public var threads: Int = 2
    /// Where compiled objects are cached (`nil`: no cache).
    public var cache: CompileCache? = CompileCache()
    /// Verify the graph after every pass and the kernel program after fusion and planning.
    public var verify = true
    /// The most the compiled program may allocate (arena plus resident inputs and
    /// parameters), checked after memory planning, before lowering; `nil`: the default from
    /// `MemoryLimit.resolve()` (`METAJIT_MEMORY_LIMIT`, else half of physical memory).
    public var memoryLimit: MemoryLimit?
    /// The vector registers the dense kernels' tiles are sized to (default: the host's).
    public var vectorUnit: VectorUnit = .host

    /// Creates options.
    public init(optLevel: OptLevel = .O3, threads: Int = 2, cache: CompileCache? = CompileCache(), verify: Bool = true,
                memoryLimit: MemoryLimit? = nil, vectorUnit: VectorUnit = .host) {
        self.vectorUnit = vectorUnit
        self.optLevel = optLevel
        self.threads = threads
        self.cache = cache
        self.verify = verify
        self.memoryLimit = memoryLimit
    }
}

/// How long each compile stage took.
public struct CompileReport: Sendable, CustomStringConvertible {
    /// Graph passes (simplify, …).
    public var passes: Duration = .zero
    /// Fusion and memory planning.
    public var fusion: Duration = .zero
    /// Lowering to LLVM IR text.
    public var lowering: Duration = .zero
    /// LLVM (parse, optimise, code generation, link) or cache load.
    public var llvm: CompileTimings = CompileTimings()
    /// Kernels in the schedule.
    public var kernels = 0
    /// Distinct functions in the module.
    public var functions = 0
    /// Arena bytes after planning, and without reuse.
    public var arenaBytes = 0, unplannedBytes = 0

    /// One line per stage.
    public var description: String {
        func ms(_ d: Duration) -> String { String(format: "%.1f ms", Double(d.components.attoseconds) / 1e15 + Double(d.components.seconds) * 1000) }
        return """
            passes \(ms(passes)), fusion+planning \(ms(fusion)), lowering \(ms(lowering)), llvm \(ms(llvm.total)) (\(llvm.cache))
            llvm phases, summed over the parts compiled in parallel: \(llvm)
            \(kernels) kernels, \(functions) distinct functions, arena \(arenaBytes / 1024) KiB (\(unplannedBytes / 1024) KiB without reuse)
            """
    }
}

/// What one stage of the compiler hands the next, as `Compiler.lower(_:after:)` shows it.
public enum CompileArtifact {
    /// The graph after the graph pass `pass`.
    case graph(pass: String, Graph)
    /// The kernel program after `fusion` (no plan yet) or `memory-plan` (with its plan).
    case kernels(stage: String, KernelProgram, MemoryPlan?)
    /// The LLVM module and schedule after `lowering`.
    case llvm(LoweredProgram)

    /// The stage's name, as `--dump-after` takes it.
    public var stage: String {
        switch self {
        case .graph(let pass, _): return pass
        case .kernels(let stage, _, _): return stage
        case .llvm: return Compiler.loweringStage
        }
    }
}

/// Everything the compiler produced before LLVM: the optimised graph, its kernels, their
/// memory plan and the LLVM module text with its schedule.
public struct LoweredStages: Sendable {
    /// The graph after the pass pipeline.
    public var graph: Graph
    /// The fused kernels.
    public var program: KernelProgram
    /// Buffer placement.
    public var plan: MemoryPlan
    /// The LLVM module and schedule.
    public var lowered: LoweredProgram
    /// Stage timings so far.
    public var report: CompileReport
}

/// Everything the compiler produced, machine code included.
public struct CompiledStages {
    /// The stages before LLVM.
    public var stages: LoweredStages
    /// The JIT-compiled module parts (they own the code the functions point into).
    public var modules: [CompiledModule]
    /// One entry point per distinct kernel function, indexed like `lowered.functionNames`.
    public var functions: [RangeKernelFunction]
    /// The stage timings, LLVM included.
    public var report: CompileReport { stages.report }
}

/// The compile pipeline, defined once: graph passes → fusion → memory plan → lowering →
/// LLVM. `CompiledProgram` runs all of it, `metajit dump` stops at the stage it shows; both
/// go through here, so what is dumped is what runs.
///
/// Between stages the verifiers run (`Verifier` after each graph pass, `KernelVerifier`
/// after fusion and after memory planning), and every stage honours `options.optLevel`.
public struct Compiler: Sendable {
    /// The options.
    public var options: CompileOptions

    /// Name of the fusion stage for `--dump-after`.
    public static let fusionStage = "fusion"
    /// Name of the memory-planning stage for `--dump-after`.
    public static let memoryPlanStage = "memory-plan"
    /// Name of the lowering stage for `--dump-after`.
    public static let loweringStage = "lowering"

    /// Creates a compiler.
    public init(options: CompileOptions = CompileOptions()) { self.options = options }

    /// The graph pass pipeline at this level.
    public var pipeline: Pipeline { Pipeline.standard(optLevel: options.optLevel) }

    /// Every stage name `lower(_:after:)` reports, in order.
    public var stageNames: [String] {
        pipeline.passes.map(\.name) + [Self.fusionStage, Self.memoryPlanStage, Self.loweringStage]
    }

    /// Runs every stage before LLVM; `after` sees each stage's result as it is made.
    public func lower(_ g: Graph, after: (CompileArtifact) -> Void = { _ in }) throws -> LoweredStages {
        let clock = ContinuousClock()
        let level = options.optLevel
        var report = CompileReport()
        var t = clock.now
        let graph = try pipeline.run(g, verify: options.verify) { after(.graph(pass: $0, $1)) }
        report.passes = clock.now - t
        t = clock.now
        let program = Fusion(fuse: level.fuses).run(graph)
        if options.verify { try KernelVerifier.verify(program) }
        after(.kernels(stage: Self.fusionStage, program, nil))
        let plan = MemoryPlan.plan(program, reuse: level.reusesMemory)
        // Before anything else looks at sizes: lowering and LLVM of a graph that cannot run
        // here would only take time, and `CompiledProgram` would die allocating it.
        try Self.checkMemory(program, plan, name: g.name, limit: options.memoryLimit ?? MemoryLimit.resolve())
        if options.verify { try KernelVerifier.verify(plan, for: program) }
        after(.kernels(stage: Self.memoryPlanStage, program, plan))
        report.fusion = clock.now - t
        t = clock.now
        let lowered = LoweredProgram.lower(program, name: g.name, tunedDense: level.tunedDenseKernels,
                                           unit: options.vectorUnit)
        report.lowering = clock.now - t
        after(.llvm(lowered))
        report.kernels = lowered.calls.count
        report.functions = lowered.functionNames.count
        report.arenaBytes = plan.arenaBytes
        report.unplannedBytes = plan.unplannedBytes
        return LoweredStages(graph: graph, program: program, plan: plan, lowered: lowered, report: report)
    }

    /// Runs every stage, LLVM included: the module is split into one part per thread (LLVM
    /// compiles a module on one core) and the parts are compiled concurrently.
    public func compile(_ g: Graph, jit: LLVMJIT? = nil) throws -> CompiledStages {
        var stages = try lower(g)
        let compiler = try jit ?? LLVMJIT(cache: options.cache)
        let parts = stages.lowered.modules(parts: max(1, options.threads))
        let results = Mutex<[Int: Result<CompiledModule, Error>]>([:])
        let name = g.name, level = options.optLevel
        DispatchQueue.concurrentPerform(iterations: parts.count) { k in
            let r = Result { try compiler.compile(module: parts[k].text, name: "\(name).part\(k)", optLevel: level) }
            results.withLock { $0[k] = r }
        }
        let modules = try (0..<parts.count).map { k in
            guard let r = results.withLock({ $0[k] }) else { throw CompilerError.missingPart(k) }
            return try r.get()
        }
        stages.report.llvm = Self.combinedTimings(modules)
        var owner = [Int](repeating: 0, count: stages.lowered.functionNames.count)
        for (k, p) in parts.enumerated() { for f in p.functions { owner[f] = k } }
        let names = stages.lowered.functionNames
        let functions = try names.indices.map { try modules[owner[$0]].rangeKernel(named: names[$0]) }
        return CompiledStages(stages: stages, modules: modules, functions: functions)
    }

    /// Throws when the arena and the resident (input and parameter) buffers of `program`
    /// together exceed `limit`.
    public static func checkMemory(_ program: KernelProgram, _ plan: MemoryPlan, name: String, limit: MemoryLimit) throws {
        var resident: [Int] = []
        for b in program.buffers {
            switch b.role {
            case .input, .parameter:
                let (bytes, overflow) = b.count.multipliedReportingOverflow(by: b.dtype.byteSize)
                resident.append(overflow ? Int.max : bytes)
            case .intermediate: break
            }
        }
        try limit.check("the compiled graph \"\(name)\"", parts: [
            ("arena", plan.arenaBytes), ("parameters and inputs", MemoryLimit.sum(resident)),
        ])
    }

    /// Wall time is the slowest part's; the phase times are summed over parts.
    static func combinedTimings(_ modules: [CompiledModule]) -> CompileTimings {
        guard var timings = modules.first?.timings else { return CompileTimings() }
        for m in modules.dropFirst() {
            timings.parse += m.timings.parse
            timings.verify += m.timings.verify
            timings.optimize += m.timings.optimize
            timings.codegen += m.timings.codegen
            timings.link += m.timings.link
            timings.total = max(timings.total, m.timings.total)
            if !m.timings.cacheHit { timings.cache = m.timings.cache }
        }
        return timings
    }
}

/// A compile that could not finish (a bug in the compiler, reported instead of crashing).
public enum CompilerError: Error, CustomStringConvertible {
    /// A module part's compile result went missing.
    case missingPart(Int)

    /// Human-readable message.
    public var description: String {
        switch self {
        case .missingPart(let k): return "module part \(k) produced no result"
        }
    }
}
