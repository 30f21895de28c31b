import Foundation
import GraphDSL
import Graphs
import MetaLearning
import Interpreter
import MetaIR
import Testing

@Suite struct DSLTests {
    @Test func matmulMismatchNamesOpShapesAndCallSite() throws {
        let b = GraphBuilder(name: "bad")
        let x = try b.input("x", [5, 3])
        let w = try b.parameter("w", [4, 2])
        let line = #line + 2
        do {
            _ = try x.matmul(w)
            Issue.record("no error")
        } catch let e as DSLError {
            #expect(e.op == "matmul")
            #expect(e.operands == [TensorType(.f32, [5, 3]), TensorType(.f32, [4, 2])])
            #expect(e.location == SourceLocation(file: "MetaIRTests/DSLTests.swift", line: line))
            #expect(e.description.contains("DSLTests.swift:\(line): matmul: inner dimensions differ (3 vs 4)"))
            #expect(e.description.contains("f32[5,3], f32[4,2]"))
        }
    }

    @Test func broadcastMismatchInOperatorReportsScope() throws {
        let b = GraphBuilder(name: "bad")
        let x = try b.input("x", [2, 3])
        let y = try b.input("y", [4])
        do {
            _ = try b.scope("residual") { try x + y }
            Issue.record("no error")
        } catch let e as DSLError {
            #expect(e.op == "add")
            #expect(e.scope == "residual")
            #expect(e.description.contains("shapes [2,3] and [4] cannot be broadcast together"))
        }
    }

    @Test func convChannelMismatchInsideModel() throws {
        let b = GraphBuilder(name: "bad")
        let x = try b.input("x", [2, 3, 28, 28])  // 3 channels, model expects 1
        let model = Conv4(channels: 1, width: 8)
        let p = try Parameters(declaring: model.parameterSpecs, in: b)
        do {
            _ = try model(x, p)
            Issue.record("no error")
        } catch let e as DSLError {
            #expect(e.op == "conv2d")
            #expect(e.scope == "block1")
            #expect(e.location?.file == "MetaLearning/Models.swift")
            #expect(e.message.contains("input has 3 channels but the filter expects 1"))
        }
    }

    @Test func duplicateNamesAndMissingParameters() throws {
        let b = GraphBuilder(name: "dup")
        _ = try b.input("x", [1])
        #expect(throws: DSLError.self) { try b.input("x", [1]) }
        #expect(throws: DSLError.self) { try Parameters().tensor("w") }
    }

