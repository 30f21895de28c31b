import MetaIR

/// Builds the body of one LLVM IR function as text: fresh SSA values, basic blocks, counted
/// loops (with or without loop-carried values).
///
/// Lowering never links LLVM: it writes IR text (opaque pointers, LLVM 19 syntax) that `JIT`
/// parses. Names from `fresh` are unique within one builder, so nested emitters (a dense
/// kernel and its fused epilogue) can share one function body.
public final class LLVMText {
    /// The function body's lines, in order (labels included).
    public private(set) var lines: [String] = []
    /// The label of the block instructions are currently appended to.
    public private(set) var currentBlock: String
    private var counter = 0
    /// Loop hints (`!llvm.loop` properties), one per hinted loop: the back edge of loop `k`
    /// names `!@@LOOP<k>@@`, which `KernelFunctionText.text` defines and `LoweredProgram`
    /// numbers module-wide.
    public private(set) var loopHints: [[String]] = []

    /// Starts a body whose first block is `entry`.
    public init(entry: String = "entry") {
        currentBlock = entry
        lines.append("\(entry):")
    }

    /// A fresh SSA value name such as `%v12`.
    public func fresh(_ hint: String = "v") -> Value {
        counter += 1
        return .local("\(hint)\(counter)")
    }

    /// A fresh block label (without the `%`).
    public func freshLabel(_ hint: String) -> String {
        counter += 1
        return "\(hint)\(counter)"
    }

    /// Appends one instruction.
    public func emit(_ line: String) {
        lines.append("  " + line)
    }

    /// Emits `name = rhs` with a fresh name and returns the value.
    @discardableResult
    public func value(_ rhs: String, hint: String = "v") -> Value {
        let v = fresh(hint)
        emit("\(v) = \(rhs)")
        return v
    }

    /// Starts a new block (the previous one must have ended with a terminator).
    public func startBlock(_ label: String) {
        lines.append("\(label):")
        currentBlock = label
    }

    /// A counted loop `for i in from..<to` (i64, step `step`) without loop-carried values:
    /// `body` gets the induction variable.
    /// `properties` as for ``loop(from:to:step:carried:hint:properties:_:)``.
    public func forEach(from: Value, to: Value, step: Int = 1, hint: String = "i", properties: [String] = [],
                        _ body: (Value) throws -> Void) rethrows {
        _ = try loop(from: from, to: to, step: step, carried: [], hint: hint, properties: properties) { i, _ in
            try body(i)
            return []
        }
    }

    /// A counted loop `for i in from..<to` (i64, step `step`), with loop-carried values:
    /// `carried` gives each one's LLVM type and initial value, `body` gets the induction
    /// variable and the carried values and returns their next values. Returns the carried
    /// values after the loop.
    ///
    /// `properties` are `!llvm.loop` entries for the loop, such as
    /// `!{!"llvm.loop.vectorize.width", i32 8}`.
    public func loop(from: Value, to: Value, step: Int = 1, carried: [(type: String, initial: Value)],
                     hint: String = "i", properties: [String] = [],
                     _ body: (Value, [Value]) throws -> [Value]) rethrows -> [Value] {
        let pre = currentBlock
        let header = freshLabel("\(hint).h"), bodyLabel = freshLabel("\(hint).b")
        let exit = freshLabel("\(hint).e")
        let i = fresh(hint), next = fresh("\(hint).n")
        let phis = carried.map { _ in fresh("acc") }
        emit("br label %\(header)")
        startBlock(header)
        // The phis name the latch block and the next values, known only after the body: their
        // lines are reserved here and written then.
        let phiLines = lines.count..<(lines.count + 1 + carried.count)
        lines.append(contentsOf: phiLines.map { _ in "" })
        let cond = value("icmp slt i64 \(i), \(to)", hint: "c")
        emit("br i1 \(cond), label %\(bodyLabel), label %\(exit)")
        startBlock(bodyLabel)
        let updated = try body(i, phis)
        precondition(updated.count == carried.count, "loop body returned \(updated.count) values for \(carried.count)")
        emit("\(next) = add nsw i64 \(i), \(step)")
        let latch = currentBlock
        if properties.isEmpty {
            emit("br label %\(header)")
        } else {
            emit("br label %\(header), !llvm.loop !\(Self.loopPlaceholder(loopHints.count))")
            loopHints.append(properties)
        }
        startBlock(exit)
        lines[phiLines.lowerBound] = "  \(i) = phi i64 [ \(from), %\(pre) ], [ \(next), %\(latch) ]"
        for (k, c) in carried.enumerated() {
            lines[phiLines.lowerBound + 1 + k] = "  \(phis[k]) = phi \(c.type) [ \(c.initial), %\(pre) ], [ \(updated[k]), %\(latch) ]"
        }
        return phis
    }

