import Foundation
import TestSupport
import Testing

private let hasFashion = FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")

/// `metajit train … --data fashion-mnist|mnist|digits`: a short run end to end, and the
/// errors for sources that are missing or cannot supply an episode (before any training).
@Suite(.serialized) struct MNISTCLITests {
    static func folder() -> URL { FileManager.default.temporaryDirectory.appendingPathComponent("mnist-cli-\(UUID().uuidString)") }

    @Test("train and eval on --data fashion-mnist", .enabled(if: hasFashion, "apt-get install dataset-fashion-mnist"))
    func fashionEndToEnd() throws {
        let out = Self.folder()
        defer { try? FileManager.default.removeItem(at: out) }
        let train = try runMetaJIT(["train", "conv4", "--data", "fashion-mnist", "--algorithm", "protonet", "--width", "8",
                                    "--ways", "5", "--train-ways", "5", "--shots", "1", "--queries", "3", "--meta-batch", "1",
                                    "--iterations", "4", "--eval-every", "4", "--eval-episodes", "5", "--quiet", "--out", out.path])
        #expect(train.status == 0, "\(train.err)")
        #expect(train.err.contains("on 5 classes of fashion-mnist"), "\(train.err)")
        let metrics = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        #expect(metrics.split(separator: "\n").count == 4 && metrics.contains("val_accuracy"))
        let eval = try runMetaJIT(["eval", out.path, "--episodes", "10", "--meta-batch", "5"])
        #expect(eval.status == 0, "\(eval.err)")
        #expect(eval.out.contains("\"split\":[\"5\",\"6\",\"7\",\"8\",\"9\"]"), "\(eval.out)")
    }

    @Test func missingSourceIsNamedWithItsInstallCommand() throws {
        let out = Self.folder()
        defer { try? FileManager.default.removeItem(at: out) }
        for source in ["mnist", "digits"] {
            let r = try runMetaJIT(["train", "maml-mnist-seed", "--data", source, "--iterations", "1", "--out", out.path],
                                   environment: ["METAJIT_DATA_CACHE": "/nonexistent-metajit-cache"])
            #expect(r.status != 0)
            #expect(r.err.contains("/nonexistent-metajit-cache/") && r.err.contains("'\(source)' is not installed")
                    && r.err.contains("scripts/install-deps.sh"), "\(r.err)")
            #expect(!r.err.contains("Fatal error"))
        }
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("checkpoint.safetensors").path))
    }

    @Test("a split that cannot supply an episode fails before training", .enabled(if: hasFashion, "apt-get install dataset-fashion-mnist"))
    func tooFewClassesOrBadLabels() throws {
        let out = Self.folder()
        defer { try? FileManager.default.removeItem(at: out) }
        let few = try runMetaJIT(["train", "conv4", "--data", "fashion-mnist", "--train-split", "0,1", "--ways", "5",
                                  "--iterations", "1", "--out", out.path])
        #expect(few.status != 0 && few.err.contains("5-way episodes need at least 5 classes; dataset has 2"), "\(few.err)")
        let bad = try runMetaJIT(["train", "conv4", "--data", "fashion-mnist", "--train-split", "0,1,x",
                                  "--iterations", "1", "--out", out.path])
        #expect(bad.status != 0 && bad.err.contains("'x' is not a class label of fashion-mnist"), "\(bad.err)")
        let absent = try runMetaJIT(["train", "conv4", "--data", "fashion-mnist", "--train-split", "0,1,2,3,42",
                                     "--iterations", "1", "--out", out.path])
        #expect(absent.status != 0 && absent.err.contains("label 42 does not occur in fashion-mnist"), "\(absent.err)")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("checkpoint.safetensors").path))
    }
}
