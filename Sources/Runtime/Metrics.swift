import Foundation

/// Appends one JSON object per line; on resume keeps only lines up to the checkpoint's
/// iteration so a resumed run's log matches an uninterrupted one.
struct MetricsLog {
    let url: URL

    init(url: URL, keepThrough iteration: Int) throws {
        self.url = url
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var kept = ""
        if iteration > 0, let text = try? String(contentsOf: url, encoding: .utf8) {
            for line in text.split(separator: "\n") {
                guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let it = obj["iteration"] as? Double, Int(it) <= iteration else { continue }
                kept += line + "\n"
            }
        }
        try kept.write(to: url, atomically: true, encoding: .utf8)
    }

    func append(_ record: [String: Double]) throws {
        var obj: [String: Any] = [:]
        for (k, v) in record { obj[k] = k == "iteration" ? Int(v) as Any : (v.isFinite ? v as Any : String(v) as Any) }
        var line = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
        line.append(0x0A)
        let h = try FileHandle(forWritingTo: url)
        defer { try? h.close() }
        try h.seekToEnd()
        try h.write(contentsOf: line)
    }
}

/// A one-line progress display on stderr: iteration, loss, accuracy, episodes/s, ETA.
final class ProgressLine {
    let total: Int
    let enabled: Bool
    let interactive: Bool
    var lastPrinted = Date.distantPast

    init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled
        interactive = isatty(2) == 1
    }

    func update(iteration: Int, loss: Double, accuracy: Double?, episodesPerSecond: Double, remaining: Double) {
        guard enabled else { return }
        let now = Date()
        guard interactive || iteration == total || now.timeIntervalSince(lastPrinted) > 10 else { return }
        lastPrinted = now
        let width = 24
        let filled = total > 0 ? width * iteration / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        var s = String(format: "[%@] %d/%d loss %.4f", bar, iteration, total, loss)
        if let accuracy { s += String(format: " acc %.1f%%", accuracy * 100) }
        s += String(format: " %.1f ep/s ETA %@", episodesPerSecond, Self.duration(remaining))
        write(interactive ? "\r\u{1B}[K" + s : s + "\n")
    }

    func note(_ text: String) {
        guard enabled else { return }
        write((interactive ? "\r\u{1B}[K" : "") + text + "\n")
    }

    func finish() {
        if enabled && interactive { write("\n") }
    }

    private func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
