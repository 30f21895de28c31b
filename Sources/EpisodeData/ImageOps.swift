import Foundation

/// Pixel operations used to turn decoded images into network inputs: ink conversion,
/// exact area-averaging resize, and quarter-turn rotations.
public enum ImageOps {
    /// Converts a gray image to "ink" values `1 - gray/255`: black strokes become `1.0`,
    /// white background `0.0`.
    public static func inkValues(_ image: GrayImage) -> [Float] {
        let n = image.pixels.count
        return [Float](unsafeUninitializedCapacity: n) { out, initialized in
            image.pixels.withUnsafeBufferPointer { src in
                guard let s = src.baseAddress, let d = out.baseAddress else { return }
                for i in 0..<n { d[i] = 1 - Float(s[i]) / 255 }
            }
            initialized = n
        }
    }

    /// Resizes a row-major single-channel image by area averaging (an exact box filter).
    ///
    /// Output pixel `(y, x)` is the mean of the input over the rectangle it covers,
    /// `[x*W/w, (x+1)*W/w) × [y*H/h, (y+1)*H/h)`, with partially covered input pixels
    /// weighted by the covered fraction; this is exact for non-integer ratios such as
    /// 105 → 28 (3.75), and reduces to plain block means for integer ratios.
    ///
    /// - Throws: ``DataError`` `.invalidArgument` if sizes are not positive or `src` has the wrong count.
    public static func resizeArea(_ src: [Float], width: Int, height: Int,
                                  toWidth: Int, toHeight: Int) throws -> [Float] {
        guard width > 0, height > 0, toWidth > 0, toHeight > 0, src.count == width * height else {
            throw DataError(.invalidArgument, path: "",
                            "cannot resize \(src.count) values as \(width)x\(height) to \(toWidth)x\(toHeight)")
        }
        let wx = BoxWeights(from: width, to: toWidth)
        let wy = BoxWeights(from: height, to: toHeight)
        // Horizontal pass (height x toWidth), then vertical pass (toHeight x toWidth).
        var tmp = [Float](repeating: 0, count: height * toWidth)
        var out = [Float](repeating: 0, count: toHeight * toWidth)
        src.withUnsafeBufferPointer { sBuf in
            tmp.withUnsafeMutableBufferPointer { tBuf in
                out.withUnsafeMutableBufferPointer { oBuf in
                    guard let s = sBuf.baseAddress, let t = tBuf.baseAddress, let o = oBuf.baseAddress else { return }
                    wx.weights.withUnsafeBufferPointer { wBuf in
                        guard let w = wBuf.baseAddress else { return }
                        for y in 0..<height {
                            let row = s + y * width
                            for x in 0..<toWidth {
                                var acc: Float = 0
                                let first = wx.first[x], k0 = wx.offset[x], k1 = wx.offset[x + 1]
                                for k in k0..<k1 { acc += row[first + k - k0] * w[k] }
                                t[y * toWidth + x] = acc
                            }
                        }
                    }
                    wy.weights.withUnsafeBufferPointer { wBuf in
                        guard let w = wBuf.baseAddress else { return }
                        for y in 0..<toHeight {
                            let dst = o + y * toWidth
                            let first = wy.first[y], k0 = wy.offset[y], k1 = wy.offset[y + 1]
                            for k in k0..<k1 {
                                let srcRow = t + (first + k - k0) * toWidth
                                let weight = w[k]
                                for x in 0..<toWidth { dst[x] += srcRow[x] * weight }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Box-filter weights from `n` input samples to `m` output samples, stored flat: output
    /// `j` reads inputs `first[j] ..< first[j] + (offset[j+1] - offset[j])` with weights
    /// `weights[offset[j] ..< offset[j+1]]` (normalised to sum to 1).
    struct BoxWeights {
        var first: [Int] = []
        var offset: [Int] = [0]
        var weights: [Float] = []

        init(from n: Int, to m: Int) {
            // Work in units of 1/m input pixels: input i spans [i*m, (i+1)*m), output j spans
            // [j*n, (j+1)*n). Overlaps are integers, so the weights are exact fractions of n.
            for j in 0..<m {
                let lo = j * n, hi = (j + 1) * n
                let start = lo / m
                first.append(start)
                for i in start...min(n - 1, (hi - 1) / m) {
                    let overlap = min((i + 1) * m, hi) - max(i * m, lo)
                    weights.append(Float(overlap) / Float(n))
                }
                offset.append(weights.count)
            }
        }
    }

    /// Normalises a rotation in degrees to a number of counter-clockwise quarter turns (0...3).
    /// - Throws: ``DataError`` `.invalidArgument` unless `degrees` is a multiple of 90.
    public static func quarterTurns(degrees: Int) throws -> Int {
        guard degrees % 90 == 0 else {
            throw DataError(.invalidArgument, path: "", "rotation \(degrees)° is not a multiple of 90°")
        }
        return ((degrees / 90) % 4 + 4) % 4
    }

    /// Rotates a row-major `width`×`height` image counter-clockwise by `degrees`
    /// (a multiple of 90; same convention as `numpy.rot90(img, k=degrees/90)`).
    ///
    /// - Returns: the rotated pixels and their width and height (swapped for 90° and 270°).
    /// - Throws: ``DataError`` `.invalidArgument` for other angles or a wrong pixel count.
    public static func rotate<T>(_ src: [T], width: Int, height: Int,
                                 degrees: Int) throws -> (pixels: [T], width: Int, height: Int) {
        guard src.count == width * height else {
            throw DataError(.invalidArgument, path: "",
                            "cannot rotate \(src.count) values as \(width)x\(height)")
        }
        let turns = try quarterTurns(degrees: degrees)
        let (ow, oh) = turns % 2 == 0 ? (width, height) : (height, width)
        var out = src
        for r in 0..<oh {
            for c in 0..<ow {
                out[r * ow + c] = src[sourceIndex(row: r, col: c, width: width, height: height, turns: turns)]
            }
        }
        return (out, ow, oh)
    }

    /// Index into the unrotated image that feeds output `(row, col)` after `turns`
    /// counter-clockwise quarter turns. `width`/`height` are those of the source.
    @inline(__always)
    static func sourceIndex(row r: Int, col c: Int, width w: Int, height h: Int, turns: Int) -> Int {
        switch turns {
        case 1: return c * w + (w - 1 - r)                   // out is w x h (rows = w)
        case 2: return (h - 1 - r) * w + (w - 1 - c)
        case 3: return (h - 1 - c) * w + r
        default: return r * w + c
        }
    }

    /// Copies `count = width*height` values from `src` to `dst`, rotating counter-clockwise by
    /// `turns` quarter turns (square images only when `turns` is odd).
    @inline(__always)
    static func copyRotated(_ src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>,
                            width: Int, height: Int, turns: Int) {
        if turns == 0 {
            dst.update(from: src, count: width * height)
            return
        }
        let w = width, h = height
        switch turns {
        case 1:  // out is h wide, w tall: out[r][c] = in[c][w-1-r]
            for r in 0..<w {
                let o = dst + r * h
                let column = src + (w - 1 - r)
                for c in 0..<h { o[c] = column[c * w] }
            }
        case 2:  // out[r][c] = in[h-1-r][w-1-c]
            for r in 0..<h {
                let o = dst + r * w
                let row = src + (h - 1 - r) * w + (w - 1)
                for c in 0..<w { o[c] = row[-c] }
            }
        default:  // 3 turns; out is h wide, w tall: out[r][c] = in[h-1-c][r]
            for r in 0..<w {
                let o = dst + r * h
                let column = src + (h - 1) * w + r
                for c in 0..<h { o[c] = column[-c * w] }
            }
        }
    }
}
