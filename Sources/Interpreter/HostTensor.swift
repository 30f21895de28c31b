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

/// Deterministic pseudo-random numbers (SplitMix64) for seeded inputs and tests.
public struct SeededRandom: Sendable {
    private var state: UInt64

    /// Creates a generator from a seed.
    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    /// Next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

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
