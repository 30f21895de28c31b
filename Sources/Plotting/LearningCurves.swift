import Foundation

/// Learning-curve figures of several training runs: a grid of panels (by default loss,
/// training accuracy, validation accuracy and episodes/s against iterations), one curve per
/// run in each panel, the runs in distinct colours, and a legend with the run names above.
/// The same layout renders to a raster (for PNG) and to SVG.
///
/// A run without a metric (no `val_accuracy` when validation was off) has no curve in that
/// panel; a panel no run has data for says "no data".
public struct LearningCurves: Sendable {
    /// One panel: the metric plotted and its title.
    public struct Panel: Sendable, Equatable {
        /// The metrics key, e.g. `loss`.
        public var metric: String
        /// The title above the panel.
        public var title: String

        /// Creates a panel.
        public init(metric: String, title: String) {
            self.metric = metric
            self.title = title
        }
    }

    /// The axis ranges and tick values of one panel.
    public struct Axes: Sendable, Equatable {
        /// Data range shown on x.
        public var xMin: Double, xMax: Double
        /// Data range shown on y.
        public var yMin: Double, yMax: Double
        /// Tick positions, in data units.
        public var xTicks: [Double], yTicks: [Double]
    }

    /// A rectangle in image pixels.
    public struct Frame: Sendable, Equatable {
        /// Top-left corner and size.
        public var x: Int, y: Int, width: Int, height: Int
    }

    /// Loss, training accuracy, validation accuracy, episodes/s.
    public static let defaultPanels = [
        Panel(metric: "loss", title: "loss"), Panel(metric: "accuracy", title: "training accuracy"),
        Panel(metric: "val_accuracy", title: "validation accuracy"), Panel(metric: "episodes_per_s", title: "episodes/s"),
    ]

    /// Run colours (the Tableau 10 palette), reused cyclically.
    public static let palette: [RGB] = [
        RGB(31, 119, 180), RGB(255, 127, 14), RGB(44, 160, 44), RGB(214, 39, 40), RGB(148, 103, 189),
        RGB(140, 86, 75), RGB(227, 119, 194), RGB(127, 127, 127), RGB(188, 189, 34), RGB(23, 190, 207),
    ]

    /// The runs, in legend order.
    public let runs: [RunMetrics]
    /// The panels, row-major in a grid of ``columns`` columns.
    public let panels: [Panel]
    /// Image width in pixels.
    public let width: Int
    /// Height of one panel in pixels.
    public let panelHeight: Int
    /// Panels per row.
    public let columns: Int
    /// Font scale (each font pixel is `scale` × `scale` image pixels).
    public let scale = 2

    private let margin = (left: 84, right: 24, top: 36, bottom: 52)

    /// A figure of `runs`.
    /// - Throws: ``PlotError`` if there is no run, or no run has any of the panels' metrics.
    public init(runs: [RunMetrics], panels: [Panel] = LearningCurves.defaultPanels, width: Int = 1000,
                panelHeight: Int = 340, columns: Int = 2) throws {
        guard !runs.isEmpty else { throw PlotError(path: "", "no runs to plot") }
        guard !panels.isEmpty else { throw PlotError(path: "", "no panels to plot") }
        let metrics = Set(panels.map(\.metric))
        guard runs.contains(where: { run in run.series.contains { metrics.contains($0.key) && !$0.value.isEmpty } }) else {
            throw PlotError(path: runs.map(\.path).joined(separator: ", "),
                            "none of the metrics \(panels.map(\.metric).joined(separator: ", ")) has a value")
        }
        self.runs = runs
        self.panels = panels
        self.columns = max(1, min(columns, panels.count))
        self.width = max(width, self.columns * 240)
        self.panelHeight = max(panelHeight, 160)
    }

    /// (run, metric) pairs without data, for a note to the user.
    public var missing: [(run: String, metric: String)] {
        runs.flatMap { run in panels.compactMap { (run.series[$0.metric]?.isEmpty ?? true) ? (run.name, $0.metric) : nil } }
    }

