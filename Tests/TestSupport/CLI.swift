import Foundation

/// The built `metajit` binary was not found (`swift build` builds it; `.ci/run` does first).
public struct CLIMissing: Error, CustomStringConvertible {
    /// Creates the error.
    public init() {}
    /// Human-readable message.
    public var description: String { "metajit binary not found under .build; run `swift build` first" }
}

/// What a finished `metajit` process left: exit status, stdout and stderr.
public typealias CLIResult = (status: Int32, out: String, err: String)

/// A started `metajit` process whose output is being collected.
public struct RunningCLI {
    let process: Process
    let out: Pipe, err: Pipe

    /// Waits for the process and returns what it printed.
    public func wait() -> CLIResult {
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}

/// Starts the built `metajit` (debug build first, else release) with `args`, and
/// `environment` added to this process's.
public func startMetaJIT(_ args: [String], environment: [String: String] = [:]) throws -> RunningCLI {
    let candidates = [".build/debug/metajit", ".build/release/metajit"].map { TestPaths.repositoryRoot.appendingPathComponent($0) }
    guard let exe = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        throw CLIMissing()
    }
    let p = Process()
    p.executableURL = exe
    p.arguments = args
    if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    return RunningCLI(process: p, out: out, err: err)
}

/// Runs the built `metajit` to completion.
public func runMetaJIT(_ args: [String], environment: [String: String] = [:]) throws -> CLIResult {
    try startMetaJIT(args, environment: environment).wait()
}
