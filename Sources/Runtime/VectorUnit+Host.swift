import Foundation
import JIT
import Lowering

extension VectorUnit {
    /// The host's vector unit as the JIT sees it (AVX-512 where LLVM reports `+avx512f`,
    /// else AVX2), unless `METAJIT_VECTOR_UNIT=avx512|avx2` names one: that lets an A/B of
    /// the two tile shapes run on one machine. AVX-512 tiles on an AVX2 host are correct but
    /// spill; AVX2 tiles on an AVX-512 host are correct and leave registers idle.
    public static var host: VectorUnit {
        if let name = ProcessInfo.processInfo.environment["METAJIT_VECTOR_UNIT"], let unit = VectorUnit(name: name) {
            return unit
        }
        return LLVMInfo.hostHasAVX512 ? .avx512 : .avx2
    }
}
