import Foundation
import MetaIR

/// Per-op evaluation rules. One exhaustive switch: adding an `Op` case makes the compiler ask
/// for its definition here.
enum Kernels {
    static func evaluate(_ n: Node, _ x: [HostTensor]) -> HostTensor {
        let t = n.type
        switch n.op {
        case .input, .parameter:
            return HostTensor(t, repeating: 0)  // handled by the caller
        case .constant(let c):
            return HostTensor(t, repeating: t.dtype == .i32 ? c.rounded(.towardZero) : c)
        case .iota(let axis):
            let st = t.shape.strides, d = t.shape[axis]
            return HostTensor(t, (0..<t.shape.count).map { Double(($0 / st[axis]) % max(d, 1)) })
        case .unary(let u):
            return HostTensor(t, x[0].data.map { unary(u, $0) })
        case .binary(let b):
            let isInt = t.dtype == .i32
            return HostTensor(t, zip(x[0].data, x[1].data).map { binary(b, $0, $1, isInt: isInt) })
        case .compare(let c):
            return HostTensor(t, zip(x[0].data, x[1].data).map { compare(c, $0, $1) ? 1 : 0 })
        case .randomUniform:
            return HostTensor(t, zip(x[0].data, x[1].data).map { ScalarSemantics.randomUniform(seed: $0, counter: $1) })
        case .gather:
            return gatherRows(x[0], indices: x[1], result: t)
        case .scatterAdd:
            return scatterAddRows(x[0], indices: x[1], result: t)
        case .select:
            return HostTensor(t, (0..<t.shape.count).map { x[0].data[$0] != 0 ? x[1].data[$0] : x[2].data[$0] })
        case .reduce(let kind, let axes, _):
            return reduce(x[0], kind: kind, axes: axes, result: t)
        case .argmax(let axis):
            return argmax(x[0], axis: axis, result: t)
        case .matmul:
            return matmul(x[0], x[1], result: t)
        case .conv2d(let s, let p):
            return Convolution.forward(x[0], x[1], stride: s, padding: p, result: t)
        case .conv2dInputGrad(let s, let p):
            return Convolution.inputGrad(x[0], x[1], stride: s, padding: p, result: t)
        case .conv2dFilterGrad(let s, let p):
            return Convolution.filterGrad(x[0], x[1], stride: s, padding: p, result: t)
        case .reshape, .stopGradient:
            return HostTensor(t, x[0].data)
        case .permute(let perm):
            let inStrides = x[0].shape.strides
            return gather(t, from: x[0]) { idx in zip(perm, idx).reduce(0) { $0 + inStrides[$1.0] * $1.1 } }
        case .broadcast:
            let inShape = x[0].shape, inStrides = inShape.strides
            return gather(t, from: x[0]) { idx in
                var off = 0
                for a in idx.indices where inShape[a] != 1 { off += inStrides[a] * idx[a] }
                return off
            }
        case .slice(let start, _):
            let inStrides = x[0].shape.strides
            return gather(t, from: x[0]) { idx in idx.indices.reduce(0) { $0 + inStrides[$1] * (idx[$1] + start[$1]) } }
        case .pad(let low, _):
            let inShape = x[0].shape, inStrides = inShape.strides
            var out = HostTensor(t, repeating: 0)
            forEachIndex(t.shape) { flat, idx in
                var off = 0
                for a in idx.indices {
                    let j = idx[a] - low[a]
                    if j < 0 || j >= inShape[a] { return }
                    off += inStrides[a] * j
                }
                out.data[flat] = x[0].data[off]
            }
            return out
        case .concat(let axis):
            var out = HostTensor(t, repeating: 0)
            var base = 0
            let outStrides = t.shape.strides
            for part in x {
                forEachIndex(part.shape) { flat, idx in
                    var off = 0
                    for a in idx.indices { off += outStrides[a] * (a == axis ? idx[a] + base : idx[a]) }
                    out.data[off] = part.data[flat]
                }
                base += part.shape[axis]
            }
            return out
        case .oneHot(let depth):
            // NOTE: an index outside 0..<depth gives an all-zero row (as in TensorFlow's one_hot).
            var out = HostTensor(t, repeating: 0)
            for (i, v) in x[0].data.enumerated() where v >= 0 && Int(v) < depth {
                out.data[i * depth + Int(v)] = 1
            }
            return out
        case .cast:
            return HostTensor(t, x[0].data.map { cast($0, to: t.dtype) })
        }
    }

