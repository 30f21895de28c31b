import Foundation
import JIT
import Lowering
import Passes
import Runtime
import Interpreter

/// GFLOP/s of each lowering of Conv-4's convolutions, one thread, side by side
/// (`metajit bench --conv-kernels`): for kernel A/Bs on a noisy shared machine.
///
/// Every variant of every shape is compiled into one module, then the variants are timed
/// in turns (one call each, `rounds` times) and each keeps its fastest call: the minimum
/// is what a quiet machine would show, and turns keep slow phases of the host (steal time)
/// from favouring one variant.
enum ConvKernelBench {
    struct Row: Codable {
        var shape: String
        var form: String
        var variant: String
        var gflops: Double
        var seconds_per_call: Double
    }

    /// Conv-4 on 28×28 Omniglot, strided: the query (75 images) and support (5) shapes.
    static let shapes: [ConvSpec] = [75, 5].flatMap { n in
        [ConvSpec(n: n, c: 1, h: 28, w: 28, o: 64, kh: 3, kw: 3, stride: 2, padding: 1),
         ConvSpec(n: n, c: 64, h: 14, w: 14, o: 64, kh: 3, kw: 3, stride: 2, padding: 1),
         ConvSpec(n: n, c: 64, h: 7, w: 7, o: 64, kh: 3, kw: 3, stride: 2, padding: 1),
         ConvSpec(n: n, c: 64, h: 4, w: 4, o: 64, kh: 3, kw: 3, stride: 2, padding: 1)]
    }

    static func run(rounds: Int = 30) throws -> [Row] {
        let unit = VectorUnit.host
        var kernels: [(spec: ConvSpec, form: String, variant: String, kernel: DenseKernel, sizes: [Int])] = []
        for (i, s) in shapes.enumerated() {
            let x = s.n * s.c * s.h * s.w, w = s.o * s.c * s.kh * s.kw, y = s.n * s.o * s.outH * s.outW
            let forward = [x, w], backward = [y, w], filter = [x, y]
            kernels.append((s, "forward", "chosen", DenseKernels.conv2d(s, name: "f\(i)", unit: unit), [y] + forward))
            kernels.append((s, "forward", "im2col gathers", DenseKernels.conv2d(s, name: "fg\(i)", packing: .gathers, unit: unit), [y] + forward))
            kernels.append((s, "forward", "im2col lines", DenseKernels.conv2d(s, name: "fl\(i)", packing: .lines, unit: unit), [y] + forward))
            kernels.append((s, "forward", "indirect", DenseKernels.indirectConvolution(s, name: "fi\(i)", unit: unit), [y] + forward))
            if s.c > 1 {
                kernels.append((s, "input grad", "chosen", DenseKernels.conv2dInputGrad(s, name: "d\(i)", unit: unit), [x] + backward))
                kernels.append((s, "input grad", "col2im", DenseKernels.conv2dInputGrad(s, name: "dc\(i)", indirect: false, unit: unit),
                                [x] + backward))
                kernels.append((s, "input grad", "indirect", DenseKernels.indirectConvolution(s, inputGradient: true, name: "di\(i)", unit: unit),
                                [x] + backward))
                // With the ReLU mask of the layer below as epilogue, as in the MAML step.
                let mask = reluMask(s)
                kernels.append((s, "input grad + ReLU mask", "chosen", DenseKernels.conv2dInputGrad(s, name: "dm\(i)", epilogue: mask, unit: unit),
                                [x] + backward + [x]))
                kernels.append((s, "input grad + ReLU mask", "col2im",
                                DenseKernels.conv2dInputGrad(s, name: "dmc\(i)", epilogue: mask, indirect: false, unit: unit),
                                [x] + backward + [x]))
                kernels.append((s, "input grad + ReLU mask", "indirect",
                                DenseKernels.indirectConvolution(s, inputGradient: true, name: "dmi\(i)", epilogue: mask, unit: unit),
                                [x] + backward + [x]))
            }
            kernels.append((s, "filter grad", "chosen", DenseKernels.conv2dFilterGrad(s, name: "g\(i)", unit: unit), [w] + filter))
            kernels.append((s, "filter grad", "im2col gathers", DenseKernels.conv2dFilterGrad(s, name: "gg\(i)", packing: .gathers, unit: unit),
                            [w] + filter))
            kernels.append((s, "filter grad", "indirect", DenseKernels.indirectFilterGradient(s, name: "gi\(i)", unit: unit), [w] + filter))
            kernels.append((s, "filter grad", "im2col lines", DenseKernels.conv2dFilterGrad(s, name: "gl\(i)", packing: .lines, unit: unit),
                            [w] + filter))
        }
        let text = KernelFunctionText.module(kernels.map(\.kernel.function))
        let module = try LLVMJIT(cache: CompileCache()).compile(module: text, name: "conv_kernels")
        var rng = SeededRandom(seed: 3)
        let buffers = kernels.map { k in
            k.sizes.map { n -> UnsafeMutableBufferPointer<Float> in
                let p = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, n))
                for j in 0..<n { p[j] = Float(rng.uniform()) - 0.5 }
                return p
            }
        }
        defer { buffers.forEach { $0.forEach { $0.deallocate() } } }
        var best = [Double](repeating: .infinity, count: kernels.count)
        // Inputs in [−0.5, 0.5): no denormals arise, so the control word is left alone.
        for _ in 0..<rounds {
            for (i, k) in kernels.enumerated() {
                var pointers: [UnsafeMutableRawPointer?] = buffers[i].map { UnsafeMutableRawPointer($0.baseAddress) }
                let t = ContinuousClock.now
                try module.callKernel(named: k.kernel.function.name, buffers: &pointers, range: 0..<Int64(k.kernel.outerExtent))
                best[i] = min(best[i], seconds(ContinuousClock.now - t))
            }
        }
        return kernels.indices.map { i in
            let k = kernels[i], s = k.spec
            return Row(shape: "x=[\(s.n),\(s.c),\(s.h),\(s.w)] w=[\(s.o),\(s.c),\(s.kh),\(s.kw)] s\(s.stride)", form: k.form,
                       variant: k.variant, gflops: Double(k.kernel.flops) / best[i] / 1e9, seconds_per_call: best[i])
        }
    }

    /// `select(x[index] > 0, acc, 0)` over dx's index `[n, c, y, x]`: ReLU's backward.
    static func reluMask(_ s: ConvSpec) -> Epilogue {
        Epilogue(extraBuffers: 1) { b, value, index, extra in
            var flat = index[0].description
            for (axis, size) in [(1, s.c), (2, s.h), (3, s.w)] {
                flat = b.value("mul nsw i64 \(flat), \(size)").description
                flat = b.value("add nsw i64 \(flat), \(index[axis])").description
            }
            let p = b.value("getelementptr inbounds float, ptr \(extra[0]), i64 \(flat)")
            let x = b.value("load float, ptr \(p), align 4")
            let positive = b.value("fcmp ogt float \(x), 0.0")
            return b.value("select i1 \(positive), float \(value), float 0.0")
        }
    }

    static func markdown(_ rows: [Row]) -> String {
        var s = "| shape | form | lowering | GFLOP/s (1 thread, best call) | ms |\n| --- | --- | --- | --- | --- |\n"
        for r in rows {
            s += "| \(r.shape) | \(r.form) | \(r.variant) | \(String(format: "%.1f", r.gflops)) | "
                + String(format: "%.3f", r.seconds_per_call * 1000) + " |\n"
        }
        return s
    }
}
