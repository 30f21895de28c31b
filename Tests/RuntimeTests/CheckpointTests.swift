import Foundation
import Interpreter
import MetaIR
import MetaLearning
import Runtime
import Testing

/// Checkpoint files: a damaged file is rejected with a clear error, and interrupted writes
/// never damage the real checkpoint.
@Suite("Checkpoints are validated and written atomically")
struct CheckpointTests {
    static let specs = SinusoidMLP(hidden: 8).parameterSpecs + OuterOptimizer.adam.stateSpecs(for: SinusoidMLP(hidden: 8).parameterSpecs)

    /// A store with non-trivial values in every tensor.
    static func store(seed: UInt64) throws -> ParameterStore {
        var s = ParameterStore(specs: specs, seed: seed)
        var rng = SeededRandom(seed: seed &+ 1)
        for spec in specs { try s.set(spec.name, rng.tensor(spec.type)) }
        return s
    }

    static func expectCheckpointError(loading url: URL, into store: ParameterStore,
                                      sourceLocation: SourceLocation = #_sourceLocation) {
        var s = store
        do {
            _ = try s.load(from: url)
            Issue.record("\(url.lastPathComponent): loaded without error", sourceLocation: sourceLocation)
        } catch let e as CheckpointError {
            #expect(e.path == url.path, sourceLocation: sourceLocation)
            #expect(e.description.contains(url.path), "\(e)", sourceLocation: sourceLocation)
            #expect(e.message.contains("truncated") || e.message.contains("corrupt"), "\(e)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(url.lastPathComponent): expected CheckpointError, got \(error)", sourceLocation: sourceLocation)
        }
        #expect(s == store, "a failed load changed the store", sourceLocation: sourceLocation)
    }

    @Test("a truncated checkpoint is rejected with a CheckpointError naming the file")
    func truncated() throws {
        let dir = try RT.tempDir("ckpt-truncated")
        defer { RT.remove(dir) }
        let url = dir.appendingPathComponent(Trainer.checkpointName)
        let saved = try Self.store(seed: 1)
        try saved.save(to: url, metadata: ["iteration": "7"])
        let bytes = try Data(contentsOf: url)
        let headerLength = bytes.prefix(8).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        #expect(headerLength > 0 && 8 + headerLength < bytes.count)

        // Cut in half, and inside each region: the length prefix, the JSON header, the last tensor.
        let cuts = ["half": bytes.count / 2, "prefix": 5, "header": 8 + headerLength / 2, "tail": bytes.count - 3, "empty": 0]
        var fresh = try Self.store(seed: 2)
        for (tag, length) in cuts {
            let cut = dir.appendingPathComponent("cut-\(tag).safetensors")
            try bytes.prefix(length).write(to: cut)
            Self.expectCheckpointError(loading: cut, into: fresh)
            #expect(throws: CheckpointError.self) { _ = try ParameterStore.metadata(of: cut) }
        }
        // The intact file still loads, bit for bit.
        let meta = try fresh.load(from: url)
        #expect(meta["iteration"] == "7")
        #expect(fresh == saved)
    }

