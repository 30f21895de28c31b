import Foundation
import TestSupport
import Testing

@testable import JIT

@Suite("Compiling and calling JIT code")
struct JITCompileTests {
    @Test("axpy from hand-written IR computes y += a*x")
    func axpy() throws {
        let jit = try LLVMJIT()
        let module = try jit.compile(module: IRSamples.axpy, name: "axpy.ll")
        #expect(module.functionNames == ["axpy"])
        let axpy = try module.function(named: "axpy", as: AxpyFunction.self)
        var x = pseudoRandomFloats(count: 1003, seed: 1)
        var y = pseudoRandomFloats(count: 1003, seed: 2)
        let expected = zip(x, y).map { 1.5 * $0 + $1 }
        withExtendedLifetime(module) {
            axpy(&x, &y, 1.5, Int64(x.count))
        }
        #expect(allClose(y, expected, tolerance: 1e-6))
    }

    @Test("The buffer-array kernel ABI and its range variant")
    func kernelABI() throws {
        let module = try LLVMJIT().compile(module: IRSamples.scaleKernel, name: "scale.ll")
        var input = pseudoRandomFloats(count: 1000, seed: 3)
        var whole = [Float](repeating: 0, count: 1000)
        var chunked = [Float](repeating: -7, count: 1000)
        let expected = input.map { 2 * $0 + 1 }
        try input.withUnsafeMutableBytes { inputBytes in
            try whole.withUnsafeMutableBytes { wholeBytes in
                var buffers: [UnsafeMutableRawPointer?] = [inputBytes.baseAddress, wholeBytes.baseAddress]
                try module.callKernel(named: "scale", buffers: &buffers)
            }
            try chunked.withUnsafeMutableBytes { chunkedBytes in
                var buffers: [UnsafeMutableRawPointer?] = [inputBytes.baseAddress, chunkedBytes.baseAddress]
                // Two chunks, as a parallel-for would issue them; the empty chunk must do nothing.
                try module.callKernel(named: "scale_range", buffers: &buffers, range: 0..<400)
                try module.callKernel(named: "scale_range", buffers: &buffers, range: 400..<400)
                let second = try module.rangeKernel(named: "scale_range")
                buffers.withUnsafeMutableBufferPointer { second($0.baseAddress.unsafelyUnwrapped, 400, 1000) }
            }
        }
        #expect(whole == expected)
        #expect(chunked == expected)
        #expect(module.timings.codegen > .zero)
        #expect(module.timings.cache == .disabled)
    }

    @Test("libm's expf, logf and tanhf resolve from the process")
    func libmCalls() throws {
        for optLevel in OptLevel.allCases {
            let module = try LLVMJIT().compile(module: IRSamples.libm, name: "libm.ll", optLevel: optLevel)
            let expPlusTanh = try module.function(named: "exp_plus_tanh", as: UnaryFloatFunction.self)
            let logOf = try module.function(named: "log_of", as: UnaryFloatFunction.self)
            for x: Float in [-2, -0.5, 0, 0.25, 1, 3] {
                let got = withExtendedLifetime(module) { expPlusTanh(x) }
                #expect(abs(got - (expf(x) + tanhf(x))) <= 1e-6 * (1 + abs(got)))
            }
            #expect(abs(withExtendedLifetime(module) { logOf(10) } - logf(10)) < 1e-6)
            var input = pseudoRandomFloats(count: 256, seed: 4).map { $0 * 4 }
            var output = [Float](repeating: 0, count: 256)
            try input.withUnsafeMutableBytes { inputBytes in
                try output.withUnsafeMutableBytes { outputBytes in
                    var buffers: [UnsafeMutableRawPointer?] = [inputBytes.baseAddress, outputBytes.baseAddress]
                    try module.callKernel(named: "tanh_array", buffers: &buffers)
                }
            }
            #expect(allClose(output, input.map { tanhf($0) }, tolerance: 1e-6))
        }
    }

