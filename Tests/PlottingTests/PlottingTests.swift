import EpisodeData
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Plotting
import Testing

/// Two synthetic runs: `a` with validation accuracy, `b` without.
private func runs() -> [RunMetrics] {
    func line(_ f: (Double) -> Double) -> [RunMetrics.Point] { (1...40).map { RunMetrics.Point(x: Double($0), y: f(Double($0))) } }
    let a = RunMetrics(name: "run-a", path: "a/metrics.jsonl", series: [
        "loss": line { 2 / $0 }, "accuracy": line { 1 - 1 / $0 }, "episodes_per_s": line { _ in 40 },
        "val_accuracy": [RunMetrics.Point(x: 20, y: 0.6), RunMetrics.Point(x: 40, y: 0.8)],
    ])
    let b = RunMetrics(name: "run_b", path: "b/metrics.jsonl", series: [
        "loss": line { 3 / $0 }, "accuracy": line { _ in 0.5 }, "episodes_per_s": line { _ in 20 },
    ])
    return [a, b]
}

/// Collects, with Foundation's `XMLParser`, the panels of an SVG and the runs of the curves in each.
private final class CurveCollector: NSObject, XMLParserDelegate {
    var panels: [(metric: String, runs: [String])] = []
    var depthInPanel = 0

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if depthInPanel > 0 { depthInPanel += 1 }
        if name == "g", attributes["class"] == "panel" {
            panels.append((attributes["data-metric"] ?? "", []))
            depthInPanel = 1
        } else if name == "polyline", attributes["class"] == "curve", depthInPanel > 0, !panels.isEmpty {
            panels[panels.count - 1].runs.append(attributes["data-run"] ?? "")
        }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if depthInPanel > 0 { depthInPanel -= 1 }
    }
}

@Suite struct PlottingTests {
    /// The PNG decodes with the repository's own decoder at the figure's size, and the pixels
    /// where each run's curve passes are drawn (not the white background).
    @Test func pngDecodesWithCurvesWhereTheDataIs() throws {
        let figure = try LearningCurves(runs: runs(), width: 800)
        let bytes = try figure.png()
        let image = try PNGDecoder.decode(bytes, path: "figure.png")
        #expect(image.width == 800 && image.height == figure.height)
        let panel = try #require(figure.panels.firstIndex { $0.metric == "episodes_per_s" })
        for y in [40.0, 20.0] {
            let p = figure.position(panel: panel, x: 30.5, y: y)
            #expect(image[Int(p.y.rounded()), Int(p.x.rounded())] < 200, "curve at episodes/s \(y)")
        }
        // Half-way between the two flat curves, away from grid lines, is background.
        let gap = figure.position(panel: panel, x: 33.3, y: 33)
        #expect(image[Int(gap.y.rounded()), Int(gap.x.rounded())] == 255)
        // The validation marker of run a is drawn in its colour.
        let val = try #require(figure.panels.firstIndex { $0.metric == "val_accuracy" })
        let m = figure.position(panel: val, x: 40, y: 0.8)
        #expect(figure.raster().pixel(Int(m.x.rounded()), Int(m.y.rounded())) == figure.colour(ofRun: 0))
    }

    /// The SVG is XML with one curve per run per panel (run b has no validation accuracy).
    @Test func svgHasOnePolylinePerRunPerPanel() throws {
        let figure = try LearningCurves(runs: runs())
        let parser = XMLParser(data: Data(figure.svg().utf8))
        let collector = CurveCollector()
        parser.delegate = collector
        #expect(parser.parse(), "\(String(describing: parser.parserError))")
        #expect(collector.panels.map(\.metric) == ["loss", "accuracy", "val_accuracy", "episodes_per_s"])
        for panel in collector.panels {
            #expect(panel.runs == (panel.metric == "val_accuracy" ? ["run-a"] : ["run-a", "run_b"]), "\(panel.metric)")
        }
        #expect(figure.missing.map(\.metric) == ["val_accuracy"])
    }

    @Test func metricsErrorsNameTheFileAndLine() throws {
        let empty = #expect(throws: PlotError.self) { _ = try RunMetrics.parse(Data("\n".utf8), path: "r/metrics.jsonl", name: "r") }
        #expect(empty?.description == "r/metrics.jsonl: metrics file is empty")
        let text = "{\"iteration\":1,\"loss\":2}\n{\"iteration\":2,\"loss\":\n"
        let corrupt = #expect(throws: PlotError.self) { _ = try RunMetrics.parse(Data(text.utf8), path: "r/metrics.jsonl", name: "r") }
        #expect(corrupt?.path == "r/metrics.jsonl:2")
        let noIteration = #expect(throws: PlotError.self) { _ = try RunMetrics.parse(Data("{\"loss\":1}".utf8), path: "m", name: "r") }
        #expect(noIteration?.description == "m:1: no numeric \"iteration\"")
        let missing = #expect(throws: PlotError.self) { _ = try RunMetrics.load(path: "/nonexistent/run") }
        #expect(missing?.path == "/nonexistent/run")
        // "nan" values are skipped, not plotted; a run with none of the metrics cannot be plotted.
        let nan = try RunMetrics.parse(Data("{\"iteration\":1,\"loss\":\"nan\",\"accuracy\":1}\n".utf8), path: "m", name: "r")
        #expect(nan.series["loss"] == nil && nan.series["accuracy"] == [RunMetrics.Point(x: 1, y: 1)])
        let bare = RunMetrics(name: "r", path: "m", series: ["lr": [RunMetrics.Point(x: 1, y: 1)]])
        #expect(throws: PlotError.self) { _ = try LearningCurves(runs: [bare]) }
    }

    @Test func ticksAreNiceAndCoverTheData() {
        #expect(LearningCurves.ticks(0, 500) == [0, 100, 200, 300, 400, 500])
        #expect(LearningCurves.ticks(0.13, 0.87) == [0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0])
        let flat = LearningCurves.ticks(40, 40)
        #expect((flat.first ?? 99) < 40 && (flat.last ?? 0) > 40)
        #expect(LearningCurves.label(2000, step: 1000) == "2k" && LearningCurves.label(0.25, step: 0.05) == "0.25")
    }

    /// PNG chunks carry correct CRCs (the decoder verifies them) and the pixels round-trip.
    @Test func pngRoundTripsPixels() throws {
        var image = RGBImage(width: 7, height: 3)
        image.set(2, 1, .black)
        image.line(0, 2, 6, 2, RGB(0, 0, 255))
        let gray = try PNGDecoder.decode(try PNGEncoder.encode(image), path: "t.png")
        #expect(gray.width == 7 && gray.height == 3)
        #expect(gray[1, 2] == 0 && gray[0, 0] == 255 && gray[2, 3] < 255 && gray[1, 3] == 255)
    }
}
