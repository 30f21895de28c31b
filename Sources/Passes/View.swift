import MetaIR

/// How a kernel reads a buffer: a strided window with an optional validity mask per axis
/// (tinygrad's ShapeTracker with one view).
///
/// Element `idx` of the view is buffer element `offset + Σ idx[d]·strides[d]` when every
/// axis is inside its mask, and zero otherwise (the mask is how `pad` and `concat` fuse).
/// Movement ops (`reshape`, `permute`, `broadcast`, `slice`, `pad`) compose into a view
/// without copying whenever the result is still one strided window.
public struct View: Hashable, Sendable, CustomStringConvertible {
    /// Extent of each axis.
    public var shape: [Int]
    /// Element stride of each axis (0 for a broadcast axis).
    public var strides: [Int]
    /// Element offset of index zero (may be negative under padding).
    public var offset: Int
    /// Valid index range per axis, `nil` when every index is valid.
    public var mask: [Range<Int>]?

    /// The row-major view of a whole buffer of `shape`.
    public static func contiguous(_ shape: [Int]) -> View {
        View(shape: shape, strides: Shape(shape).strides, offset: 0, mask: nil)
    }

    /// Creates a view.
    public init(shape: [Int], strides: [Int], offset: Int, mask: [Range<Int>]?) {
        self.shape = shape
        self.strides = strides
        self.offset = offset
        self.mask = mask
    }

    /// Element count.
    public var count: Int { shape.reduce(1, *) }

    /// Row-major, unmasked, starting anywhere.
    public var isContiguous: Bool {
        mask == nil && zip(shape, zip(strides, Shape(shape).strides)).allSatisfy { $0 == 1 || $1.0 == $1.1 }
    }

    /// `f32[…] stride […] +off` for dumps.
    public var description: String {
        var s = "\(shape) strides \(strides)"
        if offset != 0 { s += " +\(offset)" }
        if let mask { s += " mask " + mask.map { "\($0.lowerBound)..<\($0.upperBound)" }.joined(separator: ",") }
        return s
    }

    /// The view seen through `permute(perm)`: result axis `i` is axis `perm[i]`.
    public func permuted(_ perm: [Int]) -> View {
        View(shape: perm.map { shape[$0] }, strides: perm.map { strides[$0] }, offset: offset,
             mask: mask.map { m in perm.map { m[$0] } })
    }

    /// Size-1 axes expanded to `target` (same rank) with stride 0.
    public func broadcast(to target: [Int]) -> View {
        var v = self
        for d in shape.indices where shape[d] == 1 && target[d] != 1 {
            v.strides[d] = 0
            if var m = v.mask {
                // A masked-out size-1 axis stays masked out everywhere.
                m[d] = m[d].isEmpty ? 0..<0 : 0..<target[d]
                v.mask = m
            }
        }
        v.shape = target
        return v
    }

    /// The box `start..<end`.
    public func sliced(start: [Int], end: [Int]) -> View {
        var v = self
        for d in shape.indices {
            v.offset += start[d] * strides[d]
            v.shape[d] = end[d] - start[d]
        }
        if let m = mask {
            v.mask = shape.indices.map { d in
                let lo = max(m[d].lowerBound - start[d], 0), hi = min(m[d].upperBound - start[d], v.shape[d])
                return lo < hi ? lo..<hi : 0..<0
            }
        }
        return v
    }

    /// Zero padding of `low`/`high` elements per axis.
    public func padded(low: [Int], high: [Int]) -> View {
        var v = self
        var m = mask ?? shape.map { 0..<$0 }
        for d in shape.indices {
            v.offset -= low[d] * strides[d]
            v.shape[d] = shape[d] + low[d] + high[d]
            m[d] = (m[d].lowerBound + low[d])..<(m[d].upperBound + low[d])
        }
        v.mask = m
        return v
    }

    /// The same elements in row-major order under a new shape, or `nil` when that is not one
    /// strided window (the caller then materialises the operand first).
    public func reshaped(_ target: [Int]) -> View? {
        if target == shape { return self }
        if mask == nil, isContiguous {
            return View(shape: target, strides: Shape(target).strides, offset: offset, mask: nil)
        }
        // Otherwise group axes: each run of source axes whose element counts match a run of
        // target axes must be mergeable (strides compatible) and carries no mask.
        var out = View(shape: target, strides: [Int](repeating: 0, count: target.count), offset: offset, mask: nil)
        var outMask: [Range<Int>]? = nil
        var i = 0, j = 0
        while i < shape.count || j < target.count {
            // Size-1 axes map to anything.
            if j < target.count, target[j] == 1 {
                out.strides[j] = 0
                j += 1
                continue
            }
            if i < shape.count, shape[i] == 1 {
                if let m = mask, m[i].isEmpty { return nil }
                i += 1
                continue
            }
            guard i < shape.count, j < target.count else { return nil }
            var si = [i], tj = [j]
            var a = shape[i], b = target[j]
            while a != b {
                if a < b {
                    i += 1
                    guard i < shape.count else { return nil }
                    si.append(i)
                    a *= shape[i]
                } else {
                    j += 1
                    guard j < target.count else { return nil }
                    tj.append(j)
                    b *= target[j]
                }
            }
            // Source axes si must be mergeable into one strided axis.
            let group = si.filter { shape[$0] != 1 }
            for (x, y) in zip(group, group.dropFirst()) where strides[x] != strides[y] * shape[y] {
                return nil
            }
            if let m = mask {
                if group.count == 1, tj.filter({ target[$0] != 1 }).count == 1 {
                    // A 1-to-1 axis keeps its mask.
                    let d = group[0], t = tj.first { target[$0] != 1 }!
                    var om = outMask ?? target.map { 0..<$0 }
                    om[t] = m[d]
                    outMask = om
                } else if group.contains(where: { m[$0] != 0..<shape[$0] }) {
                    return nil
                }
            }
            var stride = group.last.map { strides[$0] } ?? 0
            for t in tj.reversed() {
                out.strides[t] = target[t] == 1 ? 0 : stride
                stride *= target[t]
            }
            i += 1
            j += 1
        }
        out.mask = outMask
        return out
    }

    /// A view with one extra trailing axis of `depth` and stride 0 (for `one_hot`).
    public func expandedTrailing(_ depth: Int) -> View {
        View(shape: shape + [depth], strides: strides + [0], offset: offset, mask: mask.map { $0 + [0..<depth] })
    }
}