    /// The colour of run `index`.
    public func colour(ofRun index: Int) -> RGB { Self.palette[index % Self.palette.count] }

    // MARK: - Layout

    var lineHeight: Int { (BitmapFont.height + 5) * scale }

    /// Legend rows: run indices per row, wrapped to the image width.
    var legendRows: [[Int]] {
        var rows: [[Int]] = [[]]
        var used = 16
        for i in runs.indices {
            let w = 36 + RGBImage.textWidth(runs[i].name, scale: scale) + 24
            if used + w > width, !(rows.last?.isEmpty ?? true) {
                rows.append([])
                used = 16
            }
            rows[rows.count - 1].append(i)
            used += w
        }
        return rows
    }

    private var legendHeight: Int { 12 + legendRows.count * lineHeight }

    /// Image height in pixels.
    public var height: Int { legendHeight + (panels.count + columns - 1) / columns * panelHeight }

    /// The plot area (inside the axes) of panel `index`.
    public func plotArea(panel index: Int) -> Frame {
        let panelWidth = width / columns
        let x0 = (index % columns) * panelWidth, y0 = legendHeight + index / columns * panelHeight
        return Frame(x: x0 + margin.left, y: y0 + margin.top, width: panelWidth - margin.left - margin.right,
                     height: panelHeight - margin.top - margin.bottom)
    }

    /// Axis ranges and ticks of panel `index`, from every run's points of its metric.
    public func axes(panel index: Int) -> Axes {
        let points = runs.flatMap { $0.series[panels[index].metric] ?? [] }
        let xs = Self.ticks(points.map(\.x).min() ?? 0, points.map(\.x).max() ?? 1)
        let ys = Self.ticks(points.map(\.y).min() ?? 0, points.map(\.y).max() ?? 1)
        return Axes(xMin: xs.first ?? 0, xMax: xs.last ?? 1, yMin: ys.first ?? 0, yMax: ys.last ?? 1, xTicks: xs, yTicks: ys)
    }

    /// Where the data point (`x`, `y`) of panel `index` lands, in image pixels.
    public func position(panel index: Int, x: Double, y: Double) -> (x: Double, y: Double) {
        project(plotArea(panel: index), axes(panel: index), x, y)
    }

    private func project(_ f: Frame, _ a: Axes, _ x: Double, _ y: Double) -> (x: Double, y: Double) {
        let px = Double(f.x) + (x - a.xMin) / max(a.xMax - a.xMin, 1e-300) * Double(f.width - 1)
        let py = Double(f.y + f.height - 1) - (y - a.yMin) / max(a.yMax - a.yMin, 1e-300) * Double(f.height - 1)
        return (px, py)
    }

    /// "Nice" tick values (steps of 1, 2 or 5 × 10ⁿ, about five of them) covering `lo...hi`.
    public static func ticks(_ lo: Double, _ hi: Double) -> [Double] {
        var lo = lo, hi = hi
        if hi - lo <= abs(hi) * 1e-9 || hi - lo < 1e-12 {
            let pad = abs(lo) > 1e-12 ? abs(lo) * 0.1 : 0.5
            lo -= pad
            hi += pad
        }
        let rough = (hi - lo) / 5
        let magnitude = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        let first = floor(lo / step + 1e-9), last = ceil(hi / step - 1e-9)
        guard last - first < 100 else { return [lo, hi] }
        return stride(from: first, through: last, by: 1).map { $0 * step }
    }

    /// Tick label text: integers (with `k` for thousands), else just enough decimals for the step.
    public static func label(_ value: Double, step: Double) -> String {
        if step >= 1000, value.truncatingRemainder(dividingBy: 1000) == 0 { return "\(Int(value / 1000))k" }
        if step >= 1 { return String(Int(value.rounded())) }
        let decimals = max(0, min(6, Int(-floor(log10(step) + 1e-9))))
        return String(format: "%.\(decimals)f", value)
    }

    // MARK: - Raster

