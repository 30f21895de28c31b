import Foundation
import JIT
import Passes
import Runtime
import Testing

@testable import Lowering

/// The GEMM register tile follows the host's vector registers.
@Suite struct VectorUnitTests {
    /// AVX-512 keeps the tuned tiles (up to 24 accumulators of 16 floats); AVX2 gets 6×16
    /// (12 `ymm` accumulators + 2 for B + 1 broadcast = 15 of 16 registers) at every width,
    /// and never more rows than the matrix has.
    @Test func tileFitsTheRegisterFile() {
        #expect(DenseGemmEmitter.tile(m: 64, n: 3675, unit: .avx512) == (6, 4))
        #expect(DenseGemmEmitter.tile(m: 64, n: 32, unit: .avx512) == (12, 2))
        #expect(DenseGemmEmitter.tile(m: 64, n: 10, unit: .avx512) == (8, 1))
        #expect(DenseGemmEmitter.tile(m: 64, n: 3675, unit: .avx2) == (6, 1))
        #expect(DenseGemmEmitter.tile(m: 64, n: 10, unit: .avx2) == (6, 1))
        #expect(DenseGemmEmitter.tile(m: 4, n: 3675, unit: .avx2) == (4, 1))
        for unit in [VectorUnit.avx512, .avx2] {
            for n in [1, 16, 33, 64, 3675] {
                let (mr, nv) = DenseGemmEmitter.tile(m: 64, n: n, unit: unit)
                // Accumulators, B vectors and the broadcast, in physical registers.
                #expect((mr * nv + nv + 1) * unit.registersPerVector <= unit.registers, "\(unit) n=\(n): \(mr)×\(nv)")
            }
        }
    }

    /// The im2col filter gradient's column panels are 32 wide on AVX-512 and 16 on AVX2 (its
    /// outer range: batch × panels); the indirect one's output-channel panels are 64 and 16
    /// wide (its outer range: panels × 9 taps × 11 blocks of 6 channels).
    @Test func filterGradientPanelsFollowTheUnit() {
        let s = ConvSpec(n: 5, c: 64, h: 14, w: 14, o: 64, kh: 3, kw: 3, stride: 2, padding: 1)
        #expect(DenseKernels.conv2dFilterGrad(s, name: "a", packing: .gathers, unit: .avx512).outerExtent == 576 / 32)
        #expect(DenseKernels.conv2dFilterGrad(s, name: "b", packing: .gathers, unit: .avx2).outerExtent == 576 / 16)
        #expect(DenseKernels.conv2dFilterGrad(s, name: "c", unit: .avx512).outerExtent == 1 * 9 * 11)
        #expect(DenseKernels.conv2dFilterGrad(s, name: "d", unit: .avx2).outerExtent == 4 * 9 * 11)
    }

    /// Names parse; the host's unit is the one LLVM's features say (unless overridden).
    @Test func hostUnit() {
        #expect(VectorUnit(name: "avx2") == .avx2 && VectorUnit(name: "AVX512") == .avx512 && VectorUnit(name: "sse") == nil)
        #expect("\(VectorUnit.avx2)" == "avx2")
        if ProcessInfo.processInfo.environment["METAJIT_VECTOR_UNIT"] == nil {
            #expect(VectorUnit.host == (LLVMInfo.hostHasAVX512 ? .avx512 : .avx2))
        }
    }
}
