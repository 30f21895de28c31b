import MetaIR

/// A `StepConfig` that no step can be built from.
public struct StepConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The field (`metaBatch`).
    public var field: String
    /// What is wrong with it.
    public var message: String

    /// Creates an error.
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    /// `step configuration: metaBatch must be at least 1, got 0`.
    public var description: String { "step configuration: \(field) \(message)" }
}

extension StepConfig {
    /// Most tasks a step unrolls: each is its own copy of the network (and of its inner
    /// loop) in the graph, so a larger meta-batch takes minutes to trace before any check on
    /// memory can run.
    public static let maximumMetaBatch = 1024
    /// Most inner steps a step unrolls, for the same reason.
    public static let maximumInnerSteps = 100

    /// Throws a `StepConfigError` for a configuration `StepBuilder` cannot build: a count
    /// below its minimum, a learning rate that is not finite, more tasks or inner steps than
    /// it unrolls, or an input whose element count overflows.
    public func validate() throws {
        func atLeast(_ minimum: Int, _ value: Int, _ field: String) throws {
            guard value >= minimum else { throw StepConfigError(field: field, message: "must be at least \(minimum), got \(value)") }
        }
        try atLeast(1, metaBatch, "metaBatch")
        try atLeast(1, ways, "ways")
        try atLeast(1, shots, "shots")
        try atLeast(1, queries, "queries")
        try atLeast(0, innerSteps, "innerSteps")
        try atLeast(1, imageSize, "imageSize")
        try atLeast(1, width, "width")
        if case .mlp(let hidden) = backbone {
            guard !hidden.isEmpty, hidden.allSatisfy({ $0 >= 1 }) else {
                throw StepConfigError(field: "backbone", message: "needs hidden widths of at least 1, got \(backbone)")
            }
        }
        if case .mnistSeed(let hidden) = backbone {
            guard hidden >= 1 else { throw StepConfigError(field: "backbone", message: "needs an FC width of at least 1, got \(backbone)") }
            guard imageSize >= 6 else {
                throw StepConfigError(field: "imageSize", message: "is \(imageSize); the mnist-seed network's two 3×3 convolutions and 2×2 pool need at least 6")
            }
        }
        guard metaBatch <= Self.maximumMetaBatch else {
            throw StepConfigError(field: "metaBatch", message: "is \(metaBatch); at most \(Self.maximumMetaBatch) tasks are unrolled into one step")
        }
        guard innerSteps <= Self.maximumInnerSteps else {
            throw StepConfigError(field: "innerSteps", message: "is \(innerSteps); at most \(Self.maximumInnerSteps) inner steps are unrolled")
        }
        guard innerLR.isFinite, innerLR >= 0 else {
            throw StepConfigError(field: "innerLR", message: "must be a finite number of at least 0, got \(innerLR)")
        }
        // The inputs' shapes are products of these; the DSL checks the shapes, but only once
        // they exist, and computing them must not trap first.
        for (field, perClass) in [("shots", shots), ("queries", queries)] {
            let dims = [metaBatch, ways, perClass, imageSize, imageSize]
            guard Shape(dims).checkedCount != nil else {
                throw StepConfigError(field: field, message: "makes an input of \(dims.map(String.init).joined(separator: "×")) elements, more than fit in a 64-bit count")
            }
        }
    }
}
