/// Hand-written LLVM IR (opaque pointers) used across the tests.
enum IRSamples {
    /// `y[i] += a * x[i]` for `i < n`.
    static let axpy = """
        define void @axpy(ptr noalias %x, ptr noalias %y, float %a, i64 %n) {
        entry:
          %empty = icmp sle i64 %n, 0
          br i1 %empty, label %exit, label %loop
        loop:
          %i = phi i64 [ 0, %entry ], [ %next, %loop ]
          %px = getelementptr inbounds float, ptr %x, i64 %i
          %py = getelementptr inbounds float, ptr %y, i64 %i
          %vx = load float, ptr %px, align 4
          %vy = load float, ptr %py, align 4
          %m = fmul float %a, %vx
          %s = fadd float %m, %vy
          store float %s, ptr %py, align 4
          %next = add nuw nsw i64 %i, 1
          %done = icmp eq i64 %next, %n
          br i1 %done, label %exit, label %loop
        exit:
          ret void
        }
        """

    /// `sum(a[i] * b[i])` with `fast` flags, so LLVM may reassociate and vectorise the reduction.
    static let dot = """
        define float @dot(ptr noalias %a, ptr noalias %b, i64 %n) {
        entry:
          %empty = icmp sle i64 %n, 0
          br i1 %empty, label %exit, label %loop
        loop:
          %i = phi i64 [ 0, %entry ], [ %next, %loop ]
          %acc = phi float [ 0.0, %entry ], [ %sum, %loop ]
          %pa = getelementptr inbounds float, ptr %a, i64 %i
          %pb = getelementptr inbounds float, ptr %b, i64 %i
          %va = load float, ptr %pa, align 4
          %vb = load float, ptr %pb, align 4
          %p = fmul fast float %va, %vb
          %sum = fadd fast float %acc, %p
          %next = add nuw nsw i64 %i, 1
          %done = icmp eq i64 %next, %n
          br i1 %done, label %exit, label %loop
        exit:
          %r = phi float [ 0.0, %entry ], [ %sum, %loop ]
          ret float %r
        }
        """

    /// Kernel ABI: `buffers[1][i] = 2 * buffers[0][i] + 1` for `i < 1000`.
    static let scaleKernel = """
        define void @scale(ptr noalias %buffers) {
        entry:
          %in = load ptr, ptr %buffers, align 8
          %out.slot = getelementptr inbounds ptr, ptr %buffers, i64 1
          %out = load ptr, ptr %out.slot, align 8
          br label %loop
        loop:
          %i = phi i64 [ 0, %entry ], [ %next, %loop ]
          %pi = getelementptr inbounds float, ptr %in, i64 %i
          %v = load float, ptr %pi, align 4
          %d = fmul float %v, 2.0
          %r = fadd float %d, 1.0
          %po = getelementptr inbounds float, ptr %out, i64 %i
          store float %r, ptr %po, align 4
          %next = add nuw nsw i64 %i, 1
          %done = icmp eq i64 %next, 1000
          br i1 %done, label %exit, label %loop
        exit:
          ret void
        }

        define void @scale_range(ptr noalias %buffers, i64 %begin, i64 %end) {
        entry:
          %in = load ptr, ptr %buffers, align 8
          %out.slot = getelementptr inbounds ptr, ptr %buffers, i64 1
          %out = load ptr, ptr %out.slot, align 8
          %empty = icmp sge i64 %begin, %end
          br i1 %empty, label %exit, label %loop
        loop:
          %i = phi i64 [ %begin, %entry ], [ %next, %loop ]
          %pi = getelementptr inbounds float, ptr %in, i64 %i
          %v = load float, ptr %pi, align 4
          %d = fmul float %v, 2.0
          %r = fadd float %d, 1.0
          %po = getelementptr inbounds float, ptr %out, i64 %i
          store float %r, ptr %po, align 4
          %next = add nsw i64 %i, 1
          %done = icmp eq i64 %next, %end
          br i1 %done, label %exit, label %loop
        exit:
          ret void
        }
        """

    /// Scalar and array functions that call libm's `expf`, `logf` and `tanhf`.
    static let libm = """
        declare float @expf(float)
        declare float @logf(float)
        declare float @tanhf(float)

        define float @exp_plus_tanh(float %x) {
          %e = call float @expf(float %x)
          %t = call float @tanhf(float %x)
          %r = fadd float %e, %t
          ret float %r
        }

        define float @log_of(float %x) {
          %l = call float @logf(float %x)
          ret float %l
        }

        define void @tanh_array(ptr noalias %buffers) {
        entry:
          %in = load ptr, ptr %buffers, align 8
          %out.slot = getelementptr inbounds ptr, ptr %buffers, i64 1
          %out = load ptr, ptr %out.slot, align 8
          br label %loop
        loop:
          %i = phi i64 [ 0, %entry ], [ %next, %loop ]
          %pi = getelementptr inbounds float, ptr %in, i64 %i
          %v = load float, ptr %pi, align 4
          %t = call float @tanhf(float %v)
          %po = getelementptr inbounds float, ptr %out, i64 %i
          store float %t, ptr %po, align 4
          %next = add nuw nsw i64 %i, 1
          %done = icmp eq i64 %next, 256
          br i1 %done, label %exit, label %loop
        exit:
          ret void
        }
        """
}

/// The C types of the sample functions.
typealias AxpyFunction = @convention(c) (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, Float, Int64) -> Void
typealias DotFunction = @convention(c) (UnsafePointer<Float>, UnsafePointer<Float>, Int64) -> Float
typealias UnaryFloatFunction = @convention(c) (Float) -> Float
