import Interpreter
import MetaIR

/// Combines partial meta-gradients across the processes of a data-parallel run.
///
/// Runtime links no communication library: module `Distributed` implements this over MPI,
/// and `SingleProcessReducer` is the one-process case (tests, and what the MPI form reduces
/// to with one rank).
public protocol GradientReducer: AnyObject {
    /// This process's index, `0..<size`.
    var rank: Int { get }
    /// The number of processes.
    var size: Int { get }
    /// Replaces `buffer` on every process by its element-wise sum over all processes.
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    /// Replaces `buffer` on every process by rank `root`'s.
    func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, from root: Int) throws
    /// Replaces `values` on every process by rank `root`'s.
    func broadcast(_ values: UnsafeMutableBufferPointer<Int64>, from root: Int) throws
}

/// The reducer of a one-process run: every collective is the identity.
public final class SingleProcessReducer: GradientReducer {
    /// Creates the reducer.
    public init() {}
    /// Always 0.
    public var rank: Int { 0 }
    /// Always 1.
    public var size: Int { 1 }
    /// Leaves `buffer` as it is.
    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {}
    /// Leaves `buffer` as it is.
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, from root: Int) throws {}
    /// Leaves `values` as they are.
    public func broadcast(_ values: UnsafeMutableBufferPointer<Int64>, from root: Int) throws {}
}

/// Which tasks of a meta-batch a process takes: rank `r` of `P` takes tasks `r, r+P, …`.
public enum MetaBatchShare {
    /// The task indices of rank `rank` of `size` in a meta-batch of `metaBatch` tasks; throws
    /// when a rank would get none (fewer tasks than processes).
    public static func tasks(rank: Int, size: Int, metaBatch: Int) throws -> [Int] {
        guard size >= 1, rank >= 0, rank < size else {
            throw DistributedError.configuration("rank \(rank) is not in 0..<\(size)")
        }
        guard metaBatch >= size else {
            throw DistributedError.configuration(
                "the meta-batch has \(metaBatch) tasks but there are \(size) processes; every process needs at least one task (use --meta-batch \(size) or more, or fewer processes)")
        }
        return Array(stride(from: rank, to: metaBatch, by: size))
    }
}

/// A data-parallel run cannot go on.
public enum DistributedError: Error, CustomStringConvertible, Equatable {
    /// The run's setup is inconsistent (tasks, processes, step signatures).
    case configuration(String)
    /// A collective operation failed.
    case communication(String)

    /// Human-readable message.
    public var description: String {
        switch self {
        case .configuration(let m): return "distributed training: \(m)"
        case .communication(let m): return "distributed training: communication failed: \(m)"
        }
    }
}

extension Executable {
    /// Copies the `f32` output, input or parameter `name` into `destination` (its element
    /// count must match).
    public func readFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        if let c = self as? CompiledProgram {
            let b: Int
            if let o = c.outputBuffers[name] { b = o.buffer } else if let i = c.inputBuffers[name] ?? c.parameterBuffers[name] {
                b = i
            } else {
                throw ProgramError.unknownName(name)
            }
            let info = c.program.buffers[b]
            guard info.dtype == .f32, info.count == destination.count, let base = destination.baseAddress else {
                throw ProgramError.wrongType(name: name, expected: TensorType(.f32, [destination.count]),
                                             got: TensorType(info.dtype, [info.count]))
            }
            base.update(from: c.pointer(b).assumingMemoryBound(to: Float.self), count: info.count)
            return
        }
        let v = try value(name)
        guard v.data.count == destination.count else {
            throw ProgramError.wrongType(name: name, expected: TensorType(.f32, [destination.count]), got: v.type)
        }
        for (i, x) in v.data.enumerated() { destination[i] = Float(x) }
    }

    /// Writes the `f32` input or parameter `name` from `source`.
    public func writeFloats(_ name: String, from source: UnsafeBufferPointer<Float>) throws {
        if let c = self as? CompiledProgram {
            try c.set(name, floats: source)
            return
        }
        let shape = graph.inputs.first { $0.name == name }.map { graph.nodes[$0.node].type }
            ?? graph.parameters.first { $0.name == name }.map { graph.nodes[$0.node].type }
        guard let type = shape else { throw ProgramError.unknownName(name) }
        try set(name, HostTensor(type, source.map(Double.init)))
    }
}
