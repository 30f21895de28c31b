import EpisodeData
import Foundation
import GraphDSL
import Interpreter
import MetaIR
import MetaLearning
import Runtime
import Testing

/// The memory limit refuses graphs before anything of their size is allocated, and library
/// entry points refuse configurations they cannot build.
@Suite struct MemoryLimitTests {
    /// A 256×256 matmul: three 256 KiB buffers, well under a megabyte in all.
    func modestGraph() throws -> Graph {
        let b = GraphBuilder(name: "modest")
        let x = try b.input("x", [256, 256])
        let w = try b.parameter("w", [256, 256])
        b.output("y", try relu(x.matmul(w)))
        return try b.finish()
    }

    @Test func compilerRefusesBeforeLowering() throws {
        let g = try modestGraph()
        var options = CompileOptions(cache: nil, memoryLimit: MemoryLimit(bytes: 300_000, source: "test limit"))
        var stages: [String] = []
        #expect {
            _ = try Compiler(options: options).lower(g) { stages.append($0.stage) }
        } throws: { e in
            guard case .exceeded(let what, let needed, let parts, _) = e as? MemoryLimitError else { return false }
            // Arena (y) 256 KiB, resident x and w 512 KiB.
            return what.contains("modest") && needed == 3 * 262_144 && parts.map(\.name) == ["arena", "parameters and inputs"]
                && "\(e)".contains("above the limit of 293.0 KiB (test limit)")
        }
        #expect(!stages.contains(Compiler.memoryPlanStage) && !stages.contains(Compiler.loweringStage))
        #expect(throws: MemoryLimitError.self) { _ = try CompiledProgram(graph: g, options: options) }
        options.memoryLimit = MemoryLimit(bytes: 1 << 20, source: "test limit")
        let p = try CompiledProgram(graph: g, options: options)
        #expect(p.report.arenaBytes == 262_144)
    }

    @Test func hugeGraphIsRefusedNotAllocated() throws {
        let b = GraphBuilder(name: "huge")
        let x = try b.input("x", [Int.max / 4])  // count fits, bytes do not
        b.output("y", try relu(x))
        let g = try b.finish()
        let limit = MemoryLimit(bytes: 1 << 30, source: "test limit")
        #expect(throws: MemoryLimitError.self) { _ = try CompiledProgram(graph: g, options: CompileOptions(cache: nil, memoryLimit: limit)) }
        #expect(throws: MemoryLimitError.self) { _ = try InterpretedProgram(graph: g, memoryLimit: limit) }
        #expect(throws: MemoryLimitError.self) { _ = try RandomFeeds.make(for: g, seed: 0, limit: limit) }
    }

    @Test func interpreterChecksTheValuesItHolds() throws {
        let g = try modestGraph()
        // x, w, the product and its relu: four 65536-element values as Doubles (plus, at
        // most, a scalar constant for relu's zero).
        let needed = Interpreter.bytesNeeded(for: g)
        #expect(needed >= 4 * 65_536 * 8 && needed <= 4 * 65_536 * 8 + 8)
        #expect(throws: MemoryLimitError.self) {
            _ = try InterpretedProgram(graph: g, memoryLimit: MemoryLimit(bytes: 1 << 20, source: "test limit"))
        }
        let interp = Interpreter(memoryLimit: MemoryLimit(bytes: 1 << 20, source: "test limit"))
        let feeds = RandomFeeds.make(for: g, seed: 1)
        #expect(throws: MemoryLimitError.self) { _ = try interp.run(g, feeds: feeds) }
        _ = try InterpretedProgram(graph: g, memoryLimit: MemoryLimit(bytes: 4 << 20, source: "test limit")).run(feeds)
    }

    @Test func parameterStoreChecksBeforeDrawing() throws {
        let huge = [ParameterSpec(name: "w", type: TensorType(.f32, [1 << 40]), initializer: .zeros)]
        #expect(ParameterStore.bytesNeeded(for: huge) == 8 << 40)
        #expect(throws: MemoryLimitError.self) {
            _ = try ParameterStore(specs: huge, seed: 0, memoryLimit: MemoryLimit(bytes: 1 << 30, source: "test limit"))
        }
        let small = [ParameterSpec(name: "w", type: TensorType(.f32, [4]), initializer: .ones)]
        let store = try ParameterStore(specs: small, seed: 0, memoryLimit: MemoryLimit(bytes: 1 << 10, source: "test limit"))
        #expect(store.values["w"]?.data == [1, 1, 1, 1])
    }
}

@Suite struct StepConfigLimitTests {
    func config() -> StepConfig {
        StepConfig(algorithm: .maml, ways: 2, shots: 1, queries: 1, metaBatch: 1, innerSteps: 1, innerLR: 0.1,
                   imageSize: 8, width: 2)
    }

    @Test func stepBuilderRefusesImpossibleConfigurations() throws {
        let cases: [(String, (inout StepConfig) -> Void)] = [
            ("metaBatch must be at least 1, got 0", { $0.metaBatch = 0 }),
            ("ways must be at least 1, got 0", { $0.ways = 0 }),
            ("shots must be at least 1, got -1", { $0.shots = -1 }),
            ("queries must be at least 1, got 0", { $0.queries = 0 }),
            ("innerSteps must be at least 0, got -2", { $0.innerSteps = -2 }),
            ("width must be at least 1, got 0", { $0.width = 0 }),
            ("imageSize must be at least 1, got 0", { $0.imageSize = 0 }),
            ("innerLR must be a finite number", { $0.innerLR = .nan }),
            ("metaBatch is 5000", { $0.metaBatch = 5000 }),
            ("innerSteps is 1000", { $0.innerSteps = 1000 }),
            ("more than fit in a 64-bit count", { $0.ways = 1 << 40; $0.shots = 1 << 30 }),
            ("backbone needs hidden widths", { $0.backbone = .mlp(hidden: [4, 0]) }),
        ]
        for (message, change) in cases {
            var c = config()
            change(&c)
            for build in [StepBuilder.trainStep, StepBuilder.evalStep] {
                #expect {
                    _ = try build(c)
                } throws: { e in
                    e is StepConfigError && "\(e)".contains(message)
                }
            }
        }
        _ = try StepBuilder.evalStep(config())
    }

    @Test func episodeConfigRefusesOverflowingBatches() {
        #expect(EpisodeConfig(ways: 5, shots: 1, queries: 15, metaBatchSize: 32).batchElements(imageElements: 784) == 32 * 5 * 16 * 784)
        let huge = EpisodeConfig(ways: 1 << 30, shots: 1 << 20, queries: 1, metaBatchSize: 1 << 20)
        #expect(huge.batchElements(imageElements: 1) == nil)
        #expect(throws: DataError.self) { try huge.validate() }
    }
}
