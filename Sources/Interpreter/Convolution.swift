import MetaIR

/// The three convolution primitives, written as the same loop nest so their adjoint
/// relationship is visible: for every output position `(n,o,i,j)`, filter tap `(c,u,v)` and
/// input position `(n,c,i*s+u-p, j*s+v-p)` inside the image,
/// `y[n,o,i,j] += x[n,c,h,w] * w[o,c,u,v]`.
/// `inputGrad` scatters `dy * w` into `dx`; `filterGrad` accumulates `x * dy` into `dw`.
enum Convolution {
    private struct Geometry {
        let n, c, h, w, o, kh, kw, ho, wo: Int
        init(x: Shape, w f: Shape, y: Shape) {
            n = x[0]; c = x[1]; h = x[2]; w = x[3]
            o = f[0]; kh = f[2]; kw = f[3]
            ho = y[2]; wo = y[3]
        }
    }

    private static func loop(_ g: Geometry, stride s: Int, padding p: Int,
                             _ body: (_ xi: Int, _ wi: Int, _ yi: Int) -> Void) {
        for b in 0..<g.n {
            for oc in 0..<g.o {
                for i in 0..<g.ho {
                    for j in 0..<g.wo {
                        let yi = ((b * g.o + oc) * g.ho + i) * g.wo + j
                        for ic in 0..<g.c {
                            for u in 0..<g.kh {
                                let hh = i * s + u - p
                                if hh < 0 || hh >= g.h { continue }
                                for v in 0..<g.kw {
                                    let ww = j * s + v - p
                                    if ww < 0 || ww >= g.w { continue }
                                    body(((b * g.c + ic) * g.h + hh) * g.w + ww, ((oc * g.c + ic) * g.kh + u) * g.kw + v, yi)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    static func forward(_ x: HostTensor, _ w: HostTensor, stride: Int, padding: Int, result t: TensorType) -> HostTensor {
        var y = [Double](repeating: 0, count: t.shape.count)
        loop(Geometry(x: x.shape, w: w.shape, y: t.shape), stride: stride, padding: padding) { xi, wi, yi in
            y[yi] += x.data[xi] * w.data[wi]
        }
        return HostTensor(t, y)
    }

    static func inputGrad(_ dy: HostTensor, _ w: HostTensor, stride: Int, padding: Int, result t: TensorType) -> HostTensor {
        var dx = [Double](repeating: 0, count: t.shape.count)
        loop(Geometry(x: t.shape, w: w.shape, y: dy.shape), stride: stride, padding: padding) { xi, wi, yi in
            dx[xi] += dy.data[yi] * w.data[wi]
        }
        return HostTensor(t, dx)
    }

    static func filterGrad(_ x: HostTensor, _ dy: HostTensor, stride: Int, padding: Int, result t: TensorType) -> HostTensor {
        var dw = [Double](repeating: 0, count: t.shape.count)
        loop(Geometry(x: x.shape, w: t.shape, y: dy.shape), stride: stride, padding: padding) { xi, wi, yi in
            dw[wi] += x.data[xi] * dy.data[yi]
        }
        return HostTensor(t, dw)
    }
}
