import Foundation

/// The scalar meaning of the elementwise primitives, shared by the reference interpreter and
/// constant folding so the two can never disagree.
public enum ScalarSemantics {
    /// Unary op on one value.
    public static func unary(_ u: UnaryOp, _ a: Double) -> Double {
        switch u {
        case .neg: return -a
        case .exp: return Foundation.exp(a)
        case .log: return Foundation.log(a)
        case .sqrt: return a.squareRoot()
        case .tanh: return Foundation.tanh(a)
        case .relu: return a > 0 ? a : 0
        }
    }

    /// Binary op; `isInt` selects `i32` semantics (truncating division, x/0 = 0, wrap-around).
    public static func binary(_ b: BinaryOp, _ a: Double, _ c: Double, isInt: Bool) -> Double {
        let r: Double
        switch b {
        case .add: r = a + c
        case .sub: r = a - c
        case .mul: r = a * c
        case .div: r = isInt ? (c == 0 ? 0 : (a / c).rounded(.towardZero)) : a / c
        case .max: r = a.isNaN || c.isNaN ? .nan : Swift.max(a, c)
        case .min: r = a.isNaN || c.isNaN ? .nan : Swift.min(a, c)
        }
        return isInt ? cast(r, to: .i32) : r
    }

    /// Comparison.
    public static func compare(_ c: CompareOp, _ a: Double, _ b: Double) -> Bool {
        switch c {
        case .eq: return a == b
        case .ne: return a != b
        case .lt: return a < b
        case .le: return a <= b
        case .gt: return a > b
        case .ge: return a >= b
        }
    }

    /// Conversion: to `i32` truncates toward zero and wraps like two's complement (NaN and
    /// infinities give 0); to `bool` is `!= 0`; to floats is exact (`f32` rounding is applied
    /// where values are stored).
    public static func cast(_ v: Double, to dtype: DType) -> Double {
        switch dtype {
        case .f32, .f64: return v
        case .bool: return v != 0 ? 1 : 0
        case .i32:
            guard v.isFinite else { return 0 }
            let t = v.rounded(.towardZero)
            guard Swift.abs(t) < 9.0e18 else { return 0 }
            return Double(Int32(truncatingIfNeeded: Int64(t)))
        }
    }

    /// The value of `random_uniform` for one element: SplitMix64's output for the 64-bit key
    /// `seed << 32 | counter` (both taken as unsigned 32-bit patterns), top 24 bits scaled to
    /// `[0, 1)`. 24 bits make the value exact in `f32` and `f64` alike, so the interpreter, the
    /// folder and the JIT agree bit for bit.
    public static func randomUniform(seed: Double, counter: Double) -> Double {
        let s = UInt64(UInt32(bitPattern: Int32(truncatingIfNeeded: Int64(cast(seed, to: .i32)))))
        let c = UInt64(UInt32(bitPattern: Int32(truncatingIfNeeded: Int64(cast(counter, to: .i32)))))
        var g = SplitMix64(seed: s << 32 | c)
        return Double(g.next() >> 40) * 0x1p-24
    }

    /// Rounds to the precision of `dtype` (`f32` values to `Float`).
    public static func round(_ v: Double, to dtype: DType) -> Double {
        dtype == .f32 ? Double(Float(v)) : v
    }
}
