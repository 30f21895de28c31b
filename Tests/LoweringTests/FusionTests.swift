import Foundation
import GraphDSL
import JIT
import Lowering
import MetaIR
import Passes
import Runtime
import Testing

/// Pins what fusion does to known patterns, and checks the code LLVM makes of them.
@Suite struct FusionTests {
    @Test func elementwiseChainOfFiveOpsIsOneKernel() throws {
        let b = GraphBuilder(name: "chain")
        let x = try b.input("x", [64, 32])
        let y = try b.input("y", [64, 32])
        b.output("out", try relu(exp(x * y + 1) - y) / (y * y + 2))
        let g = try b.finish()
        let fused = Fusion().run(g)
        #expect(fused.kernels.count == 1)
        let unfused = Fusion(fuse: false).run(g)
        #expect(unfused.kernels.count == g.nodes.filter { n in
            switch n.op {
            case .input, .parameter, .constant, .iota: return false  // leaves get no kernel
            case .unary, .binary, .compare, .select, .reduce, .argmax, .matmul, .conv2d, .conv2dInputGrad,
                 .conv2dFilterGrad, .reshape, .permute, .broadcast, .slice, .pad, .concat, .oneHot, .cast,
                 .stopGradient, .randomUniform, .gather, .scatterAdd:
                return true
            }
        }.count)
    }

    @Test func convBiasReluIsOneKernel() throws {
        let b = GraphBuilder(name: "conv-bias-relu")
        let x = try b.input("x", [2, 3, 8, 8])
        let w = try b.parameter("w", [4, 3, 3, 3])
        let c = try b.parameter("c", [4])
        b.output("y", try relu(x.conv2d(w, stride: 1, padding: 1) + c.reshaped([1, 4, 1, 1])))
        let p = Fusion().run(try b.finish())
        #expect(p.kernels.count == 1)
        guard case .convolution(.forward, _, let e) = p.kernels[0].body else {
            Issue.record("not a convolution: \(p.kernels[0].body)")
            return
        }
        #expect(e != nil)
    }

    @Test func matmulBiasReluIsOneKernel() throws {
        let b = GraphBuilder(name: "linear-relu")
        let x = try b.input("x", [8, 16])
        let w = try b.parameter("w", [16, 4])
        let c = try b.parameter("c", [4])
        b.output("y", try relu(linear(x, w, c)))
        #expect(Fusion().run(try b.finish()).kernels.count == 1)
    }

    @Test func transposeFeedsMatmulWithoutACopy() throws {
        let b = GraphBuilder(name: "xt-w")
        let x = try b.input("x", [16, 8])
        let w = try b.parameter("w", [16, 4])
        b.output("y", try x.transposed().matmul(w))
        let p = Fusion().run(try b.finish())
        #expect(p.kernels.count == 1)
    }

    @Test func softmaxCrossEntropyKernelCount() throws {
        // Row max, row sum of exp, log of that sum (materialised rather than recomputed for
        // every class), the per-row target sum, the mean, and the scalar negation: 6 kernels.
        // The one-hot, the subtraction of the max and the target product fuse into reductions.
        let b = GraphBuilder(name: "xent")
        let x = try b.input("x", [16, 5])
        let y = try b.input("y", [16], dtype: .i32)
        b.output("loss", try crossEntropy(logits: x, labels: y))
        let p = Fusion().run(try Pipeline.standard().run(try b.finish()))
        #expect(p.kernels.count <= 6, "\(KernelPrinter.print(p))")
    }

    @Test func memoryPlanReusesBuffers() throws {
        let b = GraphBuilder(name: "deep")
        var h = try b.input("x", [64, 64])
        for i in 0..<6 { h = try relu(h.matmul(b.parameter("w\(i)", [64, 64]))) }
        b.output("y", try h.sum(axes: [0, 1]))
        let p = Fusion().run(try b.finish())
        let plan = MemoryPlan.plan(p)
        // Six 16 KiB activations, at most two live at once (plus the scalar).
        #expect(plan.unplannedBytes >= 6 * 64 * 64 * 4)
        #expect(plan.arenaBytes <= 2 * 64 * 64 * 4 + 64)
    }

    @Test func elementwiseKernelVectorizes() throws {
        let b = GraphBuilder(name: "vec")
        let x = try b.input("x", [1024])
        let y = try b.input("y", [1024])
        b.output("z", try x * y + x)
        let lowered = LoweredProgram.lower(Fusion().run(try b.finish()), name: "vec")
        let opt = try LLVMJIT().optimizedIR(irText: lowered.module, name: "vec")
        // CHECK: the loop body works on vectors of floats.
        #expect(opt.contains("x float>"), "no vector code in:\n\(opt.prefix(2000))")
    }

    @Test func compiledProgramUsesTheCompileCache() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("metajit-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let b = GraphBuilder(name: "cached")
        let x = try b.input("x", [32, 8])
        let w = try b.parameter("w", [8, 4])
        b.output("y", try tanh(x.matmul(w)))
        let g = try b.finish()
        let options = CompileOptions(cache: CompileCache(directory: dir))
        let first = try CompiledProgram(graph: g, options: options)
        #expect(!first.report.llvm.cacheHit)
        let second = try CompiledProgram(graph: g, options: options)
        #expect(second.report.llvm.cacheHit)
        // A corrupted entry is detected and rebuilt, and the program still computes the same.
        for f in try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil) {
            try Data("garbage".utf8).write(to: f)
        }
        let third = try CompiledProgram(graph: g, options: options)
        #expect(!third.report.llvm.cacheHit)
        let feeds = ["x": HostTensorFactory.ramp([32, 8]), "w": HostTensorFactory.ramp([8, 4])]
        #expect(try third.run(feeds)["y"] == (try first.run(feeds)["y"]))
    }
}

import Interpreter

enum HostTensorFactory {
    static func ramp(_ shape: [Int]) -> HostTensor {
        let n = shape.reduce(1, *)
        return HostTensor(shape: Shape(shape), (0..<n).map { Double(Float(sin(Double($0)) * 0.5)) })
    }
}
