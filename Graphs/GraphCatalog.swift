import GraphDSL
import MetaIR

/// One configuration knob of a named graph (ways, shots, widths, ...).
public struct GraphOption: Sendable, Hashable {
    /// Option name as written on the command line (`ways`).
    public var name: String
    /// Default value.
    public var defaultValue: Double
    /// One-line help.
    public var help: String

    /// Creates an option.
    public init(_ name: String, _ defaultValue: Double, _ help: String) {
        self.name = name
        self.defaultValue = defaultValue
        self.help = help
    }
}

/// Option values for building a graph; unknown names are rejected when building.
public struct GraphConfig: Sendable, Hashable {
    /// Values by option name.
    public var values: [String: Double]

    /// Creates a configuration.
    public init(_ values: [String: Double] = [:]) { self.values = values }

    /// Parses `key=value` pairs.
    public static func parse(_ pairs: [String]) throws -> GraphConfig {
        var c = GraphConfig()
        for p in pairs {
            let parts = p.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let v = Double(parts[1]) else {
                throw GraphCatalogError.badOption("expected key=number, got '\(p)'")
            }
            c.values[parts[0]] = v
        }
        return c
    }
}

/// Errors finding or configuring a named graph.
public enum GraphCatalogError: Error, CustomStringConvertible, Equatable {
    /// No graph of that name.
    case unknownGraph(String, available: [String])
    /// A bad option name or value.
    case badOption(String)

    /// Human-readable message.
    public var description: String {
        switch self {
        case .unknownGraph(let n, let avail):
            return "unknown graph '\(n)'; available: \(avail.joined(separator: ", "))"
        case .badOption(let m): return m
        }
    }
}

/// A traced graph together with how to initialise its parameters.
public struct BuiltGraph {
    /// The graph.
    public var graph: Graph
    /// Parameter specs, in the order of the graph's `param` nodes.
    public var parameters: [ParameterSpec]

    /// Creates a built graph.
    public init(graph: Graph, parameters: [ParameterSpec]) {
        self.graph = graph
        self.parameters = parameters
    }
}

/// Resolved option values for one build: defaults overridden by the user's.
public struct ResolvedOptions {
    let values: [String: Double]

    /// The option's value as an integer.
    public func int(_ name: String) -> Int { Int(values[name] ?? 0) }
    /// The option's value.
    public func double(_ name: String) -> Double { values[name] ?? 0 }
    /// The option's value as a flag (non-zero is true).
    public func flag(_ name: String) -> Bool { (values[name] ?? 0) != 0 }
}

/// A named, runnable graph definition that `metajit list` shows.
public struct GraphDefinition: Sendable {
    /// Name (`conv4`).
    public var name: String
    /// One-line description.
    public var summary: String
    /// Configuration knobs with defaults.
    public var options: [GraphOption]
    private let builder: @Sendable (ResolvedOptions) throws -> BuiltGraph

    /// Creates a definition.
    public init(name: String, summary: String, options: [GraphOption],
                build: @escaping @Sendable (ResolvedOptions) throws -> BuiltGraph) {
        self.name = name
        self.summary = summary
        self.options = options
        self.builder = build
    }

    /// Builds the graph with `config` overriding the defaults.
    public func build(_ config: GraphConfig = GraphConfig()) throws -> BuiltGraph {
        var values: [String: Double] = [:]
        for o in options { values[o.name] = o.defaultValue }
        for (k, v) in config.values {
            guard values[k] != nil else {
                throw GraphCatalogError.badOption(
                    "graph '\(name)' has no option '\(k)' (options: \(options.map(\.name).joined(separator: ", ")))")
            }
            values[k] = v
        }
        return try builder(ResolvedOptions(values: values))
    }
}

/// All named graphs.
public enum GraphCatalog {
    /// Every graph, in listing order.
    public static let all: [GraphDefinition] = [
        mlpGraph, conv4Graph, lstmClassifierGraph, attentionBlockGraph, mamlSinusoidGraph, mamlConv4Graph,
    ]

    /// The graph called `name`.
    public static func named(_ name: String) throws -> GraphDefinition {
        guard let d = all.first(where: { $0.name == name }) else {
            throw GraphCatalogError.unknownGraph(name, available: all.map(\.name))
        }
        return d
    }
}
