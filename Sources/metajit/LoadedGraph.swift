import Foundation
import Graphs
import MetaIR

/// A graph from the catalog or from a text IR file.
struct LoadedGraph {
    var graph: Graph
    var parameters: [ParameterSpec]?

    /// Errors loading a graph file.
    struct LoadError: Error, CustomStringConvertible {
        var description: String
    }

    static func load(_ nameOrPath: String, settings: [String]) throws -> LoadedGraph {
        if nameOrPath.hasSuffix(".mjir") || nameOrPath.contains("/") {
            guard settings.isEmpty else { throw LoadError(description: "-D/--set applies to named graphs, not to \(nameOrPath)") }
            let text: String
            do {
                text = try String(contentsOfFile: nameOrPath, encoding: .utf8)
            } catch {
                throw LoadError(description: "\(nameOrPath): cannot read file (\(error.localizedDescription))")
            }
            do {
                return LoadedGraph(graph: try Parser.parse(text), parameters: nil)
            } catch let e as ParseError {
                throw LoadError(description: "\(nameOrPath):\(e.line):\(e.column): \(e.message)")
            }
        }
        let def = try GraphCatalog.named(nameOrPath)
        let built = try def.build(try GraphConfig.parse(settings))
        return LoadedGraph(graph: built.graph, parameters: built.parameters)
    }
}
