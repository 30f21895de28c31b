import ArgumentParser
import Autodiff
import Foundation
import MetaIR
import Passes
import Lowering
import JIT
import Runtime

/// `metajit dump`: print a stage of the compiler for a graph.
struct DumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump", abstract: "Print a graph at one compiler stage (text IR or Graphviz).",
        discussion: """
            Stages: graph (as traced), grad (graph + gradient outputs grad.<param> of output "loss", \
            simplified), opt (after the graph-level pass pipeline), fused (kernels after fusion and \
            memory planning), llvm (the module handed to LLVM), llvm-opt (after LLVM's O3), asm (host assembly).
            """)

    enum Stage: String, ExpressibleByArgument, CaseIterable {
        case graph, grad, opt, fused, llvm
        case llvmOpt = "llvm-opt"
        case asm
    }

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, dot
    }

    @OptionGroup var source: GraphOptions

    @Option(help: "Stage to show: \(Stage.allCases.map(\.rawValue).joined(separator: ", ")).")
    var stage: Stage = .graph

    @Option(help: "Output format: text (the .mjir text IR) or dot (Graphviz).")
    var format: Format = .text

    @Option(help: "For --stage grad: comma-separated parameter names to differentiate with respect to (default: all).")
    var wrt: String?

    @Option(help: "For --stage grad: the output to differentiate.")
    var loss: String = "loss"

    @Flag(help: "For --stage grad: show the gradient graph before simplification.")
    var noSimplify = false

    @Flag(help: "Print node counts (before/after simplification) to stderr.")
    var stats = false

    @Option(name: .customLong("dump-after"),
            help: "Print what one compile stage produced and stop: a graph pass (e.g. simplify), fusion, memory-plan or lowering.")
    var dumpAfter: String?

    @Option(name: .customLong("opt-level"), help: "Optimisation level 0 or 3 (also -O0/-O3).")
    var optLevel: OptLevel = .O3

    @OptionGroup var limit: MemoryLimitOptions

    /// The compiler `fused`, `llvm` and `--dump-after` go through; it refuses graphs above
    /// the memory limit like `run` does, so what dumps is what would run.
    var compiler: Compiler {
        get throws { Compiler(options: CompileOptions(optLevel: optLevel, cache: nil, memoryLimit: try limit.resolve())) }
    }

    func run() throws {
        let traced = try source.load().graph
        if let dumpAfter {
            try printStage(dumpAfter, of: traced)
            return
        }
        if [.fused, .llvm, .llvmOpt, .asm].contains(stage) {
            try printBackEnd(traced)
            return
        }
        let g = try stageGraph(traced)
        switch format {
        case .text: print(Printer.print(g), terminator: "")
        case .dot: print(DotPrinter.print(g), terminator: "")
        }
    }

    func stageGraph(_ traced: Graph) throws -> Graph {
        switch stage {
        case .graph:
            report("traced", traced)
            return traced
        case .grad:
            let names = wrt?.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            let raw = try Autodiff.gradientGraph(traced, of: loss, wrt: names)
            report("grad", raw)
            if noSimplify { return raw }
            let simplified = try Pipeline(passes: [Simplify()]).run(raw)
            report("grad+simplify", simplified)
            return simplified
        case .opt, .fused, .llvm, .llvmOpt, .asm:
            report("traced", traced)
            let opt = try compiler.pipeline.run(traced)
            report("opt", opt)
            return opt
        }
    }

    func report(_ label: String, _ g: Graph) {
        guard stats else { return }
        FileHandle.standardError.write(Data("\(label): \(g.nodes.count) nodes\n".utf8))
    }
}

extension DumpCommand {
    /// `--dump-after STAGE`: the artifact of one stage, as the compiler made it.
    func printStage(_ wanted: String, of traced: Graph) throws {
        let c = try compiler
        guard c.stageNames.contains(wanted) else {
            throw ValidationError("no stage named '\(wanted)' at \(optLevel); stages: \(c.stageNames.joined(separator: ", "))")
        }
        var text = ""
        _ = try c.lower(traced) { artifact in
            guard artifact.stage == wanted, text.isEmpty else { return }
            switch artifact {
            case .graph(_, let g): text = format == .dot ? DotPrinter.print(g) : Printer.print(g)
            case .kernels(_, let program, let plan): text = KernelPrinter.print(program, plan: plan)
            case .llvm(let lowered): text = lowered.module
            }
        }
        print(text, terminator: "")
    }

    func printBackEnd(_ traced: Graph) throws {
        let stages = try compiler.lower(traced)
        if stage == .fused {
            print(KernelPrinter.print(stages.program, plan: stages.plan), terminator: "")
            return
        }
        let module = stages.lowered.module
        switch stage {
        case .llvm: print(module, terminator: "")
        case .llvmOpt: print(try LLVMJIT().optimizedIR(irText: module, name: traced.name, optLevel: optLevel), terminator: "")
        case .asm: print(try LLVMJIT().emitAssembly(irText: module, name: traced.name, optLevel: optLevel), terminator: "")
        case .graph, .grad, .opt, .fused: break
        }
    }
}

extension OptLevel: ExpressibleByArgument {
    /// Parses `0` … `3` (what `-O0` … `-O3` are rewritten to).
    public init?(argument: String) {
        guard let n = Int(argument), let level = OptLevel(number: n) else { return nil }
        self = level
    }
}
