import MetaIR
import Passes

/// Emits a fused `Expr` as straight-line LLVM IR for one element.
///
/// Register types: `float`/`double`/`i32` as stored, `bool` as `i1` (stored as `i8`).
/// Semantics follow `MetaIR.ScalarSemantics` (the interpreter): NaN-propagating max/min,
/// integer division by zero gives 0, ReLU maps NaN to 0.
struct ExprEmitter {
    let b: LLVMText
    /// Pointer SSA name of each kernel operand's argument (for unmasked loads the argument is
    /// already advanced by the view's offset; see `ArgumentTable`).
    let pointer: (_ operand: Int, _ view: View) -> (ptr: Value, offset: Int)
    /// The index of each axis of the expression's space (i64 values).
    let index: [Value]
    /// The accumulator value (epilogues).
    var accumulator: Value? = nil
    /// Intrinsics used, for the module's `declare` lines.
    var declarations: Set<String> = []
    private var memo: [Expr: Value] = [:]

    init(b: LLVMText, index: [Value], pointer: @escaping (Int, View) -> (ptr: Value, offset: Int)) {
        self.b = b
        self.index = index
        self.pointer = pointer
    }

    static func reg(_ d: DType) -> String { d == .bool ? "i1" : LLVMType.element(d) }

    mutating func emit(_ e: Expr) -> Value {
        if let v = memo[e] { return v }
        let v = emitUncached(e)
        memo[e] = v
        return v
    }

    mutating func emitUncached(_ e: Expr) -> Value {
        switch e {
        case .accumulator: return accumulator ?? .literal("undef")
        case .constant(let c, let d):
            if d == .bool { return c != 0 ? .true : .false }
            return .literal(LLVMType.literal(c, d))
        case .iota(let axis, let d):
            let i = index[axis]
            switch d {
            case .i32: return b.value("trunc i64 \(i) to i32")
            case .f32, .f64: return b.value("sitofp i64 \(i) to \(Self.reg(d))")
            case .bool: return b.value("icmp ne i64 \(i), 0")
            }
        case .load(let operand, let view, let d):
            return load(operand, view, d)
        case .unary(let u, let a, let d):
            let x = emit(a)
            return unary(u, x, d)
        case .binary(let o, let l, let r, let d):
            let x = emit(l), y = emit(r)
            return binary(o, x, y, d)
        case .compare(let c, let l, let r, let d):
            let x = emit(l), y = emit(r)
            return compare(c, x, y, d)
        case .select(let c, let l, let r, let d):
            let cc = emit(c), x = emit(l), y = emit(r)
            return b.value("select i1 \(cc), \(Self.reg(d)) \(x), \(Self.reg(d)) \(y)")
        case .cast(let a, let from, let to):
            let x = emit(a)
            return cast(x, from, to)
        case .randomUniform(let seed, let counter, let d):
            let s = emit(seed), c = emit(counter)
            return randomUniform(s, c, d)
        }
    }

    /// `ScalarSemantics.randomUniform` in IR: SplitMix64's step and finaliser on the key
    /// `seed << 32 | counter`, then the top 24 bits scaled to `[0, 1)`.
    mutating func randomUniform(_ seed: Value, _ counter: Value, _ d: DType) -> Value {
        func lit(_ u: UInt64) -> String { String(Int64(bitPattern: u)) }
        let hi = b.value("zext i32 \(seed) to i64")
        let lo = b.value("zext i32 \(counter) to i64")
        let shifted = b.value("shl i64 \(hi), 32")
        let key = b.value("or i64 \(shifted), \(lo)")
        var z = b.value("add i64 \(key), \(lit(SplitMix64.increment))")
        for (shift, mul) in [(30, UInt64(0xBF58_476D_1CE4_E5B9)), (27, 0x94D0_49BB_1331_11EB)] {
            let r = b.value("lshr i64 \(z), \(shift)")
            let x = b.value("xor i64 \(z), \(r)")
            z = b.value("mul i64 \(x), \(lit(mul))")
        }
        let r = b.value("lshr i64 \(z), 31")
        z = b.value("xor i64 \(z), \(r)")
        let top = b.value("lshr i64 \(z), 40")
        let f = b.value("uitofp i64 \(top) to \(Self.reg(d))")
        return b.value("fmul \(Self.reg(d)) \(f), \(LLVMType.literal(0x1p-24, d))")
    }

