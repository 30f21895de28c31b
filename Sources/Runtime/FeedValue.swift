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
    /// Copies `value` into input `name` without a `Double` round trip.
    public func feed(_ name: String, _ value: FeedValue) throws { try value.write(name, into: self) }

    /// The first of `outputs` (f32) that holds a NaN or an infinity.
    public func firstNonFinite(among outputs: [String]) throws -> String? {
        for name in outputs {
            guard let o = outputBuffers[name] else { throw ProgramError.unknownName(name) }
            guard program.buffers[o.buffer].dtype == .f32 else { continue }
            let p = pointer(o.buffer).assumingMemoryBound(to: Float.self)
            for i in 0..<program.buffers[o.buffer].count where !p[i].isFinite { return name }
        }
        return nil
    }

    /// Copies each update's output buffer over its parameter's.
    public func apply(_ updates: [StepSignature.Update]) throws {
        for u in updates {
            guard let b = parameterBuffers[u.parameter] else { throw ProgramError.unknownName(u.parameter) }
            guard let o = outputBuffers[u.output] else { throw ProgramError.unknownName(u.output) }
            let bytes = program.buffers[b].count * program.buffers[b].dtype.byteSize
            guard program.buffers[o.buffer].count * program.buffers[o.buffer].dtype.byteSize == bytes else {
                throw ProgramError.wrongType(name: u.output, expected: feedTypes[u.parameter] ?? o.type, got: o.type)
            }
            pointer(b).copyMemory(from: pointer(o.buffer), byteCount: bytes)
        }
    }
}
