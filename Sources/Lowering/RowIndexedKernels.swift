import MetaIR
import Passes

/// Lowering of `gather` (embedding lookup) and `scatter_add` (its adjoint).
///
/// Both read a data-dependent row, which the affine loop kernels cannot express, so each is a
/// kernel of its own with operands `%arg0` = output, `%arg1` = table or updates, `%arg2` =
/// the `i32` indices (pointers pre-advanced by the operands' offsets).
extension KernelLowering {
    static func rowIndexed(_ k: Kernel, _ p: KernelProgram, _ kind: RowIndexedKind, _ s: RowIndexSpec) -> LoweredKernel {
        let offsets = k.operandOffsets.count == 2 ? k.operandOffsets : [0, 0]
        let arguments = [(buffer: k.output, offset: 0), (buffer: k.operands[0], offset: offsets[0]),
                         (buffer: k.operands[1], offset: offsets[1])]
        let dtype = p.buffers[k.output].dtype
        let fn = KernelFunctionText(name: placeholder, bufferCount: arguments.count)
        let b = fn.body
        let ty = LLVMType.element(dtype)
        let zero = LLVMType.literal(0, dtype)
        let out = KernelFunctionText.pointer(0), data = KernelFunctionText.pointer(1), indices = KernelFunctionText.pointer(2)

        /// The index at position `pos` as i64, and whether it lies in `0..<rows` (unsigned
        /// compare: negative indices are out of range too).
        func row(_ pos: Value) -> (row: Value, valid: Value) {
            let ip = b.value("getelementptr i32, ptr \(indices), i64 \(pos)")
            let r32 = b.value("load i32, ptr \(ip), align 4")
            let r = b.value("sext i32 \(r32) to i64")
            return (r, b.value("icmp ult i64 \(r), \(s.rows)"))
        }
        func element(_ ptr: Value, _ index: Value) -> Value {
            b.value("getelementptr \(ty), ptr \(ptr), i64 \(index)")
        }

        let outerExtent: Int
        switch kind {
        case .gather:
            // Threads split the positions; each writes its own output rows.
            outerExtent = s.positions
            b.forEach(from: KernelFunctionText.begin, to: KernelFunctionText.end, hint: "p") { pos in
                let base = b.value("mul nsw i64 \(pos), \(s.width)")
                if s.rows == 0 {
                    b.forEach(from: .i64(0), to: .i64(s.width), hint: "c") { c in
                        b.emit("store \(ty) \(zero), ptr \(element(out, b.value("add nsw i64 \(base), \(c)"))), align \(dtype.byteSize)")
                    }
                    return
                }
                let (r, valid) = row(pos)
                // Out-of-range rows read row 0's address (always valid) and are replaced by zero.
                let safe = b.value("select i1 \(valid), i64 \(r), i64 0")
                let src = b.value("mul nsw i64 \(safe), \(s.width)")
                b.forEach(from: .i64(0), to: .i64(s.width), hint: "c") { c in
                    let v = b.value("load \(ty), ptr \(element(data, b.value("add nsw i64 \(src), \(c)"))), align \(dtype.byteSize)")
                    let x = b.value("select i1 \(valid), \(ty) \(v), \(ty) \(zero)")
                    b.emit("store \(ty) \(x), ptr \(element(out, b.value("add nsw i64 \(base), \(c)"))), align \(dtype.byteSize)")
                }
            }
        case .scatterAdd:
            // Threads split the columns, so two threads never add into one element and the
            // sum runs in position order, as in the interpreter.
            outerExtent = s.width
            b.forEach(from: .i64(0), to: .i64(s.rows), hint: "v") { v in
                let base = b.value("mul nsw i64 \(v), \(s.width)")
                b.forEach(from: KernelFunctionText.begin, to: KernelFunctionText.end, hint: "c") { c in
                    b.emit("store \(ty) \(zero), ptr \(element(out, b.value("add nsw i64 \(base), \(c)"))), align \(dtype.byteSize)")
                }
            }
            b.forEach(from: .i64(0), to: .i64(s.positions), hint: "p") { pos in
                let (r, valid) = row(pos)
                b.ifThen(valid) {
                    let dst = b.value("mul nsw i64 \(r), \(s.width)")
                    let src = b.value("mul nsw i64 \(pos), \(s.width)")
                    b.forEach(from: KernelFunctionText.begin, to: KernelFunctionText.end, hint: "c") { c in
                        let op = element(out, b.value("add nsw i64 \(dst), \(c)"))
                        let acc = b.value("load \(ty), ptr \(op), align \(dtype.byteSize)")
                        let u = b.value("load \(ty), ptr \(element(data, b.value("add nsw i64 \(src), \(c)"))), align \(dtype.byteSize)")
                        let sum = b.value("fadd \(ty) \(acc), \(u)")
                        b.emit("store \(ty) \(sum), ptr \(op), align \(dtype.byteSize)")
                    }
                }
            }
        }
        b.emit("ret void")
        return LoweredKernel(text: fn.text, declarations: [], arguments: arguments,
                             outerExtent: outerExtent, work: s.positions * s.width)
    }
}
