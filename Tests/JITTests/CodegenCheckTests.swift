import Testing

@testable import JIT

@Suite("CHECK lines on optimised IR and host assembly")
struct CodegenCheckTests {
    /// A matmul-like inner loop: `c[j] += a * b[j]`, which vectorises over j into FMAs.
    static let rowUpdate = """
        define void @row_update(ptr noalias %c, ptr noalias %b, float %a, i64 %n) {
        entry:
          %empty = icmp sle i64 %n, 0
          br i1 %empty, label %exit, label %loop
        loop:
          %j = phi i64 [ 0, %entry ], [ %next, %loop ]
          %pb = getelementptr inbounds float, ptr %b, i64 %j
          %pc = getelementptr inbounds float, ptr %c, i64 %j
          %vb = load float, ptr %pb, align 4
          %vc = load float, ptr %pc, align 4
          %p = fmul fast float %a, %vb
          %s = fadd fast float %vc, %p
          store float %s, ptr %pc, align 4
          %next = add nuw nsw i64 %j, 1
          %done = icmp eq i64 %next, %n
          br i1 %done, label %exit, label %loop
        exit:
          ret void
        }
        """

    static var hostHasFMA: Bool { LLVMInfo.hostCPUFeatures.split(separator: ",").contains("+fma") }
    static var hostHasAVX: Bool { LLVMInfo.hostCPUFeatures.split(separator: ",").contains("+avx") }

    @Test("checkMatches wants every pattern, in order")
    func checkMatchesHelper() {
        #expect(firstMismatch("a b c d", ["a", "c", "d"]) == nil)
        #expect(firstMismatch("a b c d", ["c", "a"]) != nil)
        #expect(firstMismatch("aa", ["a", "a"]) == nil)
        #expect(firstMismatch("a", ["a", "a"]) != nil)
    }

    @Test("A fast f32 dot product is vectorised at O3 for the host")
    func dotVectorisedIR() throws {
        let text = try LLVMJIT().optimizedIR(irText: IRSamples.dot, optLevel: .O3)
        let width = LLVMInfo.hostHasAVX512 || Self.hostHasAVX ? ["<16 x float>", "<8 x float>"] : ["<4 x float>"]
        #expect(width.contains { text.contains($0) }, "no \(width) in:\n\(text)")
        checkMatches(text, ["target triple", "define", "@dot(", "fmul fast <", "fadd fast <", "vector.reduce.fadd"])
    }

    /// Lines of `asm` holding a packed single-precision FMA on a 256- or 512-bit register.
    static func vectorFMALines(_ asm: String) -> [Substring] {
        asm.split(separator: "\n").filter { line in
            line.contains("vfmadd") && line.contains("ps") && (line.contains("%zmm") || line.contains("%ymm"))
        }
    }

    @Test("The host assembly uses vector FMA for the dot product and the row update")
    func vectorFMAInAssembly() throws {
        try #require(Self.hostHasFMA, "host has no FMA")
        let jit = try LLVMJIT()
        for (source, symbol) in [(IRSamples.dot, "dot:"), (Self.rowUpdate, "row_update:")] {
            let asm = try jit.emitAssembly(irText: source, optLevel: .O3)
            checkMatches(asm, [symbol, "vfmadd"])
            let lines = Self.vectorFMALines(asm)
            #expect(!lines.isEmpty, "no packed vfmadd on ymm/zmm in:\n\(asm)")
            // AMD Zen 4/5 have full-width AVX-512 and LLVM does not cap them at 256 bits.
            if LLVMInfo.hostCPUName.hasPrefix("znver4") || LLVMInfo.hostCPUName.hasPrefix("znver5") {
                #expect(lines.contains { $0.contains("%zmm") })
            }
        }
    }

    @Test("Row update at O3 on an AVX-512 host uses packed FMAs on wide registers")
    func rowUpdateWidth() throws {
        try #require(Self.hostHasFMA)
        let jit = try LLVMJIT()
        let ir = try jit.optimizedIR(irText: Self.rowUpdate, optLevel: .O3)
        checkMatches(ir, ["@row_update(", "vector.body:", "fmul fast <", "fadd fast <", "store <"])
        let asm = try jit.emitAssembly(irText: Self.rowUpdate, optLevel: .O3)
        checkMatches(asm, ["row_update:", "vbroadcastss", "vfmadd", "ret"])
    }

    @Test("O0 assembly keeps the scalar code")
    func o0IsScalar() throws {
        let ir = try LLVMJIT().optimizedIR(irText: IRSamples.dot, optLevel: .O0)
        #expect(!ir.contains("<8 x float>") && !ir.contains("<16 x float>"))
        checkMatches(ir, ["@dot(", "fmul fast float", "fadd fast float"])
    }

    @Test("The object file the cache stores is ELF for the host")
    func objectFile() throws {
        let object = try LLVMJIT().emitObject(irText: IRSamples.axpy)
        #expect(Array(object.prefix(4)) == [0x7f, 0x45, 0x4c, 0x46])
    }
}
