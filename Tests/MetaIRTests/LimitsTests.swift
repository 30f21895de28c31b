import Foundation
import GraphDSL
import Graphs
import MetaIR
import Testing

/// Element counts, shapes and options that would overflow or make no sense are refused with
/// a message, never a trap.
@Suite struct LimitsTests {
    @Test func shapeCountReportsOverflow() {
        #expect(Shape([3, 4]).checkedCount == 12)
        #expect(Shape.scalar.checkedCount == 1)
        #expect(Shape([Int.max, 2]).checkedCount == nil)
        #expect(Shape([1 << 32, 1 << 32]).checkedCount == nil)
        #expect(Shape([1 << 32, 1 << 32]).count == Int.max)  // saturates instead of trapping
        #expect(Shape([-1, 2]).checkedCount == nil)
        #expect(Shape([1 << 40, 1 << 40]).strides == [1 << 40, 1])
    }

    @Test func parserRefusesOverflowingShapeWithLineAndColumn() {
        let text = "graph \"g\" {\n  %0: f32[4294967296,4294967296] = input \"x\"\n  output \"y\" = %0\n}\n"
        #expect {
            _ = try Parser.parse(text)
        } throws: { e in
            guard let e = e as? ParseError else { return false }
            return e.line == 2 && e.column == 7 && e.message.contains("more elements than fit")
        }
    }

    @Test func parserRefusesNegativeDimensionWithLineAndColumn() {
        let text = "graph \"g\" {\n  %0: f32[2,-3] = input \"x\"\n  output \"y\" = %0\n}\n"
        #expect {
            _ = try Parser.parse(text)
        } throws: { e in
            guard let e = e as? ParseError else { return false }
            return e.line == 2 && e.column == 7 && e.message.contains("negative dimension")
        }
    }

    @Test func dslRefusesOverflowingShapeNamingOpAndCallSite() throws {
        let b = GraphBuilder(name: "g")
        // Outside `#expect`, whose expansion moves `#line` to its own line.
        var caught: DSLError?
        let line = #line + 1
        do { _ = try b.input("x", [1 << 32, 1 << 32]) } catch let e as DSLError { caught = e }
        let e = try #require(caught)
        #expect(e.op == "input" && e.location?.line == line && e.location?.file == "MetaIRTests/LimitsTests.swift")
        #expect(e.message == "shape [4294967296,4294967296] has more elements than fit in a 64-bit count")
        // A result shape that overflows although every operand's count fits.
        let x = try b.input("a", [1 << 31])
        #expect(throws: DSLError.self) { _ = try b.apply(.broadcast, [x], declared: TensorType(.f32, [1 << 33, 1 << 31])) }
    }

    @Test func verifierRefusesOverflowingShape() {
        var g = Graph(name: "g")
        _ = g.append(Node(op: .input(name: "x"), inputs: [], type: TensorType(.f32, [1 << 32, 1 << 32])))
        #expect(throws: VerifierError.self) { try Verifier.verify(g) }
    }

    @Test func byteCountsParse() {
        #expect(MemoryLimit.parseBytes("123") == 123)
        #expect(MemoryLimit.parseBytes("4K") == 4096)
        #expect(MemoryLimit.parseBytes("512M") == 512 << 20)
        #expect(MemoryLimit.parseBytes("12G") == 12 << 30)
        #expect(MemoryLimit.parseBytes("12gb") == 12 << 30)
        for bad in ["", "0", "-5", "1.5G", "12X", "G", "99999999999999999999", "9000000000G", "١٢"] {
            #expect(MemoryLimit.parseBytes(bad) == nil, "\(bad)")
        }
    }

    @Test func limitComesFromFlagThenEnvironmentThenPhysicalMemory() throws {
        let physical: UInt64 = 16 << 30
        let fallback = try MemoryLimit.resolve(environment: [:], physicalMemory: physical)
        #expect(fallback.bytes == 8 << 30 && fallback.source.contains("half of physical memory"))
        let env = try MemoryLimit.resolve(environment: [MemoryLimit.environmentVariable: "2G"], physicalMemory: physical)
        #expect(env.bytes == 2 << 30 && env.source.contains("METAJIT_MEMORY_LIMIT=2G"))
        let flag = try MemoryLimit.resolve(flag: "3M", environment: [MemoryLimit.environmentVariable: "2G"], physicalMemory: physical)
        #expect(flag.bytes == 3 << 20 && flag.source.contains("--memory-limit 3M"))
        #expect(throws: MemoryLimitError.badSetting(name: "METAJIT_MEMORY_LIMIT", value: "lots")) {
            _ = try MemoryLimit.resolve(environment: [MemoryLimit.environmentVariable: "lots"], physicalMemory: physical)
        }
    }

    @Test func exceededLimitNamesSizesAndSource() throws {
        let limit = MemoryLimit(bytes: 12 << 30, source: "half of physical memory; set METAJIT_MEMORY_LIMIT or --memory-limit")
        try limit.check("small", parts: [("arena", 1 << 30)])
        #expect {
            try limit.check("the compiled step", parts: [("arena", 40_700_000_000), ("parameters and inputs", 322_122_548)])
        } throws: { e in
            "\(e)" == "the compiled step needs 38.2 GiB (arena 37.9 GiB, parameters and inputs 0.3 GiB), above the limit of "
                + "12.0 GiB (half of physical memory; set METAJIT_MEMORY_LIMIT or --memory-limit)"
        }
        // Sums saturate rather than trap.
        #expect(throws: MemoryLimitError.self) { try limit.check("huge", parts: [("a", Int.max), ("b", Int.max)]) }
    }

    @Test func graphOptionsMustBeInRange() throws {
        let conv4 = try GraphCatalog.named("conv4")
        for bad in ["ways=0", "ways=-3", "ways=2.5", "ways=1e300", "ways=nan", "strided=2", "width=inf"] {
            let key = String(bad.prefix { $0 != "=" })
            #expect {
                _ = try conv4.build(GraphConfig.parse([bad]))
            } throws: { e in
                "\(e)".contains("option '\(key)'")
            }
        }
        let maml = try GraphCatalog.named("maml-conv4")
        #expect {
            _ = try maml.build(GraphConfig.parse(["tasks=1000000"]))
        } throws: { e in
            "\(e)".contains("option 'tasks'") && "\(e)".contains("1 to 1024")
        }
        #expect(throws: GraphCatalogError.self) { _ = try maml.build(GraphConfig.parse(["inner_lr=-1"])) }
        _ = try conv4.build(GraphConfig.parse(["ways=3", "width=4", "strided=1"]))
    }
}
