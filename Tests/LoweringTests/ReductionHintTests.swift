import Interpreter
import MetaIR
import Runtime
import Testing

/// Short contiguous sums (one channel of a batch-norm reduction) carry loop hints that make
/// LLVM vectorise them; strided sums do not; pooling windows keep their row loop scalar; all
/// still agree with the interpreter.
@Suite struct ReductionHintTests {
    static func graph(_ shape: [Int], axes: [Int]) throws -> Graph {
        try Parser.parse("""
            graph "r" {
              %0: f32[\(shape.map(String.init).joined(separator: ","))] = input "x"
              %1: f32[\(shape.indices.filter { !axes.contains($0) }.map { String(shape[$0]) }.joined(separator: ","))] = reduce_sum %0 axes=[\(axes.map(String.init).joined(separator: ","))] keep_dims=false
              output "y" = %1
            }
            """)
    }

    @Test("a [75,64,7,7] channel sum gets the vectorize hints, a [75,64] column sum does not")
    func hints() throws {
        let compiler = Compiler(options: CompileOptions(cache: nil))
        let channel = try compiler.lower(try Self.graph([75, 64, 7, 7], axes: [0, 2, 3])).lowered.module
        #expect(channel.contains("!llvm.loop !0"))
        #expect(channel.contains("!{!\"llvm.loop.vectorize.width\", i32 8}"))
        let column = try compiler.lower(try Self.graph([75, 64], axes: [0])).lowered.module
        #expect(!column.contains("llvm.loop"))
    }

    @Test("a streamed [5,64,9] sum loops over the 5 images without unrolling that loop, and agrees once optimised")
    func streamedImagesNotUnrolled() throws {
        let compiler = Compiler(options: CompileOptions(cache: nil))
        let module = try compiler.lower(try Self.graph([5, 64, 9], axes: [0, 2])).lowered.module
        // The images' loop (hint "ro") branches back with a hint that forbids unrolling it:
        // copied five times with the vector loops inside, it was most of a small kernel's code.
        let backEdge = try #require(module.split(separator: "\n").first { $0.contains("br label %ro.h") && $0.contains("!llvm.loop") })
        let id = try #require(backEdge.split(separator: "!").last)
        #expect(module.contains("!\(id) = distinct !{!\(id), !{!\"llvm.loop.unroll.disable\"}}"))
    }

    @Test("a 2×2 pooling window's row loop is kept scalar (no gathers across rows); a whole-row sum is not hinted so")
    func windowHints() throws {
        let compiler = Compiler(options: CompileOptions(cache: nil))
        let pool = try compiler.lower(try Self.graph([5, 64, 14, 2, 14, 2], axes: [3, 5])).lowered.module
        #expect(pool.contains("!{!\"llvm.loop.vectorize.enable\", i1 false}"))
        let rows = try compiler.lower(try Self.graph([5, 3, 9], axes: [2])).lowered.module
        #expect(!rows.contains("llvm.loop.vectorize.enable"))
    }

    @Test("hinted and unhinted sums agree with the interpreter", arguments: [([75, 64, 7, 7], [0, 2, 3]), ([6, 8, 4, 4], [0, 2, 3]),
                                                                            ([5, 3, 9], [2]), ([75, 64], [0]), ([3, 200], [1]), ([5, 64, 9], [0, 2]),
                                                                            ([3, 4, 7, 2, 7, 2], [3, 5]), ([2, 5, 3, 3, 3, 3], [3, 5])])
    func agree(_ shape: [Int], _ axes: [Int]) throws {
        let g = try Self.graph(shape, axes: axes)
        let n = shape.reduce(1, *)
        let x = HostTensor(TensorType(.f32, Shape(shape)), (0..<n).map { Double(($0 * 37) % 101) / 50 - 1 })
        let jit = try CompiledProgram(graph: g, options: CompileOptions(cache: nil)).run(["x": x])["y"]!.data
        let ref = try Interpreter().run(g, feeds: ["x": x])["y"]!.data
        #expect(jit.count == ref.count)
        for (a, b) in zip(jit, ref) { #expect(abs(a - b) <= 1e-4 * max(1, abs(b))) }
    }
}
