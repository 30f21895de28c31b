import Foundation

extension LearningCurves {
    /// The figure as an SVG document with the raster's layout: per panel a `<g class="panel"
    /// data-metric="…">` holding the grid, axes, tick labels and one `<polyline class="curve"
    /// data-run="…">` per run that has the metric (plus `<circle>` markers for short series).
    public func svg() -> String {
        var out = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" \
            font-family="DejaVu Sans Mono, Menlo, monospace" font-size="14">
            <rect x="0" y="0" width="\(width)" height="\(height)" fill="#ffffff"/>

            """
        func n(_ v: Double) -> String { String(format: "%.2f", v) }
        out += "<g class=\"legend\">\n"
        for (row, members) in legendRows.enumerated() {
            var x = 16
            let y = 10 + row * lineHeight
            for i in members {
                let name = runs[i].name
                out += "<rect x=\"\(x)\" y=\"\(y + 5 * scale)\" width=\"28\" height=\"4\" fill=\"\(colour(ofRun: i).hex)\"/>"
                out += "<text x=\"\(x + 36)\" y=\"\(y + 8 * scale)\">\(Self.escape(name))</text>\n"
                x += 36 + RGBImage.textWidth(name, scale: scale) + 24
            }
        }
        out += "</g>\n"
        for (p, panel) in panels.enumerated() {
            let f = plotArea(panel: p), a = axes(panel: p)
            let left = Double(f.x), right = Double(f.x + f.width - 1)
            let top = Double(f.y), bottom = Double(f.y + f.height - 1)
            out += "<g class=\"panel\" data-metric=\"\(Self.escape(panel.metric))\">\n"
            out += "<text x=\"\(n((left + right) / 2))\" y=\"\(n(top - 10))\" text-anchor=\"middle\">\(Self.escape(panel.title))</text>\n"
            for t in a.yTicks {
                let y = position(panel: p, x: a.xMin, y: t).y
                out += "<line x1=\"\(n(left))\" y1=\"\(n(y))\" x2=\"\(n(right))\" y2=\"\(n(y))\" stroke=\"#e1e1e1\"/>"
                out += "<text x=\"\(n(left - 10))\" y=\"\(n(y + 5))\" text-anchor=\"end\">\(Self.label(t, step: Self.tickStep(a.yTicks)))</text>\n"
            }
            for t in a.xTicks {
                let xp = position(panel: p, x: t, y: a.yMin).x
                out += "<line x1=\"\(n(xp))\" y1=\"\(n(top))\" x2=\"\(n(xp))\" y2=\"\(n(bottom))\" stroke=\"#e1e1e1\"/>"
                out += "<text x=\"\(n(xp))\" y=\"\(n(bottom + 22))\" text-anchor=\"middle\">\(Self.label(t, step: Self.tickStep(a.xTicks)))</text>\n"
            }
            out += "<polyline fill=\"none\" stroke=\"#000000\" points=\"\(n(left)),\(n(top)) \(n(left)),\(n(bottom)) \(n(right)),\(n(bottom))\"/>\n"
            out += "<text x=\"\(n((left + right) / 2))\" y=\"\(n(bottom + 42))\" text-anchor=\"middle\">iteration</text>\n"
            var any = false
            for (r, run) in runs.enumerated() {
                guard let points = run.series[panel.metric], !points.isEmpty else { continue }
                any = true
                let c = colour(ofRun: r).hex
                let coords = points.map { position(panel: p, x: $0.x, y: $0.y) }
                out += "<polyline class=\"curve\" data-run=\"\(Self.escape(run.name))\" fill=\"none\" stroke=\"\(c)\" "
                    + "stroke-width=\"2\" points=\"\(coords.map { "\(n($0.x)),\(n($0.y))" }.joined(separator: " "))\"/>\n"
                if points.count <= 50 {
                    for q in coords { out += "<circle cx=\"\(n(q.x))\" cy=\"\(n(q.y))\" r=\"3.5\" fill=\"\(c)\"/>" }
                    out += "\n"
                }
            }
            if !any {
                out += "<text x=\"\(n((left + right) / 2))\" y=\"\(n((top + bottom) / 2))\" text-anchor=\"middle\" fill=\"#787878\">no data</text>\n"
            }
            out += "</g>\n"
        }
        return out + "</svg>\n"
    }

    static func tickStep(_ ticks: [Double]) -> Double { ticks.count > 1 ? ticks[1] - ticks[0] : 1 }

    /// `text` with the five XML special characters escaped.
    static func escape(_ text: String) -> String {
        var s = ""
        for ch in text {
            switch ch {
            case "&": s += "&amp;"
            case "<": s += "&lt;"
            case ">": s += "&gt;"
            case "\"": s += "&quot;"
            case "'": s += "&apos;"
            default: s.append(ch)
            }
        }
        return s
    }
}