    /// `if cond { then }` with no values flowing out.
    public func ifThen(_ cond: Value, _ then: () throws -> Void) rethrows {
        let t = freshLabel("then"), e = freshLabel("endif")
        emit("br i1 \(cond), label %\(t), label %\(e)")
        startBlock(t)
        try then()
        emit("br label %\(e)")
        startBlock(e)
    }

    /// The body as text.
    public var text: String { lines.joined(separator: "\n") }

    /// The hint that keeps LLVM from unrolling a loop.
    public static let noUnrolling = "!{!\"llvm.loop.unroll.disable\"}"

    /// The placeholder the back edge of hinted loop `k` names (`@@LOOP<k>@@`).
    public static func loopPlaceholder(_ k: Int) -> String { "@@LOOP\(k)@@" }

    /// `texts` (each a function with its own `@@LOOP<k>@@` placeholders from 0) with the
    /// loop metadata ids numbered module-wide.
    public static func numberingLoops(_ texts: [String]) -> [String] {
        var next = 0
        return texts.map { text in
            var count = 0
            let numbered = text.replacingNumbered(prefix: "@@LOOP", suffix: "@@") { k in
                count = max(count, k + 1)
                return "\(next + k)"
            }
            next += count
            return numbered
        }
    }

    /// The metadata definitions of the hinted loops, each a distinct self-referencing node
    /// (`!@@LOOP0@@ = distinct !{!@@LOOP0@@, …}`), ids still placeholders.
    public var loopMetadata: String {
        loopHints.enumerated().map { k, props in
            let id = "!" + Self.loopPlaceholder(k)
            return "\(id) = distinct !{\(([id] + props).joined(separator: ", "))}\n"
        }.joined()
    }
}

extension String {
    /// Every occurrence of `target` replaced.
    ///
    /// A byte search over the UTF-8 view: Foundation's `range(of:)` goes through `NSString`,
    /// and took most of lowering's time on a MAML step (2.4 s of 9,500 kernels).
    func replacingAll(_ target: String, with replacement: String) -> String {
        let bytes = Array(replacement.utf8)
        return replacing(Array(target.utf8)) { _ in (bytes, 0) }
    }

    /// Every `prefix` + decimal number + `suffix` replaced by `transform(number)`.
    func replacingNumbered(prefix: String, suffix: String, _ transform: (Int) -> String) -> String {
        let end = Array(suffix.utf8)
        return replacing(Array(prefix.utf8)) { rest in
            var number = 0, digits = 0
            while digits < rest.count, let d = rest[rest.startIndex + digits].asciiDigit {
                number = number * 10 + d
                digits += 1
            }
            guard digits > 0, rest.dropFirst(digits).starts(with: end) else { return nil }
            return (Array(transform(number).utf8), digits + end.count)
        }
    }

    /// Each occurrence of `target` whose continuation `match` accepts (returning the
    /// replacement and how many bytes after `target` it also consumes) replaced; one pass.
    private func replacing(_ target: [UInt8], _ match: (ArraySlice<UInt8>) -> (bytes: [UInt8], consumed: Int)?) -> String {
        guard let first = target.first else { return self }
        let bytes = Array(utf8)
        var out: [UInt8] = []
        var copied = 0, i = 0
        while i + target.count <= bytes.count {
            guard bytes[i] == first, bytes[i..<(i + target.count)].elementsEqual(target),
                  let (replacement, consumed) = match(bytes[(i + target.count)...]) else {
                i += 1
                continue
            }
            if out.isEmpty { out.reserveCapacity(bytes.count) }
            out.append(contentsOf: bytes[copied..<i])
            out.append(contentsOf: replacement)
            i += target.count + consumed
            copied = i
        }
        guard copied > 0 else { return self }
        out.append(contentsOf: bytes[copied...])
        return String(decoding: out, as: UTF8.self)
    }
}