    @Test("a leftover temporary file from an interrupted write does not affect loading")
    func leftoverTemporary() throws {
        let dir = try RT.tempDir("ckpt-tmp")
        defer { RT.remove(dir) }
        let url = dir.appendingPathComponent(Trainer.checkpointName)
        let saved = try Self.store(seed: 3)
        try saved.save(to: url, metadata: ["iteration": "10"])

        // A newer checkpoint's write died half way (another process: another pid suffix).
        let newer = try Self.store(seed: 4)
        let tmpOther = dir.appendingPathComponent(".\(Trainer.checkpointName).tmp-999999")
        let newerBytes = try SafeTensors.encode(newer.values.mapValues { ($0.shape, $0.data.map(Float.init)) },
                                                metadata: ["iteration": "20"])
        try newerBytes.prefix(newerBytes.count / 2).write(to: tmpOther)

        var loaded = try Self.store(seed: 5)
        #expect(try loaded.load(from: url)["iteration"] == "10")
        #expect(loaded == saved)
        #expect(try ParameterStore.metadata(of: url)["iteration"] == "10")

        // A write that fails before the rename (its temporary path is blocked) leaves the old
        // checkpoint in place.
        let tmpOwn = dir.appendingPathComponent(".\(Trainer.checkpointName).tmp-\(getpid())")
        try FileManager.default.createDirectory(at: tmpOwn, withIntermediateDirectories: false)
        #expect(throws: CheckpointError.self) { try newer.save(to: url, metadata: ["iteration": "20"]) }
        try FileManager.default.removeItem(at: tmpOwn)
        #expect(try loaded.load(from: url)["iteration"] == "10")
        #expect(loaded == saved)

        // The next save replaces the file whole and leaves no temporary of its own behind.
        try newer.save(to: url, metadata: ["iteration": "20"])
        #expect(!FileManager.default.fileExists(atPath: tmpOwn.path))
        #expect(try loaded.load(from: url)["iteration"] == "20")
        #expect(loaded == newer)
        #expect(FileManager.default.fileExists(atPath: tmpOther.path), "the stale temporary is not ours to delete")
    }

    @Test("a warm start copies the parameters that match by name and shape, keeps the rest fresh, and refuses an unrelated checkpoint")
    func warmStart() throws {
        let dir = try RT.tempDir("ckpt-warm")
        defer { RT.remove(dir) }
        let url = dir.appendingPathComponent(Trainer.checkpointName)
        let saved = try Self.store(seed: 3)
        try saved.save(to: url, metadata: [:])

        // A wider MLP: only the output bias keeps its shape.
        let wide = SinusoidMLP(hidden: 16).parameterSpecs
        let specs = wide + OuterOptimizer.adam.stateSpecs(for: wide)
        let fresh = ParameterStore(specs: specs, seed: 9)
        var store = fresh
        let report = try store.warmStart(from: url, including: { !OuterOptimizer.isStateName($0) })
        let sameShape = wide.filter { saved.values[$0.name]?.shape == $0.type.shape }.map(\.name)
        #expect(!sameShape.isEmpty && sameShape.count < wide.count, "the test needs both kinds: \(sameShape)")
        #expect(report.copied == sameShape)
        #expect(report.missing.isEmpty)
        #expect(report.reshaped.map(\.name) == wide.map(\.name).filter { !sameShape.contains($0) })
        for r in report.reshaped { #expect(r.checkpoint == saved.values[r.name]?.shape && r.expected != r.checkpoint) }
        for spec in specs {
            let copied = sameShape.contains(spec.name)
            #expect(store.values[spec.name] == (copied ? saved.values[spec.name] : fresh.values[spec.name]), "\(spec.name)")
        }
        // Optimiser state never comes across, even where the shapes agree.
        #expect(specs.contains { OuterOptimizer.isStateName($0.name) && saved.values[$0.name]?.shape == $0.type.shape })

        // The same model takes every learned value.
        var same = ParameterStore(specs: Self.specs, seed: 4)
        let all = try same.warmStart(from: url, including: { !OuterOptimizer.isStateName($0) })
        #expect(all.copied.count == SinusoidMLP(hidden: 8).parameterSpecs.count && all.reshaped.isEmpty && all.missing.isEmpty)

        // Nothing in common: a CheckpointError naming the file, and the store untouched.
        let other = [ParameterSpec(name: "unrelated.w", type: TensorType(.f32, [3, 3]), initializer: .zeros)]
        var unrelated = ParameterStore(specs: other, seed: 0)
        let before = unrelated
        #expect { _ = try unrelated.warmStart(from: url, including: { _ in true }) } throws: { e in
            (e as? CheckpointError).map { $0.path == url.path && $0.message.contains("same name and shape") } ?? false
        }
        #expect(unrelated == before)
        #expect(throws: CheckpointError.self) {
            _ = try unrelated.warmStart(from: dir.appendingPathComponent("absent.safetensors"), including: { _ in true })
        }
    }
}
