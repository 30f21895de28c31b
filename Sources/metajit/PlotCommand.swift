import ArgumentParser
import Foundation
import Plotting

/// `metajit plot`: learning curves of one or more training runs, as PNG and SVG.
struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Plot learning curves (loss, accuracy, validation accuracy, episodes/s) of training runs as PNG and SVG.",
        discussion: """
            Each DIR is a `metajit train --out` folder (its metrics.jsonl) or a metrics file; the runs are \
            overlaid, one colour each, named after their folders. Writes OUT.png and OUT.svg.
            """)

    @Argument(help: "Training output folders (or metrics.jsonl files).") var runs: [String]
    @Option(help: "Output path without extension (writes OUT.png and OUT.svg).") var out: String = "learning-curves"
    @Option(help: "Image width in pixels.") var width: Int = 1000

    func validate() throws {
        guard !runs.isEmpty else { throw ValidationError("give at least one run folder") }
        try FlagCheck.atLeast(480, width, "--width")
        try FlagCheck.atMost(8000, width, "--width")
    }

    func run() throws {
        let loaded = try runs.map(RunMetrics.load(path:))
        let figure = try LearningCurves(runs: loaded, width: width)
        for gap in figure.missing {
            log("note: \(gap.run) has no \(gap.metric) values")
        }
        var base = out
        for ext in [".png", ".svg"] where base.lowercased().hasSuffix(ext) { base = String(base.dropLast(ext.count)) }
        for path in try figure.write(base: base) { print("wrote \(path)") }
    }
}
