import Foundation
import TestSupport
import Testing

private let wordnetInstalled = FileManager.default.fileExists(atPath: "/usr/share/wordnet/data.noun")

/// `metajit train` / `eval --baseline` / `text-episodes` on a text recipe, a few iterations.
@Suite(.serialized) struct TextCLITests {
    @Test(.enabled(if: wordnetInstalled)) func trainResumeEvalBaselineAndExport() throws {
        let dir = try TestPaths.makeTemporaryFolder(prefix: "metajit-text-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("run").path
        let train = try runMetaJIT(["train", "protonet-wordnet-5w5s", "--iterations", "3", "--checkpoint-every", "2", "--eval-every", "2",
                                    "--eval-episodes", "5", "--quiet", "--out", out])
        #expect(train.status == 0, "\(train.err)")
        let resumed = try runMetaJIT(["train", "protonet-wordnet-5w5s", "--iterations", "4", "--resume", "--eval-every", "0", "--quiet", "--out", out])
        #expect(resumed.status == 0 && resumed.err.contains("from iteration 3"), "\(resumed.err)")
        let metrics = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(metrics.count == 4 && metrics[1].contains("val_accuracy"))
        let eval = try runMetaJIT(["eval", out, "--episodes", "20", "--baseline"])
        #expect(eval.status == 0, "\(eval.err)")
        let lines = eval.out.split(separator: "\n").map(String.init)
        #expect(lines.count == 3 && lines[0].hasPrefix("accuracy ") && lines[0].contains("(20 episodes)"))
        #expect(lines[1].range(of: #"^baseline accuracy: \d+\.\d\d%$"#, options: .regularExpression) != nil, "\(lines)")
        let json = try #require(JSONSerialization.jsonObject(with: Data(lines[2].utf8)) as? [String: Any])
        let baseline = try #require(json["baseline"] as? [String: Any])
        #expect((baseline["accuracy"] as? Double).map { $0 > 0.2 } == true, "the baseline beats chance on WordNet")
        #expect(json["recipe"] as? String == "protonet-wordnet-5w5s" && json["episodes"] as? Int == 20)
        // The export, and training on exactly its episodes.
        let file = dir.appendingPathComponent("episodes.safetensors").path
        let export = try runMetaJIT(["text-episodes", "protonet-wordnet-5w5s", "--train-episodes", "3", "--test-episodes", "2", "--out", file])
        #expect(export.status == 0, "\(export.err)")
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        let length = Int(data.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        let header = try #require(JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as? [String: Any])
        #expect((header["train_support"] as? [String: Any])?["shape"] as? [Int] == [3, 25, 12])
        #expect((header["test_query_labels"] as? [String: Any])?["dtype"] as? String == "I32")
        #expect((header["wx"] as? [String: Any])?["shape"] as? [Int] == [32, 128])
        let meta = try #require(header["__metadata__"] as? [String: String])
        #expect(meta["gate_order"] == "i,f,g,o" && meta["ways"] == "5" && meta["hidden"] == "32")
        let fromFile = try runMetaJIT(["train", "protonet-wordnet-5w5s", "--episodes-file", file, "--iterations", "2", "--eval-every", "0",
                                       "--quiet", "--out", dir.appendingPathComponent("file-run").path])
        #expect(fromFile.status == 0 && fromFile.err.contains("from the episodes of"), "\(fromFile.err)")
        let wrong = try runMetaJIT(["train", "maml-omniglot-5w1s", "--episodes-file", file, "--iterations", "1", "--out", dir.path])
        #expect(wrong.status != 0 && wrong.err.contains("--episodes-file applies to the text recipes"))
    }
}
