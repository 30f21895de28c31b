import JIT
import Lowering
import Testing

@Suite struct LLVMTextTests {
    /// A loop with a carried accumulator compiles and sums a buffer.
    @Test func carriedLoopSums() throws {
        let k = KernelFunctionText(name: "sum", bufferCount: 2)
        let b = k.body
        let acc = b.loop(from: KernelFunctionText.begin, to: KernelFunctionText.end,
                         carried: [("float", .floatZero)]) { i, c in
            let p = b.value("getelementptr float, ptr %arg1, i64 \(i)")
            let x = b.value("load float, ptr \(p), align 4")
            return [b.value("fadd float \(c[0]), \(x)")]
        }
        b.emit("store float \(acc[0]), ptr %arg0, align 4")
        b.emit("ret void")
        let module = try LLVMJIT().compile(module: k.text, name: "sum")
        var out: Float = 0
        var xs: [Float] = [1, 2, 3, 4, 5]
        try withUnsafeMutablePointer(to: &out) { o in
            try xs.withUnsafeMutableBufferPointer { x in
                var bufs: [UnsafeMutableRawPointer?] = [UnsafeMutableRawPointer(o), UnsafeMutableRawPointer(x.baseAddress)]
                try module.callKernel(named: "sum", buffers: &bufs, range: 1..<4)
            }
        }
        #expect(out == 9)
    }

    /// A loop without carried values stores through its induction variable.
    @Test func voidLoopStores() throws {
        let k = KernelFunctionText(name: "iota", bufferCount: 1)
        let b = k.body
        b.forEach(from: KernelFunctionText.begin, to: KernelFunctionText.end) { i in
            let x = b.value("sitofp i64 \(i) to float")
            let p = b.value("getelementptr float, ptr \(KernelFunctionText.pointer(0)), i64 \(i)")
            b.emit("store float \(x), ptr \(p), align 4")
        }
        b.emit("ret void")
        let module = try LLVMJIT().compile(module: k.text, name: "iota")
        var out: [Float] = [-1, -1, -1, -1]
        try out.withUnsafeMutableBufferPointer { o in
            var bufs: [UnsafeMutableRawPointer?] = [UnsafeMutableRawPointer(o.baseAddress)]
            try module.callKernel(named: "iota", buffers: &bufs, range: 1..<3)
        }
        #expect(out == [-1, 1, 2, -1])
    }

    /// Integer literals carry their value; SSA names and other literals do not.
    @Test func valuesRenderAndFold() {
        #expect(Value.i64(-3).description == "-3")
        #expect(Value.i64(7).constant == 7)
        #expect(Value.literal("0") == .i64(0))
        #expect(Value.local("v1").description == "%v1")
        #expect(Value.local("v1").constant == nil)
        #expect(Value.floatZero.constant == nil)
        #expect(KernelFunctionText.pointer(2).description == "%arg2")
    }
}