    @Test func unknownGraphNameAndOption() throws {
        #expect(throws: GraphCatalogError.unknownGraph("nope", available: GraphCatalog.all.map(\.name))) {
            try GraphCatalog.named("nope")
        }
        #expect(throws: GraphCatalogError.self) { try GraphCatalog.named("conv4").build(GraphConfig(["colour": 1])) }
        #expect(throws: GraphCatalogError.self) { try GraphConfig.parse(["ways"]) }
    }

    @Test func graphOptionsChangeShapes() throws {
        let g = try GraphCatalog.named("conv4").build(GraphConfig(["ways": 20, "shots": 5, "width": 32])).graph
        let x = try #require(g.inputs.first { $0.name == "x" })
        #expect(g.nodes[x.node].type.shape == [100, 1, 28, 28])
        let head = try #require(g.parameters.first { $0.name == "head.w" })
        #expect(g.nodes[head.node].type.shape == [32, 20])
        let strided = try GraphCatalog.named("conv4").build(GraphConfig(["strided": 1])).graph
        let sh = try #require(strided.parameters.first { $0.name == "head.w" })
        #expect(strided.nodes[sh.node].type.shape == [256, 5])
    }

    @Test func compositesComputeWhatTheySay() throws {
        let b = GraphBuilder(name: "c")
        let x = try b.input("x", [2, 3])
        let labels = try b.input("labels", [2], dtype: .i32)
        b.output("softmax", try softmax(x))
        b.output("ce", try crossEntropy(logits: x, labels: labels))
        b.output("acc", try accuracy(logits: x, labels: labels))
        b.output("sigmoid", try sigmoid(x))
        let g = try b.finish()
        let xs: [Double] = [1, 2, 3, 0, 0, 5]
        let out = try Interpreter(precision: .float64).run(g, feeds: [
            "x": HostTensor(shape: [2, 3], xs), "labels": HostTensor(TensorType(.i32, [2]), [2, 0])])
        let e = xs.map { Foundation.exp($0) }
        let s0 = e[0] + e[1] + e[2], s1 = e[3] + e[4] + e[5]
        #expect(close(try #require(out["softmax"]).data, [e[0] / s0, e[1] / s0, e[2] / s0, e[3] / s1, e[4] / s1, e[5] / s1], tol: 1e-12))
        let ce = -(Foundation.log(e[2] / s0) + Foundation.log(e[3] / s1)) / 2
        #expect(abs(try #require(out["ce"]).scalar - ce) < 1e-12)
        #expect(try #require(out["acc"]).scalar == 0.5)
        #expect(close(try #require(out["sigmoid"]).data, xs.map { 1 / (1 + Foundation.exp(-$0)) }, tol: 1e-12))
    }

    @Test func maxPoolBatchNormAndCausalAttention() throws {
        let b = GraphBuilder(name: "c")
        let x = try b.input("x", [1, 1, 3, 5])
        b.output("pool", try maxPool2x2(x))
        let gamma = b.constant(1, [1]), beta = b.constant(0, [1])
        b.output("bn", try batchNorm(x, gamma: gamma, beta: beta, epsilon: 0))
        let seq = try b.input("seq", [1, 3, 1])
        b.output("attn", try attention(query: seq, key: seq, value: seq, causal: true))
        let g = try b.finish()
        let xs = (1...15).map(Double.init)
        let out = try Interpreter(precision: .float64).run(g, feeds: [
            "x": HostTensor(shape: [1, 1, 3, 5], xs), "seq": HostTensor(shape: [1, 3, 1], [1, 2, 3])])
        #expect(try #require(out["pool"]).data == [7, 9])  // odd trailing row/column dropped
        let bn = try #require(out["bn"]).data
        #expect(abs(bn.reduce(0, +)) < 1e-9 && abs(bn.map { $0 * $0 }.reduce(0, +) / 15 - 1) < 1e-9)
        // Position 0 attends only to itself: output 1. Later positions mix only the past.
        let attn = try #require(out["attn"]).data
        #expect(abs(attn[0] - 1) < 1e-12)
        let w1 = [Foundation.exp(2.0), Foundation.exp(4.0)]  // scores 2*1, 2*2
        #expect(abs(attn[1] - (w1[0] * 1 + w1[1] * 2) / (w1[0] + w1[1])) < 1e-12)
    }

    @Test func dumpedTextRunsLikeTheGraphItself() throws {
        for def in GraphCatalog.all where def.name != "conv4" && !def.name.hasPrefix("maml") {
            let g = try def.build().graph
            let reparsed = try Parser.parse(Printer.print(g))
            let a = try Interpreter().run(g, feeds: RandomFeeds.make(for: g, seed: 3))
            let b = try Interpreter().run(reparsed, feeds: RandomFeeds.make(for: reparsed, seed: 3))
            #expect(a == b, "\(def.name)")
        }
    }
}

/// `Op.allRepresentative` drives the coverage tests: it must really cover every kind once per
/// mnemonic, and `kind` must agree with the representatives.
@Suite struct OpKindTests {
    @Test func representativesCoverEveryKindWithDistinctMnemonics() {
        let ops = Op.allRepresentative
        #expect(Set(ops.map(\.kind)) == Set(Op.Kind.allCases))
        #expect(Set(ops.map(\.mnemonic)).count == ops.count)
        for kind in Op.Kind.allCases {
            #expect(!kind.representatives.isEmpty)
            for op in kind.representatives { #expect(op.kind == kind, "\(op.mnemonic) is not of kind \(kind)") }
        }
        let expectedCount = Op.Kind.allCases.count - 4 + UnaryOp.allCases.count + BinaryOp.allCases.count
            + CompareOp.allCases.count + ReduceOp.allCases.count
        #expect(ops.count == expectedCount)
    }
}