    /// The figure as a raster.
    public func raster() -> RGBImage {
        var image = RGBImage(width: width, height: height)
        let grid = RGB(225, 225, 225), axis = RGB.black
        for (row, members) in legendRows.enumerated() {
            var x = 16
            let y = 10 + row * lineHeight
            for i in members {
                image.fill(x: x, y: y + 5 * scale, w: 28, h: 4, colour(ofRun: i))
                image.text(runs[i].name, x: x + 36, y: y + scale, scale: scale)
                x += 36 + RGBImage.textWidth(runs[i].name, scale: scale) + 24
            }
        }
        for (p, panel) in panels.enumerated() {
            let f = plotArea(panel: p), a = axes(panel: p)
            image.text(panel.title, x: f.x + (f.width - RGBImage.textWidth(panel.title, scale: scale)) / 2,
                       y: f.y - 10 - BitmapFont.height * scale, scale: scale)
            for t in a.yTicks {
                let y = Int(project(f, a, a.xMin, t).y.rounded())
                image.fill(x: f.x, y: y, w: f.width, h: 1, grid)
                image.fill(x: f.x - 6, y: y, w: 6, h: 1, axis)
                let text = Self.label(t, step: Self.tickStep(a.yTicks))
                image.text(text, x: f.x - 10 - RGBImage.textWidth(text, scale: scale), y: y - BitmapFont.height * scale / 2,
                           scale: scale)
            }
            for t in a.xTicks {
                let x = Int(project(f, a, t, a.yMin).x.rounded())
                image.fill(x: x, y: f.y, w: 1, h: f.height, grid)
                image.fill(x: x, y: f.y + f.height, w: 1, h: 6, axis)
                let text = Self.label(t, step: Self.tickStep(a.xTicks))
                image.text(text, x: x - RGBImage.textWidth(text, scale: scale) / 2, y: f.y + f.height + 10, scale: scale)
            }
            image.fill(x: f.x - 1, y: f.y, w: 1, h: f.height + 1, axis)
            image.fill(x: f.x - 1, y: f.y + f.height, w: f.width + 1, h: 1, axis)
            let xLabel = "iteration"
            image.text(xLabel, x: f.x + (f.width - RGBImage.textWidth(xLabel, scale: scale)) / 2,
                       y: f.y + f.height + 14 + BitmapFont.height * scale, scale: scale)
            var any = false
            for (r, run) in runs.enumerated() {
                guard let points = run.series[panel.metric], !points.isEmpty else { continue }
                any = true
                let c = colour(ofRun: r)
                let projected = points.map { project(f, a, $0.x, $0.y) }
                for (u, v) in zip(projected, projected.dropFirst()) { image.line(u.x, u.y, v.x, v.y, c, thickness: 2) }
                if points.count <= 50 {
                    for q in projected { image.fill(x: Int(q.x.rounded()) - 3, y: Int(q.y.rounded()) - 3, w: 7, h: 7, c) }
                }
            }
            if !any {
                let text = "no data"
                image.text(text, x: f.x + (f.width - RGBImage.textWidth(text, scale: scale)) / 2,
                           y: f.y + f.height / 2 - BitmapFont.height * scale / 2, scale: scale, RGB(120, 120, 120))
            }
        }
        return image
    }

    /// The figure as PNG bytes.
    /// - Throws: ``PlotError`` if encoding fails.
    public func png() throws -> [UInt8] { try PNGEncoder.encode(raster()) }

    /// Writes `<base>.png` and `<base>.svg` and returns their paths.
    /// - Throws: ``PlotError`` naming the file that cannot be written.
    public func write(base: String) throws -> [String] {
        let pngPath = base + ".png", svgPath = base + ".svg"
        let outputs: [(String, Data)] = [(pngPath, Data(try png())), (svgPath, Data(svg().utf8))]
        for (path, data) in outputs {
            do {
                try data.write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                throw PlotError(path: path, "cannot write: \(error.localizedDescription)")
            }
        }
        return outputs.map(\.0)
    }
}
