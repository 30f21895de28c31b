import ArgumentParser
import Foundation
import Interpreter
import MetaIR

/// `metajit run`: evaluate a graph on seeded random inputs and summarise the outputs.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a graph on random inputs drawn from a seed and print its outputs.")

    enum Backend: String, ExpressibleByArgument, CaseIterable {
        case interp
    }

    @OptionGroup var source: GraphOptions

    @Option(help: "Execution back end: \(Backend.allCases.map(\.rawValue).joined(separator: ", ")).")
    var backend: Backend = .interp

    @Option(help: "Seed for the random inputs and parameters.")
    var seed: UInt64 = 0

    func run() throws {
        let g = try source.load().graph
        let feeds = RandomFeeds.make(for: g, seed: seed)
        let start = Date()
        let outputs = try Interpreter().run(g, feeds: feeds)
        let elapsed = Date().timeIntervalSince(start)
        print("graph \(g.name): \(g.nodes.count) nodes, backend \(backend.rawValue), seed \(seed)")
        for o in g.outputs {
            guard let v = outputs[o.name] else { continue }
            print("  \(o.name): \(Summary.describe(v))")
        }
        FileHandle.standardError.write(Data(String(format: "time %.3f s\n", elapsed).utf8))
    }
}

/// One-line summaries of output tensors.
enum Summary {
    static func describe(_ v: HostTensor) -> String {
        if v.shape.count == 1 { return "\(v.type) = \(format(v.data[0]))" }
        let finite = v.data.filter(\.isFinite)
        let mean = finite.reduce(0, +) / Double(max(finite.count, 1))
        let lo = finite.min() ?? .nan, hi = finite.max() ?? .nan
        var s = "\(v.type) mean=\(format(mean)) min=\(format(lo)) max=\(format(hi))"
        if finite.count != v.data.count { s += " non-finite=\(v.data.count - finite.count)" }
        return s
    }

    static func format(_ x: Double) -> String { String(format: "%.6g", x) }
}
