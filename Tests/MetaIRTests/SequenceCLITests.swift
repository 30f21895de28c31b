import Foundation
import Graphs
import TestSupport
import Testing

/// `metajit train mann-*|snail-*` and `metajit eval` on their checkpoints: a tiny run end to
/// end, the per-instance accuracy line, resume, and flags that do not apply.
@Suite(.serialized) struct SequenceCLITests {
    static func folder() -> URL { FileManager.default.temporaryDirectory.appendingPathComponent("sequence-cli-\(UUID().uuidString)") }

    static func json(_ out: String) throws -> [String: Any] {
        let last = try #require(out.split(separator: "\n").last.map(String.init))
        return try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
    }

    @Test("train mann-omniglot-5way (2 ways × 10 samples) a few iterations, resume, then eval prints the per-instance accuracy line and JSON")
    func mannEndToEnd() throws {
        let out = Self.folder()
        defer { try? FileManager.default.removeItem(at: out) }
        let common = ["train", "mann-omniglot-5way", "--ways", "2", "--meta-batch", "2", "--eval-every", "2", "--eval-episodes", "2",
                      "--checkpoint-every", "2", "--quiet", "--out", out.path]
        let train = try runMetaJIT(common + ["--iterations", "2"])
        #expect(train.status == 0, "\(train.err)")
        #expect(train.err.contains("T = 20, batch 2") && train.err.contains("steps/s"), "\(train.err)")
        let resumed = try runMetaJIT(common + ["--iterations", "3", "--resume"])
        #expect(resumed.status == 0 && resumed.err.contains("from iteration 2"), "\(resumed.err)")
        let metrics = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        #expect(metrics.split(separator: "\n").count == 3 && metrics.contains("val_accuracy"), "\(metrics)")

        let eval = try runMetaJIT(["eval", out.path, "--episodes", "5"])
        #expect(eval.status == 0, "\(eval.err)")
        let lines = eval.out.split(separator: "\n").map(String.init)
        #expect(lines.count == 2, "\(eval.out)")
        let pattern = try Regex(#"^per-instance accuracy: 1st \d+\.\d% 2nd \d+\.\d% 3rd \d+\.\d% 5th \d+\.\d% 10th \d+\.\d%$"#)
        #expect(lines.first.map { $0.wholeMatch(of: pattern) != nil } == true, "\(eval.out)")
        let json = try Self.json(eval.out)
        #expect(json["learner"] as? String == "mann" && json["episodes"] as? Int == 5 && json["length"] as? Int == 20)
        #expect(json["labels"] as? String == "onehot")
        let table = try #require(json["per_instance"] as? [String: Double])
        #expect(table.count == 10 && table.values.allSatisfy { (0...1).contains($0) })
    }

    @Test("train snail-omniglot-5w1s a few iterations, then eval prints accuracy ± CI over episodes and JSON")
    func snailEndToEnd() throws {
        let out = Self.folder()
        defer { try? FileManager.default.removeItem(at: out) }
        let train = try runMetaJIT(["train", "snail-omniglot-5w1s", "--meta-batch", "2", "--iterations", "2", "--eval-every", "0",
                                    "--quiet", "--out", out.path])
        #expect(train.status == 0, "\(train.err)")
        let eval = try runMetaJIT(["eval", out.path, "--episodes", "3"])
        #expect(eval.status == 0, "\(eval.err)")
        let lines = eval.out.split(separator: "\n").map(String.init)
        #expect(lines.count == 2 && lines[0].hasPrefix("accuracy ") && lines[0].hasSuffix("(3 episodes)"), "\(eval.out)")
        let json = try Self.json(eval.out)
        #expect(json["learner"] as? String == "snail" && json["episodes"] as? Int == 3 && json["length"] as? Int == 6)
        let refused = try runMetaJIT(["eval", out.path, "--shots", "5", "--episodes", "3"])
        #expect(refused.status != 0 && refused.err.contains("--shots does not apply to the sequence checkpoint"), "\(refused.err)")
    }

    @Test("train mann-omniglot-5way --labels strings: 25-d string labels, kept by the checkpoint, so eval scores five-character labels")
    func mannStringLabels() throws {
        let out = Self.folder()
        defer { try? FileManager.default.removeItem(at: out) }
        let train = try runMetaJIT(["train", "mann-omniglot-5way", "--labels", "strings", "--ways", "2", "--meta-batch", "2",
                                    "--iterations", "2", "--eval-every", "0", "--quiet", "--out", out.path])
        #expect(train.status == 0, "\(train.err)")
        let eval = try runMetaJIT(["eval", out.path, "--episodes", "2"])
        #expect(eval.status == 0 && eval.out.hasPrefix("per-instance accuracy: 1st "), "\(eval.err)")
        #expect(try Self.json(eval.out)["labels"] as? String == "strings", "\(eval.out)")
        let snail = try runMetaJIT(["train", "snail-omniglot-5w1s", "--labels", "strings", "--iterations", "1", "--out", out.path])
        #expect(snail.status != 0 && snail.err.contains("--labels strings applies to MANN"), "\(snail.err)")
        let other = try runMetaJIT(["train", "maml-5w1s", "--labels", "strings", "--iterations", "1", "--out", out.path])
        #expect(other.status != 0 && other.err.contains("--labels applies to the sequence recipe"), "\(other.err)")
    }

    @Test("flags of other learners are refused by name before any training")
    func inapplicableFlags() throws {
        let out = Self.folder()
        defer { try? FileManager.default.removeItem(at: out) }
        let r = try runMetaJIT(["train", "snail-omniglot-20w1s", "--queries", "3", "--iterations", "1", "--out", out.path])
        #expect(r.status != 0 && r.err.contains("--queries does not apply to the sequence recipe snail-omniglot-20w1s"), "\(r.err)")
        let ways = try runMetaJIT(["train", "snail-omniglot-5w1s", "--ways", "1", "--iterations", "1", "--out", out.path])
        #expect(ways.status != 0 && ways.err.contains("ways"), "\(ways.err)")
        #expect(!r.err.contains("Fatal error") && !ways.err.contains("Fatal error"))
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("checkpoint.safetensors").path))
    }

    @Test("--curriculum: parsed and checked before training, refused outside sequence recipes, recorded in the run")
    func curriculumFlag() throws {
        let out = Self.folder()
        defer { try? FileManager.default.removeItem(at: out) }
        let bad = try runMetaJIT(["train", "snail-omniglot-5w1s", "--curriculum", "5:x", "--iterations", "1", "--out", out.path])
        #expect(bad.status != 0 && bad.err.contains("curriculum stage '5:x'"), "\(bad.err)")
        let tooMany = try runMetaJIT(["train", "snail-omniglot-5w1s", "--curriculum", "6:10", "--iterations", "1", "--out", out.path])
        #expect(tooMany.status != 0 && tooMany.err.contains("1 to 5 classes"), "\(tooMany.err)")
        let other = try runMetaJIT(["train", "maml-5w1s", "--curriculum", "2:10", "--iterations", "1", "--out", out.path])
        #expect(other.status != 0 && other.err.contains("--curriculum applies to the sequence recipes"), "\(other.err)")
        let train = try runMetaJIT(["train", "mann-omniglot-5way", "--ways", "3", "--meta-batch", "2", "--curriculum", "2:1",
                                    "--iterations", "2", "--eval-every", "0", "--quiet", "--out", out.path])
        #expect(train.status == 0 && train.err.contains("curriculum: 2 classes for 1 batches, then all 3"), "\(train.err)")
        // The MANN recipe jitters its training images by default.
        #expect(train.err.contains("image jitter: rotations up to ±10.0°, shifts up to ±2.0 px"), "\(train.err)")
    }

    @Test("--jitter and --halve-every: checked before training, refused or turned off, the learning rate halved on schedule")
    func jitterAndHalvingFlags() throws {
        let out = Self.folder()
        defer { try? FileManager.default.removeItem(at: out) }
        let bad = try runMetaJIT(["train", "mann-omniglot-5way", "--jitter", "10", "--iterations", "1", "--out", out.path])
        #expect(bad.status != 0 && bad.err.contains("jitter '10' is not DEG:PX"), "\(bad.err)")
        let other = try runMetaJIT(["train", "maml-5w1s", "--jitter", "10:2", "--iterations", "1", "--out", out.path])
        #expect(other.status != 0 && other.err.contains("--jitter applies to the sequence recipes"), "\(other.err)")
        let negative = try runMetaJIT(["train", "mann-omniglot-5way", "--halve-every", "-1", "--iterations", "1", "--out", out.path])
        #expect(negative.status != 0 && negative.err.contains("--halve-every"), "\(negative.err)")
        let train = try runMetaJIT(["train", "mann-omniglot-5way", "--ways", "3", "--meta-batch", "2", "--jitter", "none",
                                    "--halve-every", "2", "--iterations", "4", "--eval-every", "0", "--quiet", "--out", out.path])
        #expect(train.status == 0 && !train.err.contains("image jitter"), "\(train.err)")
        let metrics = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        let rates = metrics.split(separator: "\n").compactMap { line -> Double? in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["lr"] as? Double
        }
        #expect(rates == [1e-3, 1e-3, 5e-4, 5e-4], "\(rates)")
        // SNAIL 5-way's recipe carries its best measured schedule: 10,000 steps, the rate halved every 2,500.
        let snail = try #require(Recipes.named("snail-omniglot-5w1s"))
        #expect(snail.iterations == 10_000 && snail.halveEvery == 2_500)
    }
}