    mutating func load(_ operand: Int, _ view: View, _ d: DType) -> Value {
        let (ptr, offset) = pointer(operand, view)
        var terms: [Value] = []
        for (axis, s) in view.strides.enumerated() where s != 0 && view.shape[axis] != 1 {
            terms.append(s == 1 ? index[axis] : b.value("mul nsw i64 \(index[axis]), \(s)"))
        }
        var off = offset == 0 ? nil : Value.i64(offset)
        for t in terms { off = off.map { b.value("add nsw i64 \($0), \(t)") } ?? t }
        let ty = LLVMType.element(d)
        var valid: Value? = nil
        if let mask = view.mask {
            for (axis, r) in mask.enumerated() where r != 0..<view.shape[axis] {
                let c: Value
                if r.isEmpty {
                    c = .false
                } else {
                    let lo = b.value("icmp sge i64 \(index[axis]), \(r.lowerBound)")
                    let hi = b.value("icmp slt i64 \(index[axis]), \(r.upperBound)")
                    c = b.value("and i1 \(lo), \(hi)")
                }
                valid = valid.map { b.value("and i1 \($0), \(c)") } ?? c
            }
        }
        let zero = d == .bool ? Value.false : .literal(LLVMType.literal(0, d))
        if let valid {
            // Masked-out elements must not be read: their address may lie outside the buffer.
            let safe = b.value("select i1 \(valid), i64 \(off ?? .i64(0)), i64 0")
            let p = b.value("getelementptr \(ty), ptr \(ptr), i64 \(safe)")
            let raw = b.value("load \(ty), ptr \(p), align \(d.byteSize)")
            let v = d == .bool ? b.value("icmp ne i8 \(raw), 0") : raw
            return b.value("select i1 \(valid), \(Self.reg(d)) \(v), \(Self.reg(d)) \(zero)")
        }
        let p = off.map { b.value("getelementptr \(ty), ptr \(ptr), i64 \($0)") } ?? ptr
        let raw = b.value("load \(ty), ptr \(p), align \(d.byteSize)")
        return d == .bool ? b.value("icmp ne i8 \(raw), 0") : raw
    }

    mutating func call(_ fn: String, _ ty: String, _ args: [Value]) -> Value {
        declarations.insert("declare \(ty) @\(fn)(\(args.map { _ in ty }.joined(separator: ", ")))")
        return b.value("call \(ty) @\(fn)(\(args.map { "\(ty) \($0)" }.joined(separator: ", ")))")
    }

    mutating func unary(_ u: UnaryOp, _ x: Value, _ d: DType) -> Value {
        let ty = Self.reg(d)
        let sfx = d == .f64 ? "f64" : "f32"
        if d == .i32 {
            switch u {
            case .neg: return b.value("sub i32 0, \(x)")
            case .relu:
                let c = b.value("icmp sgt i32 \(x), 0")
                return b.value("select i1 \(c), i32 \(x), i32 0")
            case .exp, .log, .sqrt, .tanh:
                // Transcendentals on integers go through f64, as the interpreter computes them.
                let f = b.value("sitofp i32 \(x) to double")
                let r = unary(u, f, .f64)
                return cast(r, .f64, .i32)
            }
        }
        switch u {
        case .neg: return b.value("fneg \(ty) \(x)")
        case .exp: return call("llvm.exp.\(sfx)", ty, [x])
        case .log: return call("llvm.log.\(sfx)", ty, [x])
        case .sqrt: return call("llvm.sqrt.\(sfx)", ty, [x])
        case .tanh: return call(d == .f64 ? "tanh" : "tanhf", ty, [x])
        case .relu:
            let c = b.value("fcmp ogt \(ty) \(x), \(LLVMType.literal(0, d))")
            return b.value("select i1 \(c), \(ty) \(x), \(ty) \(LLVMType.literal(0, d))")
        }
    }

