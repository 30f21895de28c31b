import Foundation

/// Random small rotations and translations of each image, as Santoro et al. (2016) augment
/// Omniglot for MANN ("randomly translating and rotating character images"), on top of the
/// new classes made by quarter turns.
///
/// Each image is rotated about its centre by an angle drawn uniformly from
/// `[−maxDegrees, maxDegrees]` and shifted by whole-or-fractional pixel offsets drawn
/// uniformly from `[−maxShift, maxShift]` on each axis, sampled bilinearly; pixels that fall
/// outside the source read 0 (no ink, the Omniglot background).
public struct ImageJitter: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Largest rotation, in degrees either way.
    public var maxDegrees: Double
    /// Largest translation, in pixels of the stored image, either way on each axis.
    public var maxShift: Double

    /// Creates a jitter.
    public init(maxDegrees: Double, maxShift: Double) {
        self.maxDegrees = maxDegrees
        self.maxShift = maxShift
    }

    /// `DEG:PX`, e.g. `10:2`.
    public var description: String { "\(Self.format(maxDegrees)):\(Self.format(maxShift))" }

    private static func format(_ v: Double) -> String {
        v == v.rounded() ? String(Int(v)) : String(v)
    }

    /// Parses `DEG:PX` (both finite and ≥ 0; e.g. `10:2`).
    /// - Throws: ``DataError`` `.invalidArgument` for anything else.
    public static func parse(_ text: String) throws -> ImageJitter {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let d = Double(parts[0]), let s = Double(parts[1]), d.isFinite, s.isFinite, d >= 0, s >= 0,
              d <= 180 else {
            throw DataError(.invalidArgument, path: "", "jitter '\(text)' is not DEG:PX with 0 ≤ DEG ≤ 180 and PX ≥ 0 (e.g. 10:2)")
        }
        return ImageJitter(maxDegrees: d, maxShift: s)
    }

    /// Draws one transform: the angle in radians and the shift `(dx, dy)`.
    public func draw(_ rng: inout Xoshiro256) -> (radians: Double, dx: Double, dy: Double) {
        let a = maxDegrees > 0 ? rng.nextDouble(in: -maxDegrees, maxDegrees) * .pi / 180 : 0
        let dx = maxShift > 0 ? rng.nextDouble(in: -maxShift, maxShift) : 0
        let dy = maxShift > 0 ? rng.nextDouble(in: -maxShift, maxShift) : 0
        return (a, dx, dy)
    }
}

extension ImageOps {
    /// Rotates a row-major `width`×`height` image in place counter-clockwise by `radians`
    /// about its centre, then shifts it by `(dx, dy)` pixels (right, down): output pixel
    /// `p` reads the source at `R(−radians)·(p − centre − shift) + centre`, bilinearly, with
    /// 0 outside the source. `scratch` holds the source copy (reused across calls, so a
    /// loader jittering every image of a batch allocates once).
    public static func affine(_ image: UnsafeMutablePointer<Float>, width: Int, height: Int,
                              radians: Double, dx: Double, dy: Double, scratch: inout [Float]) {
        let n = width * height
        guard n > 0, radians != 0 || dx != 0 || dy != 0 else { return }
        if scratch.count != n { scratch = [Float](repeating: 0, count: n) }
        scratch.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: image, count: n) }
        let source = scratch
        let (cx, cy) = (Double(width - 1) / 2, Double(height - 1) / 2)
        // Rows go down, so a counter-clockwise turn on screen is a clockwise one in (x, y).
        let (c, s) = (cos(radians), sin(radians))
        func at(_ x: Int, _ y: Int) -> Double {
            x >= 0 && x < width && y >= 0 && y < height ? Double(source[y * width + x]) : 0
        }
        for y in 0..<height {
            for x in 0..<width {
                let (ux, uy) = (Double(x) - cx - dx, Double(y) - cy - dy)
                let sx = c * ux - s * uy + cx
                let sy = s * ux + c * uy + cy
                let (x0, y0) = (Int(sx.rounded(.down)), Int(sy.rounded(.down)))
                let (fx, fy) = (sx - Double(x0), sy - Double(y0))
                let top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx
                let bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx
                image[y * width + x] = Float(top * (1 - fy) + bottom * fy)
            }
        }
    }
}
