import Testing

@testable import JIT

@Suite("Diagnostics for bad IR")
struct JITErrorTests {
    @Test("A parse error names the buffer, line and column")
    func parseError() throws {
        let text = """
            define i32 @f(i32 %x) {
            entry:
              %y = ad i32 %x, 1
              ret i32 %y
            }
            """
        let error = try #require(throws: JITError.self) {
            try LLVMJIT().compile(module: text, name: "broken.ll")
        }
        guard case .parse(let message) = error else {
            Issue.record("expected a parse error, got \(error)")
            return
        }
        #expect(message.contains("broken.ll:3:"))
        #expect(message.contains("error:"))
        #expect(error.description.hasPrefix("LLVM IR parse error"))
    }

    @Test("A block without a terminator is a parse error, not a crash")
    func missingTerminator() throws {
        let text = """
            define void @f() {
            entry:
              %x = add i32 1, 2
            }
            """
        #expect(throws: JITError.self) { try LLVMJIT().compile(module: text, name: "noterm.ll") }
        #expect(throws: JITError.self) { try LLVMJIT().emitAssembly(irText: text) }
    }

    @Test("IR that parses but fails verification gives a verifier error")
    func verifierError() throws {
        // %x is defined only on the %then path but used after the join: not dominated.
        let text = """
            define i32 @f(i1 %c) {
            entry:
              br i1 %c, label %then, label %join
            then:
              %x = add i32 1, 2
              br label %join
            join:
              ret i32 %x
            }
            """
        let error = try #require(throws: JITError.self) {
            try LLVMJIT().compile(module: text, name: "dominance.ll")
        }
        guard case .verify(let message) = error else {
            Issue.record("expected a verifier error, got \(error)")
            return
        }
        #expect(message.contains("dominate"))
        #expect(throws: JITError.self) { try LLVMJIT().optimizedIR(irText: text) }
    }

    @Test("Looking up a missing symbol throws symbolNotFound")
    func missingSymbol() throws {
        let module = try LLVMJIT().compile(module: IRSamples.axpy, name: "axpy.ll")
        let error = try #require(throws: JITError.self) { try module.function(named: "nope") }
        guard case .symbolNotFound(let name, _) = error else {
            Issue.record("expected symbolNotFound, got \(error)")
            return
        }
        #expect(name == "nope")
    }

    @Test("A Swift closure type is refused as a function type")
    func invalidFunctionType() throws {
        let module = try LLVMJIT().compile(module: IRSamples.axpy, name: "axpy.ll")
        #expect(throws: JITError.self) {
            _ = try module.function(named: "axpy", as: ((Float) -> Float).self)
        }
    }

    @Test("An unresolvable external is a JIT error at compile time")
    func unresolvedExternal() throws {
        let text = """
            declare float @metajit_no_such_function(float)
            define float @f(float %x) {
              %y = call float @metajit_no_such_function(float %x)
              ret float %y
            }
            """
        let error = try #require(throws: JITError.self) { try LLVMJIT().compile(module: text, name: "extern.ll") }
        guard case .jit(let message) = error else {
            Issue.record("expected a JIT link error, got \(error)")
            return
        }
        #expect(message.contains("metajit_no_such_function"))
    }
}