private extension UInt8 {
    /// The value of an ASCII decimal digit, or `nil`.
    var asciiDigit: Int? { (48...57).contains(self) ? Int(self - 48) : nil }
}

/// LLVM spellings of MetaIR element types.
public enum LLVMType {
    /// The in-memory element type: `float`, `double`, `i32`, or `i8` for `bool` (0 or 1).
    public static func element(_ d: DType) -> String {
        switch d {
        case .f32: return "float"
        case .f64: return "double"
        case .i32: return "i32"
        case .bool: return "i8"
        }
    }

    /// A literal of type `d` (floats in LLVM's exact hexadecimal form).
    public static func literal(_ v: Double, _ d: DType) -> String {
        switch d {
        case .f32: return hexFloat(Double(Float(v)))
        case .f64: return hexFloat(v)
        case .i32: return "\(Int32(clamping: Int(v.rounded(.towardZero))))"
        case .bool: return v != 0 ? "1" : "0"
        }
    }

    /// LLVM's `0x…` form of a double (exact for every value, including inf and NaN).
    public static func hexFloat(_ v: Double) -> String {
        let bits = v.bitPattern
        let hex = String(bits, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// One complete kernel function in the buffers-plus-range ABI
/// (`void @name(ptr %buffers, i64 %begin, i64 %end)`, see `JIT.RangeKernelFunction`).
///
/// The wrapper loads each buffer pointer from the array and calls an always-inline body whose
/// pointer parameters carry `noalias`, so LLVM vectorises without runtime alias
/// checks. The memory planner guarantees that no output buffer overlaps a buffer the same
/// kernel reads.
public struct KernelFunctionText {
    /// Symbol name.
    public var name: String
    /// Number of buffer pointers the kernel reads from its array.
    public var bufferCount: Int
    /// Body built on the always-inline function: parameters `%arg0 … %argN-1` (ptr) and
    /// `%begin`, `%end` (i64).
    public var body: LLVMText
    /// Module-level definitions the function uses (constant tables), placed before it.
    public var globals: [String] = []
    /// `declare` lines the function needs.
    public var declarations: Set<String> = []

    /// Creates a kernel whose body is filled in by the caller.
    public init(name: String, bufferCount: Int) {
        self.name = name
        self.bufferCount = bufferCount
        body = LLVMText()
    }

    /// Pointer parameter `i` of the body.
    public static func pointer(_ i: Int) -> Value { .local("arg\(i)") }
    /// The first index of the range the call covers (an i64 parameter of the body).
    public static let begin = Value.local("begin")
    /// The end of the range the call covers (an i64 parameter of the body).
    public static let end = Value.local("end")

    /// The function as a module of its own: its declarations, then `text`.
    public var moduleText: String { Self.module([self]) }

    /// One module of `functions`: their declarations, then their texts, loop metadata ids
    /// numbered across them.
    public static func module(_ functions: [KernelFunctionText]) -> String {
        let declarations = Set(functions.flatMap(\.declarations)).sorted()
        return (declarations + [""] + LLVMText.numberingLoops(functions.map(\.text))).joined(separator: "\n")
    }

    /// The two functions as IR text (the body must end with `ret void`).
    public var text: String {
        let params = (0..<bufferCount).map { "ptr noalias %arg\($0)" } + ["i64 %begin", "i64 %end"]
        var out = globals.map { $0 + "\n" }.joined() + (globals.isEmpty ? "" : "\n")
        out += "define internal void @\(name).body(\(params.joined(separator: ", "))) alwaysinline nounwind {\n"
        out += body.text + "\n}\n\n"
        out += "define void @\(name)(ptr %buffers, i64 %begin, i64 %end) nounwind {\nentry:\n"
        var args: [String] = []
        for i in 0..<bufferCount {
            out += "  %g\(i) = getelementptr ptr, ptr %buffers, i64 \(i)\n  %b\(i) = load ptr, ptr %g\(i), align 8\n"
            args.append("ptr %b\(i)")
        }
        args += ["i64 %begin", "i64 %end"]
        out += "  call void @\(name).body(\(args.joined(separator: ", ")))\n  ret void\n}\n"
        return out + body.loopMetadata
    }
}
