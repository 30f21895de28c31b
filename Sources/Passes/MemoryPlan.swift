import MetaIR

/// Where every intermediate buffer lives inside one arena, reusing space by liveness.
///
/// A buffer is live from the kernel that writes it to the last kernel that reads it (graph
/// outputs to the end of the call). Offsets are assigned greedily in order of definition,
/// first fit among the gaps left by buffers already dead, so a long unrolled MAML step needs
/// about as much memory as its widest point, not the sum of all its values. Inputs and
/// parameters are not in the arena: they keep their own resident buffers, and the runtime
/// swaps each parameter with its `update.` output after a step (an in-place update without a
/// copy).
public struct MemoryPlan: Sendable {
    /// Byte offset of each buffer in the arena (`nil` for inputs, parameters, unused buffers).
    public var offsets: [Int?]
    /// Arena size in bytes.
    public var arenaBytes: Int
    /// Sum of all intermediate buffer sizes, i.e. the arena without reuse.
    public var unplannedBytes: Int

    /// Alignment of every buffer (a cache line, and the widest vector).
    public static let alignment = 64

    /// The kernels during which each buffer is live: from the kernel that writes it to the
    /// last that reads it (graph outputs to one past the last kernel); `nil` for buffers no
    /// kernel writes.
    public static func liveRanges(_ p: KernelProgram) -> [ClosedRange<Int>?] {
        let n = p.buffers.count
        var first = [Int](repeating: Int.max, count: n), last = [Int](repeating: -1, count: n)
        for (i, k) in p.kernels.enumerated() {
            first[k.output] = min(first[k.output], i)
            last[k.output] = max(last[k.output], i)
            for b in k.operands { last[b] = max(last[b], i) }
        }
        for o in p.outputs { last[o.buffer] = p.kernels.count }
        return (0..<n).map { first[$0] == Int.max ? nil : first[$0]...max(first[$0], last[$0]) }
    }

    /// Plans `p`; with `reuse` off (`-O0`) every buffer gets space of its own, the reference
    /// that reuse is checked against.
    public static func plan(_ p: KernelProgram, reuse: Bool = true) -> MemoryPlan {
        let n = p.buffers.count
        let lives = liveRanges(p)
        // Sizes and offsets saturate at `Int.max` instead of trapping: a saturated plan is
        // refused by the memory limit, which the compiler checks right after planning.
        func bytes(_ b: Int) -> Int {
            let (raw, overflow) = p.buffers[b].count.multipliedReportingOverflow(by: p.buffers[b].dtype.byteSize)
            guard !overflow, raw <= Int.max - alignment else { return Int.max }
            return (max(raw, 1) + alignment - 1) / alignment * alignment
        }
        var offsets = [Int?](repeating: nil, count: n)
        // Live allocations sorted by offset: (offset, size, last use).
        var live: [(offset: Int, size: Int, last: Int)] = []
        var arena = 0, unplanned = 0
        let order = (0..<n).filter { p.buffers[$0].role == .intermediate && lives[$0] != nil }
            .sorted { (lives[$0]?.lowerBound ?? 0) < (lives[$1]?.lowerBound ?? 0) }
        for b in order {
            guard let range = lives[b] else { continue }
            let start = range.lowerBound, size = bytes(b)
            unplanned = adding(unplanned, size)
            guard reuse else {
                // Nothing is freed: each buffer simply follows the previous one.
                offsets[b] = arena
                arena = adding(arena, size)
                continue
            }
            // Free what died before this buffer is written (a kernel's inputs stay live
            // during it, so an output never overlaps what the same kernel reads).
            live.removeAll { $0.last < start }
            live.sort { $0.offset < $1.offset }
            var candidate = 0
            var placed: Int? = nil
            var best = Int.max
            for a in live {
                let gap = a.offset - candidate
                if gap >= size, gap < best { best = gap; placed = candidate }
                candidate = max(candidate, adding(a.offset, a.size))
            }
            let offset = placed ?? candidate
            offsets[b] = offset
            live.append((offset, size, range.upperBound))
            arena = max(arena, adding(offset, size))
        }
        return MemoryPlan(offsets: offsets, arenaBytes: arena, unplannedBytes: unplanned)
    }
}

/// `a + b`, or `Int.max` when the sum overflows.
private func adding(_ a: Int, _ b: Int) -> Int {
    let (s, overflow) = a.addingReportingOverflow(b)
    return overflow ? Int.max : s
}
