/// i64 index arithmetic and float addressing for the dense kernels.
///
/// Integer literals are folded here (the GEMM's shapes are compile-time constants, so many
/// offsets are), which keeps the emitted IR short without relying on LLVM to clean up.
extension LLVMText {
    /// `x + y`.
    func add(_ x: Value, _ y: Value) -> Value {
        if x.constant == 0 { return y }
        if y.constant == 0 { return x }
        if let a = x.constant, let c = y.constant { return .i64(a + c) }
        return value("add nsw i64 \(x), \(y)")
    }

    /// `x − y`.
    func sub(_ x: Value, _ y: Value) -> Value {
        if y.constant == 0 { return x }
        if let a = x.constant, let c = y.constant { return .i64(a - c) }
        return value("sub nsw i64 \(x), \(y)")
    }

    /// `x · c`.
    func mul(_ x: Value, _ c: Int) -> Value {
        if c == 0 { return .i64(0) }
        if c == 1 { return x }
        if let a = x.constant { return .i64(a * c) }
        return value("mul nsw i64 \(x), \(c)")
    }

    /// `x / c` for x ≥ 0.
    func udiv(_ x: Value, _ c: Int) -> Value {
        if c == 1 { return x }
        if let a = x.constant { return .i64(a / c) }
        return value("udiv i64 \(x), \(c)")
    }

    /// `x mod c` for x ≥ 0.
    func urem(_ x: Value, _ c: Int) -> Value {
        if c == 1 { return .i64(0) }
        if let a = x.constant { return .i64(a % c) }
        return value("urem i64 \(x), \(c)")
    }

    /// `x / c` rounded toward zero (x may be negative).
    func sdiv(_ x: Value, _ c: Int) -> Value {
        if c == 1 { return x }
        return value("sdiv i64 \(x), \(c)")
    }

    /// ⌈x / c⌉ for x ≥ 0; for x < 0 some value ≤ 0 (callers clamp at 0).
    func ceilDiv(_ x: Value, _ c: Int) -> Value {
        if c == 1 { return x }
        return sdiv(add(x, .i64(c - 1)), c)
    }

    /// The signed minimum.
    func smin(_ x: Value, _ y: Value) -> Value {
        let c = value("icmp slt i64 \(x), \(y)")
        return value("select i1 \(c), i64 \(x), i64 \(y)")
    }

    /// The signed maximum.
    func smax(_ x: Value, _ y: Value) -> Value {
        let c = value("icmp sgt i64 \(x), \(y)")
        return value("select i1 \(c), i64 \(x), i64 \(y)")
    }

    /// `0 ≤ x < c` (one unsigned compare).
    func ult(_ x: Value, _ c: Int) -> Value { value("icmp ult i64 \(x), \(c)") }

    /// `x ∧ y` on i1.
    func and(_ x: Value, _ y: Value) -> Value {
        if x == .true { return y }
        if y == .true { return x }
        return value("and i1 \(x), \(y)")
    }

    /// `x` (of type `scalar`, e.g. `float` or `i32`) in all 16 lanes of a vector.
    func splat16(_ x: Value, _ scalar: String) -> Value {
        let v = "<16 x \(scalar)>"
        let ins = value("insertelement \(v) poison, \(scalar) \(x), i64 0")
        return value("shufflevector \(v) \(ins), \(v) poison, <16 x i32> zeroinitializer")
    }

    /// One k step of a register tile: `acc[r·n + v] += splat(row(r)) · vectors[v]` for
    /// `rows` rows and the n = `vectors.count` vectors of a B row (`fmul`/`fadd contract`,
    /// which the backend fuses into FMAs). `row(r)` emits row r's A element, just before its
    /// products.
    func rankOneUpdate(_ acc: [Value], rows: Int, vectors: [Value], row: (Int) -> Value) -> [Value] {
        let v16 = DenseGemmEmitter.vector, n = vectors.count
        var next = acc
        for r in 0..<rows {
            let splat = splat16(row(r), "float")
            for v in 0..<n {
                let prod = value("fmul contract \(v16) \(splat), \(vectors[v])")
                next[r * n + v] = value("fadd contract \(v16) \(acc[r * n + v]), \(prod)")
            }
        }
        return next
    }

    /// The address of float element `offset` of `pointer`.
    func gep(_ pointer: Value, _ offset: Value) -> Value {
        if offset.constant == 0 { return pointer }
        return value("getelementptr inbounds float, ptr \(pointer), i64 \(offset)", hint: "p")
    }

    /// Float element `offset` of `pointer`.
    func loadFloat(_ pointer: Value, _ offset: Value) -> Value {
        value("load float, ptr \(gep(pointer, offset)), align 4")
    }
}
