import Foundation
import MetaIR

/// A tensor value held in host memory by the interpreter.
///
/// Elements are stored as `Double` whatever the element type: `f32` values are kept rounded to
/// `Float` (unless the interpreter runs in `float64` precision), `i32` and `bool` values are
/// exact integers (`bool` as 0/1).
public struct HostTensor: Hashable, Sendable, CustomStringConvertible {
    /// Element type and shape.
    public var type: TensorType
    /// Row-major elements.
    public var data: [Double]

    /// Creates a tensor; `data.count` must equal the shape's element count.
    public init(_ type: TensorType, _ data: [Double]) {
        precondition(data.count == type.shape.count, "HostTensor: \(data.count) elements for \(type)")
        self.type = type
        self.data = data
    }

    /// Creates an `f32` tensor.
    public init(shape: Shape, _ data: [Double]) {
        self.init(TensorType(.f32, shape), data)
    }

    /// A tensor filled with `value`.
    public init(_ type: TensorType, repeating value: Double) {
        self.init(type, [Double](repeating: value, count: type.shape.count))
    }

    /// Shape shortcut.
    public var shape: Shape { type.shape }

    /// The single element of a scalar (or the first element).
    public var scalar: Double { data.first ?? .nan }

    /// Short text: type, then up to 8 values.
    public var description: String {
        let shown = data.prefix(8).map { String(format: "%.6g", $0) }.joined(separator: ", ")
        return "\(type) [\(shown)\(data.count > 8 ? ", …" : "")]"
    }
}

/// Deterministic pseudo-random values (floats, normals, tensors) for seeded inputs and tests,
/// drawn from MetaIR's `SplitMix64`.
public struct SeededRandom: Sendable {
    private var bits: SplitMix64

    /// Creates a generator from a seed.
    ///
    /// The stream skips SplitMix64's first output for `seed`: recorded seeded values
    /// (checkpoints, test expectations) were made that way.
    public init(seed: UInt64) { bits = SplitMix64(seed: seed &+ SplitMix64.increment) }

    /// Next 64 random bits.
    public mutating func next() -> UInt64 { bits.next() }

    /// Uniform in `[0, 1)`.
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in `range`.
    public mutating func uniform(in range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * uniform()
    }

    /// Standard normal (Box–Muller).
    public mutating func normal() -> Double {
        let u1 = max(uniform(), 1e-300), u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// Uniform integer in `0..<n`.
    public mutating func int(below n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }

    /// A tensor of the given type with random contents: normal for floats (scaled by
    /// `scale`), uniform in `0..<intBound` for `i32`, fair coin for `bool`.
    public mutating func tensor(_ type: TensorType, scale: Double = 1, intBound: Int = 5) -> HostTensor {
        let n = type.shape.count
        var d = [Double](repeating: 0, count: n)
        for i in 0..<n {
            switch type.dtype {
            case .f32: d[i] = Double(Float(normal() * scale))
            case .f64: d[i] = normal() * scale
            case .i32: d[i] = Double(int(below: intBound))
            case .bool: d[i] = Double(int(below: 2))
            }
        }
        return HostTensor(type, d)
    }
}
