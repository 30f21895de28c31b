import Foundation

/// Generates a mid-size LLVM IR module: `count` kernels with the buffer-array ABI, alternating
/// a 3-deep matmul loop nest (`c = alpha * a·b`) and a 2-deep elementwise nest calling libm
/// (`c = tanh(a) * exp(alpha * b)`), with per-kernel sizes so no two functions are identical.
enum MidSizeModule {
    /// The shape and scale of kernel `index`.
    struct Kernel {
        let index: Int
        let rows: Int
        let columns: Int
        let depth: Int
        let alpha: Float
        var isMatmul: Bool { index % 2 == 0 }
        var name: String { "k\(index)" }
    }

    static func kernels(count: Int) -> [Kernel] {
        (0..<count).map { index in
            Kernel(
                index: index, rows: 4 + index % 5, columns: 16 + 8 * (index % 3), depth: 8 + index % 7,
                alpha: 0.5 + Float(index % 4) * 0.25)
        }
    }

    static func source(count: Int) -> String {
        var text = "declare float @expf(float)\ndeclare float @tanhf(float)\n\n"
        for kernel in kernels(count: count) {
            text += kernel.isMatmul ? matmul(kernel) : elementwise(kernel)
            text += "\n"
        }
        return text
    }

    private static func prologue(_ name: String) -> String {
        """
        define void @\(name)(ptr noalias %buffers) {
        entry:
          %a = load ptr, ptr %buffers, align 8
          %b.slot = getelementptr inbounds ptr, ptr %buffers, i64 1
          %b = load ptr, ptr %b.slot, align 8
          %c.slot = getelementptr inbounds ptr, ptr %buffers, i64 2
          %c = load ptr, ptr %c.slot, align 8
          br label %i.loop

        """
    }

    /// `c[i][j] = alpha * sum_k a[i][k] * b[k][j]`, a: rows×depth, b: depth×columns.
    private static func matmul(_ kernel: Kernel) -> String {
        let (m, n, k) = (kernel.rows, kernel.columns, kernel.depth)
        return prologue(kernel.name) + """
            i.loop:
              %i = phi i64 [ 0, %entry ], [ %i.next, %i.latch ]
              br label %j.loop
            j.loop:
              %j = phi i64 [ 0, %i.loop ], [ %j.next, %j.latch ]
              br label %k.loop
            k.loop:
              %k = phi i64 [ 0, %j.loop ], [ %k.next, %k.loop ]
              %acc = phi float [ 0.0, %j.loop ], [ %acc.next, %k.loop ]
              %ik = mul nuw nsw i64 %i, \(k)
              %a.idx = add nuw nsw i64 %ik, %k
              %a.ptr = getelementptr inbounds float, ptr %a, i64 %a.idx
              %a.val = load float, ptr %a.ptr, align 4
              %kj = mul nuw nsw i64 %k, \(n)
              %b.idx = add nuw nsw i64 %kj, %j
              %b.ptr = getelementptr inbounds float, ptr %b, i64 %b.idx
              %b.val = load float, ptr %b.ptr, align 4
              %prod = fmul fast float %a.val, %b.val
              %acc.next = fadd fast float %acc, %prod
              %k.next = add nuw nsw i64 %k, 1
              %k.done = icmp eq i64 %k.next, \(k)
              br i1 %k.done, label %j.latch, label %k.loop
            j.latch:
              %scaled = fmul fast float %acc.next, \(llvmFloatLiteral(kernel.alpha))
              %ij = mul nuw nsw i64 %i, \(n)
              %c.idx = add nuw nsw i64 %ij, %j
              %c.ptr = getelementptr inbounds float, ptr %c, i64 %c.idx
              store float %scaled, ptr %c.ptr, align 4
              %j.next = add nuw nsw i64 %j, 1
              %j.done = icmp eq i64 %j.next, \(n)
              br i1 %j.done, label %i.latch, label %j.loop
            i.latch:
              %i.next = add nuw nsw i64 %i, 1
              %i.done = icmp eq i64 %i.next, \(m)
              br i1 %i.done, label %exit, label %i.loop
            exit:
              ret void
            }

            """
    }

    /// `c[i][j] = tanh(a[i][j]) * exp(alpha * b[i][j])` over rows×columns.
    private static func elementwise(_ kernel: Kernel) -> String {
        let (m, n) = (kernel.rows, kernel.columns)
        return prologue(kernel.name) + """
            i.loop:
              %i = phi i64 [ 0, %entry ], [ %i.next, %i.latch ]
              br label %j.loop
            j.loop:
              %j = phi i64 [ 0, %i.loop ], [ %j.next, %j.loop ]
              %in = mul nuw nsw i64 %i, \(n)
              %idx = add nuw nsw i64 %in, %j
              %a.ptr = getelementptr inbounds float, ptr %a, i64 %idx
              %a.val = load float, ptr %a.ptr, align 4
              %b.ptr = getelementptr inbounds float, ptr %b, i64 %idx
              %b.val = load float, ptr %b.ptr, align 4
              %t = call fast float @tanhf(float %a.val)
              %sb = fmul fast float %b.val, \(llvmFloatLiteral(kernel.alpha))
              %e = call fast float @expf(float %sb)
              %r = fmul fast float %t, %e
              %c.ptr = getelementptr inbounds float, ptr %c, i64 %idx
              store float %r, ptr %c.ptr, align 4
              %j.next = add nuw nsw i64 %j, 1
              %j.done = icmp eq i64 %j.next, \(n)
              br i1 %j.done, label %i.latch, label %j.loop
            i.latch:
              %i.next = add nuw nsw i64 %i, 1
              %i.done = icmp eq i64 %i.next, \(m)
              br i1 %i.done, label %exit, label %i.loop
            exit:
              ret void
            }

            """
    }

    /// What kernel `kernel` must write to c, computed in Swift.
    static func reference(_ kernel: Kernel, a: [Float], b: [Float]) -> [Float] {
        let (m, n, k) = (kernel.rows, kernel.columns, kernel.depth)
        if !kernel.isMatmul {
            return (0..<(m * n)).map { tanhf(a[$0]) * expf(kernel.alpha * b[$0]) }
        }
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for p in 0..<k { sum += a[i * k + p] * b[p * n + j] }
                c[i * n + j] = kernel.alpha * sum
            }
        }
        return c
    }
}
