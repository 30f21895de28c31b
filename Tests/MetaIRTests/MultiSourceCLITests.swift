import Foundation
import TestSupport
import Testing

private let hasFonts = FileManager.default.fileExists(atPath: "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf")

/// `metajit train protonet-multisource|protomaml-multisource` and `metajit eval --per-source`:
/// a short run end to end, and the errors for a missing source (before any training).
@Suite(.serialized) struct MultiSourceCLITests {
    static func folder() -> URL { FileManager.default.temporaryDirectory.appendingPathComponent("multisource-cli-\(UUID().uuidString)") }

    @Test("train protomaml-multisource on two sources, then eval --per-source prints a line per source and a JSON table",
          .enabled(if: hasFonts, "apt-get install fonts-noto-core"))
    func endToEnd() throws {
        let out = Self.folder()
        defer { try? FileManager.default.removeItem(at: out) }
        let train = try runMetaJIT(["train", "protomaml-multisource", "--sources", "glyphs,omniglot", "--backbone", "mlp:16",
                                    "--inner-steps", "1", "--iterations", "3", "--eval-every", "0", "--quiet", "--out", out.path])
        #expect(train.status == 0, "\(train.err)")
        #expect(train.err.contains("on glyphs, omniglot"), "\(train.err)")
        let eval = try runMetaJIT(["eval", out.path, "--per-source", "--episodes", "4"])
        #expect(eval.status == 0, "\(eval.err)")
        let lines = eval.out.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("glyphs: accuracy ") && $0.hasSuffix("(4 episodes)") }, "\(eval.out)")
        #expect(lines.contains { $0.hasPrefix("omniglot: accuracy ") }, "\(eval.out)")
        let json = try #require(lines.last.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        let table = try #require(json["per_source"] as? [String: [String: Any]])
        #expect(Set(table.keys) == ["glyphs", "omniglot"] && json["learner"] as? String == "protomaml")
        #expect((table["glyphs"]?["episodes"] as? Int) == 4)
    }

    @Test func missingSourceIsNamedWithItsInstallCommand() throws {
        let out = Self.folder()
        defer { try? FileManager.default.removeItem(at: out) }
        let r = try runMetaJIT(["train", "protonet-multisource", "--sources", "mnist,digits", "--iterations", "1", "--out", out.path],
                               environment: ["METAJIT_DATA_CACHE": "/nonexistent-metajit-cache"])
        #expect(r.status != 0)
        #expect(r.err.contains("/nonexistent-metajit-cache/") && r.err.contains("'mnist' is not installed")
                && r.err.contains("scripts/install-deps.sh"), "\(r.err)")
        let unknown = try runMetaJIT(["train", "protonet-multisource", "--sources", "cifar", "--iterations", "1", "--out", out.path])
        #expect(unknown.status != 0 && unknown.err.contains("unknown source 'cifar'"), "\(unknown.err)")
        let omniglot = try runMetaJIT(["train", "protonet-multisource", "--sources", "omniglot", "--data", "/nonexistent-omniglot",
                                       "--iterations", "1", "--out", out.path])
        #expect(omniglot.status != 0 && omniglot.err.contains("'omniglot' is not installed"), "\(omniglot.err)")
        let other = try runMetaJIT(["train", "protonet-omniglot-5w1s", "--sources", "glyphs", "--iterations", "1", "--out", out.path])
        #expect(other.status != 0 && other.err.contains("--sources applies to protonet-multisource"), "\(other.err)")
        #expect(!r.err.contains("Fatal error") && !unknown.err.contains("Fatal error"))
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("checkpoint.safetensors").path))
    }

    @Test("--per-source on a checkpoint that is not multi-source is refused with its recipe named")
    func perSourceNeedsAMultiSourceCheckpoint() throws {
        let out = Self.folder()
        defer { try? FileManager.default.removeItem(at: out) }
        let train = try runMetaJIT(["train", "conv4", "--algorithm", "protonet", "--backbone", "mlp:8", "--ways", "5", "--shots", "1",
                                    "--queries", "2", "--meta-batch", "1", "--iterations", "1", "--eval-every", "0", "--quiet", "--out", out.path])
        #expect(train.status == 0, "\(train.err)")
        let eval = try runMetaJIT(["eval", out.path, "--per-source", "--episodes", "2"])
        #expect(eval.status != 0 && eval.err.contains("--per-source applies to multi-source checkpoints") && eval.err.contains("conv4"), "\(eval.err)")
    }
}
