import JIT
import Lowering
import Testing

@Suite struct LLVMTextTests {
    /// A loop with a carried accumulator compiles and sums a buffer.
    @Test func carriedLoopSums() throws {
        var k = KernelFunctionText(name: "sum", bufferCount: 2)
        let b = k.body
        let acc = b.loop(from: "%begin", to: "%end", carried: [("float", "0.0")]) { i, c in
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
}
