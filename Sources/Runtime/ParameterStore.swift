import Foundation
import Interpreter
import MetaIR

/// The values of a step's parameters (model weights, learned rates, optimiser state).
public struct ParameterStore: Equatable {
    /// Specs in declaration order.
    public private(set) var specs: [ParameterSpec]
    /// Current values by name.
    public private(set) var values: [String: HostTensor]

    /// Fresh values drawn from each spec's initialiser with `seed`, after checking that they
    /// fit in `memoryLimit` (they are held as `Double`s).
    public init(specs: [ParameterSpec], seed: UInt64, memoryLimit: MemoryLimit) throws {
        try memoryLimit.check("the parameter values", parts: [("parameters", Self.bytesNeeded(for: specs))])
        self.init(specs: specs, seed: seed)
    }

    /// Bytes the values of `specs` take in a store, saturating at `Int.max`.
    public static func bytesNeeded(for specs: [ParameterSpec]) -> Int {
        MemoryLimit.sum(specs.map { MemoryLimit.bytes(of: $0.type, elementSize: MemoryLayout<Double>.stride) })
    }

    /// Fresh values drawn from each spec's initialiser with `seed` (no size check: for
    /// specs already checked, e.g. by compiling the step that uses them).
    public init(specs: [ParameterSpec], seed: UInt64) {
        self.specs = specs
        var rng = SeededRandom(seed: seed)
        var values: [String: HostTensor] = [:]
        for s in specs {
            let n = s.type.shape.count
            var d = [Double](repeating: 0, count: n)
            switch s.initializer {
            case .zeros: break
            case .ones: d = [Double](repeating: 1, count: n)
            case .constant(let c): d = [Double](repeating: c, count: n)
            case .glorotUniform(let fanIn, let fanOut):
                let a = (6.0 / Double(max(fanIn + fanOut, 1))).squareRoot()
                for i in 0..<n { d[i] = rng.uniform(in: -a...a) }
            case .normal(let std): for i in 0..<n { d[i] = rng.normal() * std }
            case .uniform(let lo, let hi): for i in 0..<n { d[i] = rng.uniform(in: lo...hi) }
            }
            values[s.name] = HostTensor(s.type, d.map { Double(Float($0)) })
        }
        self.values = values
    }

    /// Overwrites one value (type must match).
    public mutating func set(_ name: String, _ value: HostTensor) throws {
        guard let old = values[name] else { throw CheckpointError(path: name, message: "no such parameter") }
        guard old.shape == value.shape else {
            throw CheckpointError(path: name, message: "shape \(value.shape) does not match \(old.shape)")
        }
        values[name] = HostTensor(old.type, value.data.map { Double(Float($0)) })
    }

    /// Every value is finite.
    public var isFinite: Bool { values.values.allSatisfy { $0.data.allSatisfy(\.isFinite) } }

    /// Writes all values as a safetensors file, atomically.
    public func save(to url: URL, metadata: [String: String]) throws {
        var tensors: [String: (shape: Shape, values: [Float])] = [:]
        for (n, v) in values { tensors[n] = (v.shape, v.data.map { Float($0) }) }
        try SafeTensors.writeAtomically(try SafeTensors.encode(tensors, metadata: metadata), to: url)
    }

    /// Loads values saved by `save`; every spec must be present with its shape.
    public mutating func load(from url: URL) throws -> [String: String] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CheckpointError(path: url.path, message: "cannot read (\(error.localizedDescription))")
        }
        let (tensors, metadata) = try SafeTensors.decode(data, path: url.path)
        var next = values
        for s in specs {
            guard let t = tensors[s.name] else {
                throw CheckpointError(path: url.path, message: "missing tensor \"\(s.name)\"")
            }
            guard t.shape == s.type.shape else {
                throw CheckpointError(path: url.path, message: "tensor \"\(s.name)\" has shape \(t.shape), expected \(s.type.shape)")
            }
            next[s.name] = HostTensor(s.type, t.values.map(Double.init))
        }
        values = next
        return metadata
    }

    /// Reads only the metadata of a checkpoint.
    public static func metadata(of url: URL) throws -> [String: String] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CheckpointError(path: url.path, message: "cannot read (\(error.localizedDescription))")
        }
        return try SafeTensors.decode(data, path: url.path).metadata
    }
}
