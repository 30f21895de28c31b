import GraphDSL
import Interpreter
import Graphs
import MetaIR
import Passes
import Runtime
import Testing

/// The one compile pipeline: its stages, their order, the verifiers between them, and -O0.
@Suite struct CompilerTests {
    static func mlp() throws -> Graph {
        guard let def = GraphCatalog.all.first(where: { $0.name == "mlp" }) else { throw CatalogMissing(name: "mlp") }
        return try def.build().graph
    }

    struct CatalogMissing: Error { var name: String }

    @Test func stagesAreReportedInOrder() throws {
        let c = Compiler(options: CompileOptions(cache: nil))
        var seen: [String] = []
        _ = try c.lower(try Self.mlp()) { seen.append($0.stage) }
        #expect(seen == c.stageNames)
        #expect(seen == ["simplify", "fusion", "memory-plan", "lowering"])
    }

    @Test func optLevelZeroHonouredAtEveryStage() throws {
        let g = try Self.mlp()
        let o0 = try Compiler(options: CompileOptions(optLevel: .O0, cache: nil)).lower(g)
        let o3 = try Compiler(options: CompileOptions(optLevel: .O3, cache: nil)).lower(g)
        #expect(Compiler(options: CompileOptions(optLevel: .O0)).pipeline.passes.isEmpty)
        #expect(o0.graph == g)                                          // no graph pass
        let ops = g.nodes.filter { n in
            switch n.op {
            case .input, .parameter, .constant, .iota: return false
            default: return true
            }
        }
        // One kernel per op (reshapes of whole buffers are views, no kernel at all).
        #expect(o0.program.kernels.allSatisfy { $0.nodes.count == 1 })
        #expect(o0.program.kernels.count <= ops.count)
        #expect(o0.plan.arenaBytes == o0.plan.unplannedBytes)           // no reuse
        #expect(o3.plan.arenaBytes < o3.plan.unplannedBytes)
        #expect(o3.program.kernels.count < o0.program.kernels.count)
        // Naive dense loops at -O0: no <16 x float> register tiles in the module.
        #expect(!o0.lowered.module.contains("<16 x float>"))
    }

    /// An input gradient keeps a constant epilogue but not one that reads another buffer
    /// (the ReLU mask): that runs as its own elementwise pass, with the same result.
    @Test func inputGradientFoldsOnlyBufferFreeEpilogues() throws {
        func graph(_ tail: String) throws -> Graph {
            try Parser.parse("""
                graph "dx" {
                  %0: f32[2,8,6,6] = input "dy"
                  %1: f32[8,8,3,3] = input "w"
                  %2: f32[2,8,6,6] = input "y"
                  %3: f32[2,8,6,6] = conv2d_input_grad %0, %1 stride=1 padding=1
                  %4: f32[] = constant 0
                  %5: f32[1,1,1,1] = reshape %4
                  %6: f32[2,8,6,6] = broadcast %5
                \(tail)
                }
                """)
        }
        let masked = try graph("""
              %7: bool[2,8,6,6] = gt %2, %6
              %8: f32[2,8,6,6] = select %7, %3, %6
              output "dx" = %8
            """)
        let scaled = try graph("""
              %7: f32[] = constant 0.5
              %8: f32[1,1,1,1] = reshape %7
              %9: f32[2,8,6,6] = broadcast %8
              %10: f32[2,8,6,6] = mul %3, %9
              output "dx" = %10
            """)
        let compiler = Compiler(options: CompileOptions(cache: nil))
        func inputGradEpilogue(_ g: Graph) throws -> (epilogue: Bool, kernels: Int) {
            let kernels = try compiler.lower(g).program.kernels
            let dense = try #require(kernels.first { $0.body.isDense })
            return (dense.body.epilogue != nil, kernels.count)
        }
        #expect(try inputGradEpilogue(masked) == (false, 2))
        #expect(try inputGradEpilogue(scaled) == (true, 1))
        var feeds: [String: HostTensor] = [:]
        for (name, n) in [("dy", 576), ("y", 576)] {
            feeds[name] = HostTensor(TensorType(.f32, Shape([2, 8, 6, 6])), (0..<n).map { Double(($0 * 29) % 23) / 11 - 1 })
        }
        feeds["w"] = HostTensor(TensorType(.f32, Shape([8, 8, 3, 3])), (0..<576).map { Double(($0 * 17) % 13) / 13 - 0.5 })
        let jit = try CompiledProgram(graph: masked, options: CompileOptions(cache: nil)).run(feeds)["dx"]!.data
        let ref = try Interpreter().run(masked, feeds: feeds)["dx"]!.data
        #expect(jit.count == ref.count)
        for (a, b) in zip(jit, ref) { #expect(abs(a - b) <= 1e-4 * max(1, abs(b))) }
    }

    @Test func compiledProgramRunsWhatTheCompilerLowers() throws {
        let g = try Self.mlp()
        let options = CompileOptions(cache: nil)
        let p = try CompiledProgram(graph: g, options: options)
        let stages = try Compiler(options: options).lower(g)
        #expect(p.lowered.module == stages.lowered.module)
        #expect(KernelPrinter.print(p.program, plan: p.plan) == KernelPrinter.print(stages.program, plan: stages.plan))
    }

    @Test func kernelVerifierAcceptsEveryCatalogGraph() throws {
        // Small settings keep the meta-gradient graphs quick to fuse at -O0.
        let small: [String: [String: Double]] = ["maml-conv4": ["tasks": 1, "width": 8], "conv4": ["width": 8]]
        for def in GraphCatalog.all {
            var config = GraphConfig()
            for (k, v) in small[def.name] ?? [:] { config.values[k] = v }
            let g = try def.build(config).graph
            for level in OptLevel.allCases {
                let s = try Compiler(options: CompileOptions(optLevel: level, cache: nil)).lower(g)
                try KernelVerifier.verify(s.program)
                try KernelVerifier.verify(s.plan, for: s.program)
            }
        }
    }

    @Test func kernelVerifierRejectsBrokenPrograms() throws {
        let s = try Compiler(options: CompileOptions(cache: nil)).lower(try Self.mlp())
        let good = s.program
        // A kernel reading a buffer that is written only later.
        var early = good
        early.kernels[0].operands.append(good.kernels[good.kernels.count - 1].output)
        #expect(throws: PassError.self) { try KernelVerifier.verify(early) }
        // Two kernels writing one buffer.
        var twice = good
        twice.kernels[1].output = twice.kernels[0].output
        #expect(throws: PassError.self) { try KernelVerifier.verify(twice) }
        // An output whose buffer has the wrong size.
        var wrongSize = good
        wrongSize.buffers[wrongSize.outputs[0].buffer].count += 1
        #expect(throws: PassError.self) { try KernelVerifier.verify(wrongSize) }
        // A plan that puts two live buffers in the same place.
        var plan = s.plan
        let placed = plan.offsets.indices.filter { plan.offsets[$0] != nil }
        let live = MemoryPlan.liveRanges(good)
        if let (a, b) = Self.overlappingLives(placed, live) {
            plan.offsets[b] = plan.offsets[a]
            #expect(throws: PassError.self) { try KernelVerifier.verify(plan, for: good) }
        } else {
            Issue.record("no two buffers live at once in the mlp program")
        }
    }

    static func overlappingLives(_ placed: [Int], _ live: [ClosedRange<Int>?]) -> (Int, Int)? {
        for a in placed {
            for b in placed where b != a {
                if let x = live[a], let y = live[b], x.overlaps(y) { return (a, b) }
            }
        }
        return nil
    }
}
