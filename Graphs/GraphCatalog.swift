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
    /// Which values are accepted.
    public var kind: Kind

    /// What an option's values mean, and so which are accepted.
    public enum Kind: Sendable, Hashable {
        /// A size or count: an integer in `1...maximum`.
        case size(maximum: Int)
        /// 0 or 1.
        case flag
        /// A finite number in `range` (learning rates).
        case real(ClosedRange<Double>)

        /// Sizes get a maximum far above any real graph but low enough that products of a
        /// few of them are still checked by the DSL instead of overflowing while parsing.
        public static let size = Kind.size(maximum: 1 << 31)
    }

    /// Creates an option.
    public init(_ name: String, _ defaultValue: Double, _ help: String, kind: Kind = .size) {
        self.name = name
        self.defaultValue = defaultValue
        self.help = help
        self.kind = kind
    }

    /// Throws unless `value` is one this option accepts.
    public func check(_ value: Double) throws {
        switch kind {
        case .size(let maximum):
            guard value.isFinite, value == value.rounded(), value >= 1, value <= Double(maximum) else {
                throw GraphCatalogError.badOption("option '\(name)' (\(help)) must be an integer from 1 to \(maximum), got \(Self.format(value))")
            }
        case .flag:
            guard value == 0 || value == 1 else {
                throw GraphCatalogError.badOption("option '\(name)' (\(help)) must be 0 or 1, got \(Self.format(value))")
            }
        case .real(let range):
            guard value.isFinite, range.contains(value) else {
                throw GraphCatalogError.badOption(
                    "option '\(name)' (\(help)) must be a number from \(range.lowerBound) to \(range.upperBound), got \(Self.format(value))")
            }
        }
    }

    /// `3`, not `3.0`, for whole numbers that fit; otherwise Swift's shortest form.
    static func format(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return "\(value)"
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

    /// The option's value as an integer (0 for a value no integer holds; `build` has
    /// already refused those for sizes).
    public func int(_ name: String) -> Int {
        guard let v = values[name], v.isFinite, abs(v) < 0x1p62 else { return 0 }
        return Int(v)
    }
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
        for (k, v) in config.values.sorted(by: { $0.key < $1.key }) {
            guard let option = options.first(where: { $0.name == k }) else {
                throw GraphCatalogError.badOption(
                    "graph '\(name)' has no option '\(k)' (options: \(options.map(\.name).joined(separator: ", ")))")
            }
            try option.check(v)
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
