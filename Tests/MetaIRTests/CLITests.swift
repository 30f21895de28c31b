import Foundation
import Graphs
import TestSupport
import Testing

/// Runs the built `metajit` binary (built by `swift build`, which `.ci/run` does first).
func metajit(_ args: [String]) throws -> CLIResult { try runMetaJIT(args) }

@Suite(.serialized) struct CLITests {
    @Test func listShowsEveryGraph() throws {
        let r = try metajit(["list"])
        #expect(r.status == 0)
        // One line per catalog graph, in catalog order, starting with its name: a name that is
        // a prefix of another (mlp, mlp-…) cannot pass by accident.
        let listed = r.out.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
        #expect(listed == GraphCatalog.all.map(\.name))
        #expect(GraphCatalog.all.count >= 4)
    }

    @Test func dumpedMjirRunsWithTheSameOutputs() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("metajit-cli-\(UUID().uuidString).mjir")
        defer { try? FileManager.default.removeItem(at: tmp) }
        for name in ["mlp", "lstm-classifier", "attention-block", "conv4"] {
            let args = name == "conv4" ? ["-D", "width=8"] : []
            let dump = try metajit(["dump", name] + args)
            #expect(dump.status == 0)
            try dump.out.write(to: tmp, atomically: true, encoding: .utf8)
            let direct = try metajit(["run", name, "--backend", "interp", "--seed", "5"] + args)
            let fromFile = try metajit(["run", tmp.path, "--backend", "interp", "--seed", "5"])
            #expect(direct.status == 0 && fromFile.status == 0)
            #expect(direct.out == fromFile.out, "\(name)")
            #expect(direct.out.contains("loss: f32[] = "))
        }
    }

    @Test func dotFormat() throws {
        let r = try metajit(["dump", "mlp", "--format", "dot"])
        #expect(r.status == 0 && r.out.hasPrefix("digraph"))
    }

    @Test func errorsGoToStderrWithNonZeroExit() throws {
        let unknown = try metajit(["run", "no-such-graph"])
        #expect(unknown.status != 0 && unknown.err.contains("unknown graph 'no-such-graph'") && unknown.out.isEmpty)
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).mjir")
        defer { try? FileManager.default.removeItem(at: tmp) }
        try "graph \"g\" {\n  %0: f32[2] = input \"x\"\n  %1: f32[2] = bogus %0\n}\n".write(to: tmp, atomically: true, encoding: .utf8)
        let bad = try metajit(["dump", tmp.path])
        #expect(bad.status != 0 && bad.err.contains(":3:16: unknown op 'bogus'"))
        let missing = try metajit(["run", "/nonexistent/x.mjir"])
        #expect(missing.status != 0 && missing.err.contains("/nonexistent/x.mjir"))
        let badOption = try metajit(["run", "conv4", "-D", "colour=1"])
        #expect(badOption.status != 0 && badOption.err.contains("no option 'colour'"))
    }

    /// Every compile stage can be printed with `--dump-after`, and what `fused` shows is the
    /// memory-plan stage; unknown stages are named in the error.
    @Test func dumpAfterEveryStage() throws {
        let fusion = try metajit(["dump", "mlp", "--dump-after", "fusion"])
        #expect(fusion.status == 0 && fusion.out.hasPrefix("// mlp: ") && fusion.out.contains("kernels"))
        #expect(!fusion.out.contains("arena"))  // planning has not run yet
        let plan = try metajit(["dump", "mlp", "--dump-after", "memory-plan"])
        #expect(plan.status == 0 && plan.out.contains("arena") && plan.out.contains(" @"))
        let fused = try metajit(["dump", "mlp", "--stage", "fused"])
        #expect(fused.out == plan.out)
        let lowering = try metajit(["dump", "mlp", "--dump-after", "lowering"])
        let llvm = try metajit(["dump", "mlp", "--stage", "llvm"])
        #expect(lowering.status == 0 && lowering.out == llvm.out && lowering.out.contains("define void @mlp_k0("))
        let simplify = try metajit(["dump", "mlp", "--dump-after", "simplify"])
        #expect(simplify.status == 0 && simplify.out.hasPrefix("graph \"mlp\""))
        // -O0 has no graph pass, one kernel per op, and no memory reuse.
        let o0 = try metajit(["dump", "mlp", "-O0", "--dump-after", "simplify"])
        #expect(o0.status != 0 && o0.err.contains("stages: fusion, memory-plan, lowering"))
        let o0plan = try metajit(["dump", "mlp", "-O0", "--dump-after", "memory-plan"])
        if let header = o0plan.out.split(separator: "\n").first {
            // "arena N bytes (N without reuse)"
            let numbers = header.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            #expect(numbers.count >= 4 && numbers[numbers.count - 1] == numbers[numbers.count - 2], "\(header)")
        }
    }
}
