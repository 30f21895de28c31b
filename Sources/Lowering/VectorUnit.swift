/// The vector registers of the CPU the kernels are compiled for, as far as the tuned GEMM
/// tiles care: how wide each register is and how many there are.
///
/// The emitted IR always computes in 16-float vectors; LLVM splits each into two 256-bit
/// halves where the host has no 512-bit registers. What has to follow the host is the
/// register tile: 24 accumulators of 16 floats fit AVX-512's 32 `zmm` registers, but on an
/// AVX2 host they become 48 `ymm` values for 16 registers and spill on every k step
/// (measured: a Conv-4 MAML step at 16 GFLOP/s with AVX-512 tiles on AVX2, 57 with AVX2
/// tiles). Lowering links no LLVM, so `Runtime` asks the JIT for the host and passes the
/// unit down.
public struct VectorUnit: Sendable, Hashable, CustomStringConvertible {
    /// Bits per vector register (512 for AVX-512, 256 for AVX2).
    public var registerBits: Int
    /// Architectural vector registers (32 `zmm`, or 16 `ymm`).
    public var registers: Int

    /// Creates a unit of `registers` registers of `registerBits` bits.
    public init(registerBits: Int, registers: Int) {
        self.registerBits = max(128, registerBits)
        self.registers = max(8, registers)
    }

    /// AVX-512: 32 registers of 16 floats.
    public static let avx512 = VectorUnit(registerBits: 512, registers: 32)
    /// AVX2 (with FMA): 16 registers of 8 floats.
    public static let avx2 = VectorUnit(registerBits: 256, registers: 16)

    /// Registers one 16-float IR vector occupies.
    var registersPerVector: Int { max(1, 512 / registerBits) }
    /// How many 16-float IR vectors the register file holds.
    var vectorBudget: Int { registers / registersPerVector }

    /// `avx512`, `avx2`, or the sizes.
    public var description: String {
        switch self {
        case .avx512: return "avx512"
        case .avx2: return "avx2"
        default: return "\(registers)x\(registerBits)-bit"
        }
    }

    /// The unit named `avx512` or `avx2` (nil for other names).
    public init?(name: String) {
        switch name.lowercased() {
        case "avx512", "avx-512": self = .avx512
        case "avx2": self = .avx2
        default: return nil
        }
    }
}
