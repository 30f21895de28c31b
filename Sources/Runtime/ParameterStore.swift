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
        let (tensors, metadata) = try Self.decodeCheckpoint(at: url)
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

    /// What ``warmStart(from:including:)`` copied and what it left at the fresh values.
    public struct WarmStart: Equatable, Sendable {
        /// Parameters copied from the checkpoint, in declaration order.
        public var copied: [String]
        /// Parameters the checkpoint has under the same name with another shape.
        public var reshaped: [Reshaped]
        /// Parameters the checkpoint does not have.
        public var missing: [String]

        /// A parameter whose shape differs between the checkpoint and this store.
        public struct Reshaped: Equatable, Sendable {
            /// The parameter's name.
            public var name: String
            /// Its shape in the checkpoint.
            public var checkpoint: Shape
            /// Its shape in this store.
            public var expected: Shape
        }
    }

    /// Starts from another run's checkpoint: every parameter that `include` accepts and
    /// that the checkpoint holds under the same name with the same shape takes the
    /// checkpoint's value; the others keep their fresh values. For transfer between
    /// configurations (5-way to 20-way, another backbone head): the embedding carries over,
    /// the layers whose shapes depend on the new configuration start fresh.
    /// - Throws: ``CheckpointError`` naming the file when it cannot be read or decoded, or
    ///   when no accepted parameter matches (a checkpoint of an unrelated model).
    public mutating func warmStart(from url: URL, including include: (String) -> Bool) throws -> WarmStart {
        let tensors = try Self.decodeCheckpoint(at: url).tensors
        var report = WarmStart(copied: [], reshaped: [], missing: [])
        var next = values
        for s in specs where include(s.name) {
            guard let t = tensors[s.name] else { report.missing.append(s.name); continue }
            guard t.shape == s.type.shape else {
                report.reshaped.append(.init(name: s.name, checkpoint: t.shape, expected: s.type.shape))
                continue
            }
            next[s.name] = HostTensor(s.type, t.values.map(Double.init))
            report.copied.append(s.name)
        }
        guard !report.copied.isEmpty else {
            throw CheckpointError(path: url.path, message: "no parameter of this run is in the checkpoint with the same name and shape (\(report.missing.count) missing, \(report.reshaped.count) with another shape): a checkpoint of another model?")
        }
        values = next
        return report
    }

    /// Reads only the metadata of a checkpoint.
    public static func metadata(of url: URL) throws -> [String: String] {
        try decodeCheckpoint(at: url).metadata
    }

    /// Reads and decodes the checkpoint at `url`.
    /// - Throws: ``CheckpointError`` naming the file when it cannot be read or decoded.
    private static func decodeCheckpoint(at url: URL) throws -> (tensors: [String: (shape: Shape, values: [Float])], metadata: [String: String]) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CheckpointError(path: url.path, message: "cannot read (\(error.localizedDescription))")
        }
        return try SafeTensors.decode(data, path: url.path)
    }
}
