import ArgumentParser
import Autodiff
import Foundation
import MetaIR
import Passes
import Lowering
import JIT

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

    @Option(name: .customLong("dump-after"), help: "Print the graph after this pass of the pipeline (e.g. simplify) and stop.")
    var dumpAfter: String?

    @Option(name: .customLong("opt-level"), help: "Optimisation level 0 or 3 (also -O0/-O3).")
    var optLevel: Int = 3

    func run() throws {
        let traced = try source.load().graph
        if let dumpAfter {
            var found = false
            _ = try Pipeline.standard(optLevel: optLevel).run(traced) { name, g in
                if name == dumpAfter, !found {
                    found = true
                    print(Printer.print(g), terminator: "")
                }
            }
            guard found else {
                throw ValidationError("no pass named '\(dumpAfter)' at -O\(optLevel); passes: \(Pipeline.standard(optLevel: optLevel).passes.map(\.name).joined(separator: ", "))")
            }
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
            let opt = try Pipeline.standard().run(traced)
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
    func printBackEnd(_ traced: Graph) throws {
        let opt = try Pipeline.standard(optLevel: optLevel).run(traced)
        let program = Fusion(fuse: optLevel > 0).run(opt)
        if stage == .fused {
            print(KernelPrinter.print(program, plan: MemoryPlan.plan(program)), terminator: "")
            return
        }
        let lowered = LoweredProgram.lower(program, name: traced.name, tunedDense: optLevel > 0)
        switch stage {
        case .llvm: print(lowered.module, terminator: "")
        case .llvmOpt: print(try LLVMJIT().optimizedIR(irText: lowered.module, name: traced.name, optLevel: optLevel > 0 ? .O3 : .O0), terminator: "")
        default: print(try LLVMJIT().emitAssembly(irText: lowered.module, name: traced.name, optLevel: optLevel > 0 ? .O3 : .O0), terminator: "")
        }
    }
}