    static func unary(_ u: UnaryOp, _ a: Double) -> Double { ScalarSemantics.unary(u, a) }

    static func binary(_ b: BinaryOp, _ a: Double, _ c: Double, isInt: Bool) -> Double {
        ScalarSemantics.binary(b, a, c, isInt: isInt)
    }

    static func compare(_ c: CompareOp, _ a: Double, _ b: Double) -> Bool { ScalarSemantics.compare(c, a, b) }

    static func cast(_ v: Double, to dtype: DType) -> Double { ScalarSemantics.cast(v, to: dtype) }

    /// Calls `body(flatIndex, multiIndex)` for every element of `shape` in row-major order.
    static func forEachIndex(_ shape: Shape, _ body: (Int, [Int]) -> Void) {
        let n = shape.count
        guard n > 0 else { return }
        var idx = [Int](repeating: 0, count: shape.rank)
        for flat in 0..<n {
            body(flat, idx)
            var a = shape.rank - 1
            while a >= 0 {
                idx[a] += 1
                if idx[a] < shape[a] { break }
                idx[a] = 0
                a -= 1
            }
        }
    }

    static func gather(_ t: TensorType, from x: HostTensor, _ offset: ([Int]) -> Int) -> HostTensor {
        var out = HostTensor(t, repeating: 0)
        forEachIndex(t.shape) { flat, idx in out.data[flat] = x.data[offset(idx)] }
        return out
    }

    static func reduce(_ x: HostTensor, kind: ReduceOp, axes: [Int], result t: TensorType) -> HostTensor {
        let keptAxes = (0..<x.shape.rank).filter { !axes.contains($0) }
        let keptShape = Shape(keptAxes.map { x.shape[$0] })
        let keptStrides = keptShape.strides
        var acc = [Double](repeating: kind == .sum ? 0 : -.infinity, count: keptShape.count)
        forEachIndex(x.shape) { flat, idx in
            var o = 0
            for (k, a) in keptAxes.enumerated() { o += keptStrides[k] * idx[a] }
            let v = x.data[flat]
            switch kind {
            case .sum: acc[o] += v
            case .max: if v > acc[o] || v.isNaN { acc[o] = v }
            }
        }
        return HostTensor(t, acc)
    }

    static func argmax(_ x: HostTensor, axis: Int, result t: TensorType) -> HostTensor {
        let d = x.shape[axis]
        let inner = x.shape.dims[(axis + 1)...].reduce(1, *)
        let outer = x.shape.dims[..<axis].reduce(1, *)
        var out = [Double](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for i in 0..<inner {
                var best = 0
                var bestV = -Double.infinity
                for k in 0..<d {
                    let v = x.data[(o * d + k) * inner + i]
                    if v > bestV { bestV = v; best = k }
                }
                out[o * inner + i] = Double(best)
            }
        }
        return HostTensor(t, out)
    }

    static func matmul(_ a: HostTensor, _ b: HostTensor, result t: TensorType) -> HostTensor {
        let r = a.shape.rank
        let m = a.shape[r - 2], k = a.shape[r - 1], n = b.shape[r - 1]
        let batch = a.shape.dims[..<(r - 2)].reduce(1, *)
        var out = [Double](repeating: 0, count: batch * m * n)
        for bi in 0..<batch {
            let ao = bi * m * k, bo = bi * k * n, oo = bi * m * n
            for i in 0..<m {
                for p in 0..<k {
                    let av = a.data[ao + i * k + p]
                    for j in 0..<n { out[oo + i * n + j] += av * b.data[bo + p * n + j] }
                }
            }
        }
        return HostTensor(t, out)
    }
}
