import Foundation
import TestSupport
import Testing

@testable import JIT

@Suite("A mid-size module: 50 loop-nest kernels")
struct MidSizeModuleTests {
    static let kernelCount = 50

    /// Runs every kernel of `module` on pseudo-random data and checks it against Swift.
    static func checkAllKernels(_ module: CompiledModule) throws {
        for kernel in MidSizeModule.kernels(count: kernelCount) {
            let aCount = kernel.rows * (kernel.isMatmul ? kernel.depth : kernel.columns)
            let bCount = (kernel.isMatmul ? kernel.depth : kernel.rows) * kernel.columns
            var a = pseudoRandomFloats(count: aCount, seed: UInt64(kernel.index))
            var b = pseudoRandomFloats(count: bCount, seed: UInt64(kernel.index + 100))
            var c = [Float](repeating: .nan, count: kernel.rows * kernel.columns)
            try a.withUnsafeMutableBytes { aBytes in
                try b.withUnsafeMutableBytes { bBytes in
                    try c.withUnsafeMutableBytes { cBytes in
                        var buffers = [aBytes.baseAddress, bBytes.baseAddress, cBytes.baseAddress]
                        try module.callKernel(named: kernel.name, buffers: &buffers)
                    }
                }
            }
            let expected = MidSizeModule.reference(kernel, a: a, b: b)
            #expect(allClose(c, expected, tolerance: 1e-4), "kernel \(kernel.name)")
        }
    }

    @Test("Cold compile, then a cache hit that is faster and computes the same")
    func coldThenHit() throws {
        let folder = try TemporaryDirectory()
        defer { folder.cleanUp() }
        let source = MidSizeModule.source(count: Self.kernelCount)
        let cache = CompileCache(directory: folder.url)

        let cold = try LLVMJIT(cache: cache).compile(module: source, name: "mid.ll")
        #expect(cold.timings.cache == .miss)
        #expect(cold.functionNames.count == Self.kernelCount)
        try Self.checkAllKernels(cold)

        let warm = try LLVMJIT(cache: cache).compile(module: source, name: "mid.ll")
        #expect(warm.timings.cacheHit)
        #expect(warm.functionNames == cold.functionNames)
        try Self.checkAllKernels(warm)
        #expect(warm.timings.total < cold.timings.total)
        print("mid-size module (\(Self.kernelCount) kernels, \(source.utf8.count) bytes of IR)")
        print("  cold: \(cold.timings)")
        print("  hit:  \(warm.timings)")
    }
}
