import Interpreter
import MetaIR

/// One input value for a step, in the element type the compiled code reads (no `Double`
/// round trip on the hot path).
public enum FeedValue: Sendable {
    /// `f32` elements with their shape.
    case f32([Float], [Int])
    /// `i32` elements with their shape.
    case i32([Int32], [Int])

    /// The same value for the interpreter.
    public var hostTensor: HostTensor {
        switch self {
        case .f32(let v, let s): return HostTensor(TensorType(.f32, Shape(s)), v.map(Double.init))
        case .i32(let v, let s): return HostTensor(TensorType(.i32, Shape(s)), v.map(Double.init))
        }
    }

    /// Copies the value into the program's input `name`.
    public func write(_ name: String, into program: CompiledProgram) throws {
        switch self {
        case .f32(let v, _): try v.withUnsafeBufferPointer { try program.set(name, floats: $0) }
        case .i32(let v, _): try v.withUnsafeBufferPointer { try program.set(name, int32s: $0) }
        }
    }
}

extension CompiledProgram {
    /// The first parameter whose `update.` output holds a NaN or infinity, if any.
    public func firstNonFiniteUpdate() -> String? {
        for (name, _) in parameterBuffers.sorted(by: { $0.key < $1.key }) {
            guard let u = outputBuffers["update.\(name)"], program.buffers[u.buffer].dtype == .f32 else { continue }
            let p = pointer(u.buffer).assumingMemoryBound(to: Float.self)
            for i in 0..<program.buffers[u.buffer].count where !p[i].isFinite { return name }
        }
        return nil
    }
}