    mutating func binary(_ o: BinaryOp, _ x: Value, _ y: Value, _ d: DType) -> Value {
        let ty = Self.reg(d)
        if d == .i32 || d == .bool {
            switch o {
            case .add: return b.value("add \(ty) \(x), \(y)")
            case .sub: return b.value("sub \(ty) \(x), \(y)")
            case .mul: return b.value("mul \(ty) \(x), \(y)")
            case .div:
                let z = b.value("icmp eq \(ty) \(y), 0")
                let safe = b.value("select i1 \(z), \(ty) 1, \(ty) \(y)")
                let q = b.value("sdiv \(ty) \(x), \(safe)")
                return b.value("select i1 \(z), \(ty) 0, \(ty) \(q)")
            case .max, .min:
                let c = b.value("icmp \(o == .max ? "sgt" : "slt") \(ty) \(x), \(y)")
                return b.value("select i1 \(c), \(ty) \(x), \(ty) \(y)")
            }
        }
        switch o {
        case .add: return b.value("fadd \(ty) \(x), \(y)")
        case .sub: return b.value("fsub \(ty) \(x), \(y)")
        case .mul: return b.value("fmul \(ty) \(x), \(y)")
        case .div: return b.value("fdiv \(ty) \(x), \(y)")
        case .max: return call("llvm.maximum.\(d == .f64 ? "f64" : "f32")", ty, [x, y])
        case .min: return call("llvm.minimum.\(d == .f64 ? "f64" : "f32")", ty, [x, y])
        }
    }

    mutating func compare(_ c: CompareOp, _ x: Value, _ y: Value, _ d: DType) -> Value {
        let ty = Self.reg(d)
        if d.isFloat {
            let p: String
            switch c {
            case .eq: p = "oeq"
            case .ne: p = "une"
            case .lt: p = "olt"
            case .le: p = "ole"
            case .gt: p = "ogt"
            case .ge: p = "oge"
            }
            return b.value("fcmp \(p) \(ty) \(x), \(y)")
        }
        let p: String
        switch c {
        case .eq: p = "eq"
        case .ne: p = "ne"
        case .lt: p = d == .bool ? "ult" : "slt"
        case .le: p = d == .bool ? "ule" : "sle"
        case .gt: p = d == .bool ? "ugt" : "sgt"
        case .ge: p = d == .bool ? "uge" : "sge"
        }
        return b.value("icmp \(p) \(ty) \(x), \(y)")
    }

    mutating func cast(_ x: Value, _ from: DType, _ to: DType) -> Value {
        if from == to { return x }
        let f = Self.reg(from), t = Self.reg(to)
        switch (from, to) {
        case (.f32, .f64): return b.value("fpext float \(x) to double")
        case (.f64, .f32): return b.value("fptrunc double \(x) to float")
        case (.f32, .bool), (.f64, .bool): return b.value("fcmp une \(f) \(x), \(LLVMType.literal(0, from))")
        case (.i32, .bool): return b.value("icmp ne i32 \(x), 0")
        case (.bool, .i32): return b.value("zext i1 \(x) to i32")
        case (.bool, .f32), (.bool, .f64): return b.value("uitofp i1 \(x) to \(t)")
        case (.i32, .f32), (.i32, .f64): return b.value("sitofp i32 \(x) to \(t)")
        case (.f32, .i32), (.f64, .i32):
            // Truncation toward zero; NaN and out-of-range values saturate instead of being poison.
            declarations.insert("declare i64 @llvm.fptosi.sat.i64.\(from == .f64 ? "f64" : "f32")(\(f))")
            let wide = b.value("call i64 @llvm.fptosi.sat.i64.\(from == .f64 ? "f64" : "f32")(\(f) \(x))")
            return b.value("trunc i64 \(wide) to i32")
        case (.f32, .f32), (.f64, .f64), (.i32, .i32), (.bool, .bool): return x  // returned above
        }
    }

    /// Stores `v` (register type of `d`) at element `index` of `ptr`.
    func store(_ v: Value, _ d: DType, ptr: Value, index: Value) {
        let ty = LLVMType.element(d)
        let p = b.value("getelementptr \(ty), ptr \(ptr), i64 \(index)")
        let x = d == .bool ? b.value("zext i1 \(v) to i8") : v
        b.emit("store \(ty) \(x), ptr \(p), align \(d.byteSize)")
    }
}
