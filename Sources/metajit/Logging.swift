import Foundation
import Logging

/// The tool's logger. Messages go to stderr as plain lines (warnings and errors prefixed),
/// filtered by `--log-level` (any command; default `info`) or `METAJIT_LOG_LEVEL`.
let logger = Logger(label: "metajit")

/// Writes one message per line to stderr, without timestamps: the CLI's progress notes are
/// read by people and by scripts that grep them.
struct PlainStderrLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let prefix: String
        switch event.level {
        case .trace, .debug, .info, .notice: prefix = ""
        case .warning: prefix = "warning: "
        case .error, .critical: prefix = "error: "
        }
        FileHandle.standardError.write(Data((prefix + event.message.description + "\n").utf8))
    }
}

/// Logging set-up from the command line.
enum LogSetup {
    /// Removes `--log-level LEVEL` (or `--log-level=LEVEL`) from `args` and bootstraps
    /// swift-log with it; returns the remaining arguments, or throws on an unknown level.
    static func bootstrap(_ args: [String]) throws -> [String] {
        var rest: [String] = []
        var level = ProcessInfo.processInfo.environment["METAJIT_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        var i = 0
        while i < args.count {
            let a = args[i]
            var value: String?
            if a == "--log-level" {
                guard i + 1 < args.count else { throw LogLevelError(value: "") }
                value = args[i + 1]
                i += 1
            } else if a.hasPrefix("--log-level=") {
                value = String(a.dropFirst("--log-level=".count))
            } else {
                rest.append(a)
            }
            if let value {
                guard let l = Logger.Level(rawValue: value) else { throw LogLevelError(value: value) }
                level = l
            }
            i += 1
        }
        let chosen = level
        LoggingSystem.bootstrap { _ in PlainStderrLogHandler(logLevel: chosen) }
        return rest
    }
}

/// `--log-level` got a value swift-log does not know.
struct LogLevelError: Error, CustomStringConvertible {
    var value: String
    var description: String {
        "--log-level takes one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")); got '\(value)'"
    }
}

/// A progress note for the user (info level).
func log(_ s: String) { logger.info("\(s)") }