    @Test("O0 and O3 builds of the same IR agree")
    func optLevelsAgree() throws {
        let jit = try LLVMJIT()
        let source = IRSamples.dot + "\n" + IRSamples.axpy
        let a = pseudoRandomFloats(count: 4099, seed: 5)
        let b = pseudoRandomFloats(count: 4099, seed: 6)
        var results: [OptLevel: (dot: Float, axpy: [Float])] = [:]
        for optLevel in OptLevel.allCases {
            let module = try jit.compile(module: source, name: "agree.ll", optLevel: optLevel)
            #expect(module.optLevel == optLevel)
            let dot = try module.function(named: "dot", as: DotFunction.self)
            let axpy = try module.function(named: "axpy", as: AxpyFunction.self)
            var x = a
            var y = b
            let product = withExtendedLifetime(module) { () -> Float in
                axpy(&x, &y, -0.75, Int64(x.count))
                return dot(a, b, Int64(a.count))
            }
            results[optLevel] = (product, y)
        }
        let o0 = try #require(results[.O0])
        let o3 = try #require(results[.O3])
        // O3 reassociates the fast reduction into vector lanes: equal only up to rounding.
        #expect(abs(o0.dot - o3.dot) <= 1e-3 * (1 + abs(o0.dot)))
        #expect(allClose(o0.axpy, o3.axpy, tolerance: 1e-6))
        let reference = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        #expect(abs(o0.dot - reference) <= 1e-3 * (1 + abs(reference)))
    }

    @Test("Timings describe every phase of an in-memory compile")
    func timings() throws {
        let module = try LLVMJIT().compile(module: IRSamples.axpy, name: "axpy.ll")
        let timings = module.timings
        #expect(timings.parse > .zero)
        #expect(timings.optimize > .zero)
        #expect(timings.codegen > .zero)
        #expect(timings.total >= timings.parse + timings.verify + timings.optimize + timings.codegen)
        #expect(!timings.cacheHit)
        checkMatches(timings.description, ["parse", "ms", "optimize", "codegen", "total", "cache disabled"])
        #expect(module.cacheKey == nil)
    }

    @Test("Modules live independently and may define the same names")
    func independentModules() throws {
        let jit = try LLVMJIT()
        let first = try jit.compile(module: IRSamples.axpy, name: "first")
        var second: CompiledModule? = try jit.compile(module: IRSamples.axpy, name: "second")
        let firstAddress = try first.function(named: "axpy")
        #expect(try second?.function(named: "axpy") != firstAddress)
        second = nil  // disposes of its LLJIT; the first module's code must stay callable
        let axpy = try first.function(named: "axpy", as: AxpyFunction.self)
        var x: [Float] = [1, 2]
        var y: [Float] = [10, 20]
        withExtendedLifetime(first) { axpy(&x, &y, 2, 2) }
        #expect(y == [12, 24])
    }

    @Test("Concurrent compiles on one LLVMJIT")
    func concurrentCompiles() async throws {
        let jit = try LLVMJIT()
        let sums = try await withThrowingTaskGroup(of: Float.self) { group in
            for index in 0..<4 {
                group.addTask {
                    let module = try jit.compile(module: IRSamples.dot, name: "dot\(index)")
                    let dot = try module.function(named: "dot", as: DotFunction.self)
                    let ones = [Float](repeating: 1, count: 64 * (index + 1))
                    return withExtendedLifetime(module) { dot(ones, ones, Int64(ones.count)) }
                }
            }
            var collected: [Float] = []
            for try await value in group { collected.append(value) }
            return collected.sorted()
        }
        #expect(sums == [64, 128, 192, 256])
    }

    @Test("LLVMInfo names LLVM 19 and the host CPU")
    func llvmInfo() {
        #expect(LLVMInfo.version.hasPrefix("19."))
        #expect(!LLVMInfo.hostCPUName.isEmpty)
        #expect(LLVMInfo.hostCPUFeatures.contains("+"))
        #expect(LLVMInfo.hostTriple.hasPrefix("x86_64") || LLVMInfo.hostTriple.hasPrefix("aarch64"))
    }
}
