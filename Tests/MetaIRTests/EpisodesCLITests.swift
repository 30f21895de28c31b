import Foundation
import TestSupport
import Testing

/// `metajit episodes`, `metajit eval --manifest` and `metajit plot` end to end, on a one-iteration
/// width-4 ProtoNet checkpoint.
@Suite(.serialized) struct EpisodesCLITests {
    /// Issue 15, part 5: a 20-way 15-query checkpoint evaluated on a 20-way 1-query
    /// within-alphabet manifest failed with "value for query_x has type f32[15680], the program
    /// expects f32[235200]" unless --ways/--shots/--queries and --split repeated the manifest's.
    @Test func evalManifestNeedsNoShapeFlags() throws {
        let dir = try TestPaths.makeTemporaryFolder(prefix: "episodes-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = dir.appendingPathComponent("proto").path, manifest = dir.appendingPathComponent("wa.json").path
        let train = try metajit(["train", "protonet-omniglot-20w1s", "--iterations", "2", "--width", "4", "--train-ways", "20",
                                 "--eval-every", "1", "--eval-episodes", "2", "--quiet", "--out", run])
        #expect(train.status == 0, "\(train.err)")
        let episodes = try metajit(["episodes", "--within-alphabet", "--ways", "20", "--shots", "1", "--queries", "1",
                                    "--split", "Latin,Tagalog", "--episodes", "7", "--out", manifest])
        #expect(episodes.status == 0, "\(episodes.err)")
        #expect(episodes.err.contains("skipping Tagalog: 17 characters"))
        // 7 episodes in meta-batches of 5: the last batch is padded, only 7 are scored.
        let eval = try metajit(["eval", run, "--manifest", manifest, "--meta-batch", "5"])
        #expect(eval.status == 0, "\(eval.err)")
        #expect(!eval.err.contains("f32[15680]") && !eval.err.contains("the program expects"))
        #expect(eval.out.contains("accuracy ") && eval.out.contains("(7 episodes)"))
        let errorLine = eval.out.split(separator: "\n").first { $0.hasPrefix("error rate ") }
        #expect(errorLine != nil, "\(eval.out)")
        #expect(eval.out.contains("\"ways\":20") && eval.out.contains("\"queries\":1") && eval.out.contains("\"split\":[\"Latin\"]"))
        // Repeating the manifest's values is fine; a different value is a plain error.
        let same = try metajit(["eval", run, "--manifest", manifest, "--ways", "20", "--queries", "1", "--episodes", "5"])
        #expect(same.status == 0 && same.out.contains("(5 episodes)"), "\(same.err)")
        let clash = try metajit(["eval", run, "--manifest", manifest, "--queries", "15"])
        #expect(clash.status != 0 && clash.err.contains("\(manifest): --queries 15 disagrees with this manifest's queries 1"))

        // The run's learning curves: PNG and SVG, validation accuracy included.
        let plot = try metajit(["plot", run, "--out", dir.appendingPathComponent("curves").path])
        #expect(plot.status == 0, "\(plot.err)")
        for ext in ["png", "svg"] {
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("curves.\(ext)").path))
        }
        let svg = try String(contentsOf: dir.appendingPathComponent("curves.svg"), encoding: .utf8)
        #expect(svg.components(separatedBy: "class=\"curve\"").count - 1 == 4)
    }

    @Test func episodesAndPlotRefuseBadInputPlainly() throws {
        let dir = try TestPaths.makeTemporaryFolder(prefix: "episodes-cli-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("m.json").path
        let small = try metajit(["episodes", "--within-alphabet", "--ways", "20", "--split", "Tagalog", "--out", out])
        #expect(small.status != 0 && small.err.contains("need an alphabet with at least 20 characters")
                && small.err.contains("Tagalog (17 characters)"))
        #expect(!FileManager.default.fileExists(atPath: out))
        let empty = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        try Data().write(to: empty.appendingPathComponent("metrics.jsonl"))
        let plotEmpty = try metajit(["plot", empty.path, "--out", dir.appendingPathComponent("p").path])
        #expect(plotEmpty.status != 0 && plotEmpty.err.contains("metrics.jsonl: metrics file is empty"))
        try Data("{\"iteration\":1,\"loss\":1}\n{oops\n".utf8).write(to: empty.appendingPathComponent("metrics.jsonl"))
        let plotBad = try metajit(["plot", empty.path, "--out", dir.appendingPathComponent("p").path])
        #expect(plotBad.status != 0 && plotBad.err.contains("metrics.jsonl:2: not a JSON object"))
    }
}
