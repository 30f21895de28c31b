import MetaIR
import Passes

/// Rewrites of a kernel's index space: axis permutation (reductions put kept axes first) and
/// merging of adjacent axes that every view walks contiguously, so a `[5,64,14,14]`
/// elementwise kernel becomes one loop of 62,720 iterations that LLVM vectorises.
enum IndexSpace {
    /// Every view and iota axis of `e`, re-indexed so that new axis `i` is old axis `perm[i]`.
    static func permute(_ e: Expr, _ perm: [Int]) -> Expr {
        var inverse = [Int](repeating: 0, count: perm.count)
        for (i, p) in perm.enumerated() { inverse[p] = i }
        return e.mapLeaves { leaf in
            switch leaf {
            case .load(let o, let v, let d): return .load(operand: o, view: v.permuted(perm), dtype: d)
            case .iota(let a, let d): return .iota(axis: inverse[a], d)
            case .constant, .accumulator, .unary, .binary, .compare, .select, .cast, .randomUniform: return leaf
            }
        } ?? e
    }

    static func iotaAxes(_ e: Expr) -> Set<Int> {
        var s = Set<Int>()
        _ = e.mapLeaves { leaf in
            if case .iota(let a, _) = leaf { s.insert(a) }
            return leaf
        }
        return s
    }

    static func views(_ e: Expr) -> [View] {
        var out: [View] = []
        _ = e.mapLeaves { leaf in
            if case .load(_, let v, _) = leaf { out.append(v) }
            return leaf
        }
        return out
    }

    /// Merges adjacent axes of `shape` where legal, never across an axis in `boundaries`
    /// (axis `b` in `boundaries` always starts a new group). Returns the new expression, the
    /// new shape and, for each new axis, the old axes it covers.
    static func merge(_ e: Expr, shape: [Int], boundaries: Set<Int>) -> (Expr, [Int], [[Int]]) {
        guard !shape.isEmpty else { return (e, shape, []) }
        let iotas = iotaAxes(e)
        let vs = views(e)
        func fullMask(_ v: View, _ a: Int) -> Bool { v.mask.map { $0[a] == 0..<v.shape[a] } ?? true }
        var groups: [[Int]] = [[0]]
        for a in 1..<shape.count {
            let g = groups[groups.count - 1]
            var ok = !boundaries.contains(a) && !iotas.contains(a) && !g.contains(where: iotas.contains)
            if ok {
                for v in vs {
                    if !fullMask(v, a) || g.contains(where: { !fullMask(v, $0) }) { ok = false; break }
                    // The group's innermost non-unit axis must step exactly over axis a.
                    guard shape[a] != 1, let inner = g.last(where: { shape[$0] != 1 }) else { continue }
                    if v.strides[inner] != v.strides[a] * shape[a] { ok = false; break }
                }
            }
            if ok { groups[groups.count - 1].append(a) } else { groups.append([a]) }
        }
        if groups.count == shape.count { return (e, shape, groups) }
        let newShape = groups.map { $0.reduce(1) { $0 * shape[$1] } }
        var oldToNew = [Int](repeating: 0, count: shape.count)
        for (gi, g) in groups.enumerated() { for a in g { oldToNew[a] = gi } }
        let rewritten = e.mapLeaves { leaf in
            switch leaf {
            case .load(let o, let v, let d):
                var strides: [Int] = [], mask: [Range<Int>] = []
                for g in groups {
                    let inner = g.last { shape[$0] != 1 } ?? g[g.count - 1]
                    strides.append(v.strides[inner])
                    mask.append(v.mask.map { g.count == 1 ? $0[g[0]] : 0..<newShape[strides.count - 1] } ?? 0..<0)
                }
                return .load(operand: o, view: View(shape: newShape, strides: strides, offset: v.offset,
                                                    mask: v.mask == nil ? nil : mask), dtype: d)
            case .iota(let a, let d): return .iota(axis: oldToNew[a], d)
            case .constant, .accumulator, .unary, .binary, .compare, .select, .cast, .randomUniform: return leaf
            }
        } ?? e
        return (rewritten, newShape, groups)
    }
}
