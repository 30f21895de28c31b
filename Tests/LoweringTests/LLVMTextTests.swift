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

    /// Nested loops, both carrying a value and both hinted: each back edge's phis are patched
    /// with its own latch block and next values, and the hints get distinct metadata ids.
    @Test func nestedCarriedLoopsSum() throws {
        let k = KernelFunctionText(name: "sum2d", bufferCount: 2)
        let b = k.body
        let total = b.loop(from: KernelFunctionText.begin, to: KernelFunctionText.end, carried: [("float", .floatZero)],
                           hint: "row", properties: [LLVMText.noUnrolling]) { r, outer in
            let row = b.loop(from: .i64(0), to: .i64(3), carried: [("float", .floatZero)], hint: "col",
                             properties: [LLVMText.noUnrolling]) { c, inner in
                let at = b.value("add nsw i64 \(b.value("mul nsw i64 \(r), 3")), \(c)")
                let p = b.value("getelementptr float, ptr %arg1, i64 \(at)")
                return [b.value("fadd float \(inner[0]), \(b.value("load float, ptr \(p), align 4"))")]
            }
            return [b.value("fadd float \(outer[0]), \(row[0])")]
        }
        b.emit("store float \(total[0]), ptr %arg0, align 4")
        b.emit("ret void")
        #expect(!k.text.contains("@@LATCH") && !k.text.contains("@@NEXT"))
        let text = KernelFunctionText.module([k])
        #expect(text.contains("!0 = distinct !{!0, !{!\"llvm.loop.unroll.disable\"}}"))
        #expect(text.contains("!1 = distinct !{!1, !{!\"llvm.loop.unroll.disable\"}}"))
        let module = try LLVMJIT().compile(module: text, name: "sum2d")
        var out: Float = 0
        var xs: [Float] = (0..<12).map(Float.init)
        try withUnsafeMutablePointer(to: &out) { o in
            try xs.withUnsafeMutableBufferPointer { x in
                var bufs: [UnsafeMutableRawPointer?] = [UnsafeMutableRawPointer(o), UnsafeMutableRawPointer(x.baseAddress)]
                try module.callKernel(named: "sum2d", buffers: &bufs, range: 1..<3)
            }
        }
        #expect(out == (3..<9).reduce(0) { $0 + Float($1) })
    }

    /// Loop ids are numbered across functions, in order, whatever their count of digits;
    /// text that only looks like a placeholder, and non-ASCII text, pass through unchanged.
    @Test func loopIdsNumberAcrossFunctions() {
        let many = (0..<12).map { "br !\(LLVMText.loopPlaceholder($0))" }.joined(separator: " ")
        let texts = [
            "a !\(LLVMText.loopPlaceholder(0)) b !\(LLVMText.loopPlaceholder(1)) é !\(LLVMText.loopPlaceholder(0))",
            "no loops here, only @@LOOP and @@LOOPx@@ and @@LOOP7",
            many,
            "last !\(LLVMText.loopPlaceholder(0))",
        ]
        let numbered = LLVMText.numberingLoops(texts)
        #expect(numbered[0] == "a !0 b !1 é !0")
        #expect(numbered[1] == texts[1])
        #expect(numbered[2] == (2..<14).map { "br !\($0)" }.joined(separator: " "))
        #expect(numbered[3] == "last !14")
    }
}
