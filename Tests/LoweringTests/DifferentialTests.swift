import Autodiff
import GraphDSL
import Graphs
import Interpreter
import JIT
import MetaIR
import Runtime
import Testing

/// A small graph per primitive (and a few fusion patterns), built with the DSL.
struct PrimitiveCase: CustomStringConvertible, Sendable {
    var name: String
    var inputs: [(String, TensorType)]
    var f: @Sendable (GraphBuilder, [Tensor]) throws -> Tensor
    var description: String { name }

    init(_ name: String, _ shapes: [Shape], dtypes: [DType]? = nil, _ f: @escaping @Sendable (GraphBuilder, [Tensor]) throws -> Tensor) {
        self.name = name
        inputs = shapes.enumerated().map { ("x\($0.offset)", TensorType(dtypes?[$0.offset] ?? .f32, $0.element)) }
        self.f = f
    }

    func graph() throws -> Graph {
        let b = GraphBuilder(name: "case")
        let xs = try inputs.map { try b.input($0.0, $0.1.shape, dtype: $0.1.dtype) }
        b.output("y", try f(b, xs))
        return try b.finish()
    }
}

let primitiveCases: [PrimitiveCase] = [
    PrimitiveCase("neg", [[3, 4]]) { _, x in try x[0].unary(.neg) },
    PrimitiveCase("exp", [[3, 4]]) { _, x in try exp(x[0]) },
    PrimitiveCase("log", [[3, 4]]) { _, x in try log(x[0] * x[0] + 0.5) },
    PrimitiveCase("sqrt", [[3, 4]]) { _, x in try sqrt(x[0] * x[0]) },
    PrimitiveCase("tanh", [[3, 4]]) { _, x in try tanh(x[0]) },
    PrimitiveCase("relu", [[3, 4]]) { _, x in try relu(x[0]) },
    PrimitiveCase("add sub mul div", [[3, 4], [3, 4]]) { _, x in try (x[0] + x[1]) * (x[0] - x[1]) / (x[1] * x[1] + 1) },
    PrimitiveCase("max min", [[3, 4], [3, 4]]) { _, x in try maximum(x[0], x[1]) - minimum(x[0], x[1]) },
    PrimitiveCase("select compare", [[3, 4], [3, 4]]) { _, x in try select(x[0].compare(.gt, x[1]), x[0], x[1] * 2) },
    PrimitiveCase("compare all", [[5], [5]]) { _, x in
        var acc = try x[0].compare(.eq, x[1]).cast(to: .f32)
        for c in [CompareOp.ne, .lt, .le, .gt, .ge] { acc = try acc * 2 + x[0].compare(c, x[1]).cast(to: .f32) }
        return acc
    },
    PrimitiveCase("reduce_sum keep", [[2, 3, 4]]) { _, x in try x[0].sum(axes: [1], keepDims: true) },
    PrimitiveCase("reduce_sum drop", [[2, 3, 4]]) { _, x in try x[0].sum(axes: [0, 2]) },
    PrimitiveCase("reduce_sum all", [[5, 7]]) { _, x in try (x[0] * x[0]).sum(axes: [0, 1]) },
    PrimitiveCase("reduce_max", [[2, 3, 4]]) { _, x in try x[0].max(axes: [2]) },
    PrimitiveCase("reduce_max keep", [[2, 3, 4]]) { _, x in try x[0].max(axes: [0, 1], keepDims: true) },
    PrimitiveCase("argmax", [[3, 5]]) { _, x in try x[0].argmax(axis: 1).cast(to: .f32) },
    PrimitiveCase("argmax axis0", [[4, 3]]) { _, x in try x[0].argmax(axis: 0).cast(to: .f32) },
    PrimitiveCase("matmul", [[3, 4], [4, 5]]) { _, x in try x[0].matmul(x[1]) },
    PrimitiveCase("matmul transposed", [[4, 3], [5, 4]]) { _, x in try x[0].transposed().matmul(x[1].transposed()) },
    PrimitiveCase("matmul batched", [[2, 3, 4], [2, 4, 2]]) { _, x in try x[0].matmul(x[1]) },
    PrimitiveCase("matmul + bias + relu", [[6, 4], [4, 5], [5]]) { _, x in try relu(linear(x[0], x[1], x[2])) },
    PrimitiveCase("conv2d s1 p1", [[2, 2, 5, 5], [3, 2, 3, 3]]) { _, x in try x[0].conv2d(x[1], stride: 1, padding: 1) },
    PrimitiveCase("conv2d s2 p1", [[1, 2, 6, 6], [2, 2, 3, 3]]) { _, x in try x[0].conv2d(x[1], stride: 2, padding: 1) },
    PrimitiveCase("conv2d s2 p0 odd", [[2, 1, 7, 5], [2, 1, 3, 3]]) { _, x in try x[0].conv2d(x[1], stride: 2, padding: 0) },
    PrimitiveCase("conv + bias + relu", [[2, 2, 5, 5], [3, 2, 3, 3], [3]]) { _, x in
        try relu(x[0].conv2d(x[1], stride: 1, padding: 1) + x[2].reshaped([1, 3, 1, 1]))
    },
    PrimitiveCase("conv2d_input_grad", [[1, 3, 3, 3], [3, 2, 3, 3]]) { b, x in
        try b.apply(.conv2dInputGrad(stride: 2, padding: 1), [x[0], x[1]], declared: TensorType(.f32, [1, 2, 6, 6]))
    },
    PrimitiveCase("conv2d_filter_grad", [[1, 2, 6, 6], [1, 3, 3, 3]]) { b, x in
        try b.apply(.conv2dFilterGrad(stride: 2, padding: 1), [x[0], x[1]], declared: TensorType(.f32, [3, 2, 3, 3]))
    },
    PrimitiveCase("reshape", [[2, 6]]) { _, x in try exp(x[0]).reshaped([3, 4]) },
    PrimitiveCase("permute", [[2, 3, 4]]) { _, x in try (x[0] * 2).permuted([2, 0, 1]) },
    PrimitiveCase("permute then reshape", [[2, 3, 4]]) { _, x in try x[0].permuted([2, 0, 1]).reshaped([4, 6]) + 1 },
    PrimitiveCase("broadcast", [[3, 1]]) { _, x in try x[0].broadcast(to: [2, 3, 4]) },
    PrimitiveCase("broadcast of exp", [[3, 1]]) { _, x in try exp(x[0] * 3).broadcast(to: [2, 3, 4]) },
    PrimitiveCase("slice", [[4, 5]]) { _, x in try x[0].slice(start: [1, 0], end: [3, 4]) },
    PrimitiveCase("pad", [[2, 3]]) { _, x in try x[0].padded(low: [1, 0], high: [0, 2]) },
    PrimitiveCase("pad of exp", [[2, 3]]) { _, x in try exp(x[0]).padded(low: [1, 1], high: [1, 0]) },
    PrimitiveCase("concat", [[2, 3], [2, 2]]) { _, x in try concat([x[0], exp(x[1])], axis: 1) },
    PrimitiveCase("cast to i32 and back", [[6]]) { _, x in try (x[0] * 7).cast(to: .i32).cast(to: .f32) },
    PrimitiveCase("cast f32 to f64", [[3]]) { _, x in try exp(x[0].cast(to: .f64)).cast(to: .f32) },
    PrimitiveCase("one_hot", [[4]], dtypes: [.i32]) { _, x in try x[0].oneHot(depth: 3) },
    PrimitiveCase("iota", [[2, 3]]) { b, x in try x[0] + b.apply(.iota(axis: 1), [], declared: TensorType(.f32, [2, 3])) },
    PrimitiveCase("softmax cross-entropy", [[5, 4], [5]], dtypes: [.f32, .i32]) { _, x in try crossEntropy(logits: x[0], labels: x[1]) },
    PrimitiveCase("batch norm", [[3, 2, 4, 4], [2], [2]]) { _, x in try batchNorm(x[0], gamma: x[1], beta: x[2]) },
    PrimitiveCase("max pool", [[1, 2, 5, 4]]) { _, x in try maxPool2x2(x[0]) },
    PrimitiveCase("random_uniform", [[4, 5], [4, 5]], dtypes: [.i32, .i32]) { b, x in
        // Negative seeds and counters (as unsigned bit patterns) and large ones, through iota.
        let counter = try x[1] * b.constant(-977, [4, 5], dtype: .i32) + linearIndex([4, 5], in: b)
        return try (x[0] + b.constant(2_000_000_011, [4, 5], dtype: .i32)).randomUniform(counter: counter)
    },
    PrimitiveCase("random_uniform f64", [[3, 2]], dtypes: [.i32]) { b, x in
        try x[0].randomUniform(counter: linearIndex([3, 2], in: b), dtype: .f64).cast(to: .f32)
    },
    PrimitiveCase("dropout", [[2, 3, 4, 4], []], dtypes: [.f32, .i32]) { _, x in
        try exp(dropout(x[0], keep: 0.75, seed: x[1], stream: 5))
    },
    PrimitiveCase("gather", [[7, 5], [3, 4]], dtypes: [.f32, .i32]) { _, x in try exp(x[0]).gather(x[1]) },
    PrimitiveCase("gather out of range", [[4, 3]]) { b, x in
        // Indices -3, 0, 3, 6, 9: three outside 0..<4 read zeros.
        let i = try b.apply(.iota(axis: 0), [], declared: TensorType(.i32, [5])) * b.constant(3, [5], dtype: .i32)
        return try x[0].gather(i - b.constant(3, [5], dtype: .i32)) + 1
    },
    PrimitiveCase("scatter_add", [[6, 5], [6]], dtypes: [.f32, .i32]) { _, x in try (x[0] * 2).scatterAdd(indices: x[1], rows: 3) },
    PrimitiveCase("scatter_add out of range", [[5, 2]]) { b, x in
        // Indices -1, 1, 3, 5, 7 into 4 rows: -1, 5 and 7 are dropped.
        let i = try b.apply(.iota(axis: 0), [], declared: TensorType(.i32, [5])) * b.constant(2, [5], dtype: .i32)
        return try x[0].scatterAdd(indices: i - b.constant(1, [5], dtype: .i32), rows: 4)
    },
    PrimitiveCase("masked LSTM encoder and its gradient", [[7, 3], [2, 5], [2, 5], [3, 8], [2, 8], [8]],
                  dtypes: [.f32, .i32, .f32, .f32, .f32, .f32]) { _, x in
        let h = try maskedLSTMEncoder(tokens: x[1], mask: x[2], table: x[0], wx: x[3], wh: x[4], b: x[5])
        return try Autodiff.grad(of: (h * h).sum(), wrt: [x[0]])[0]
    },
    PrimitiveCase("embedding gradient", [[6, 4], [2, 3]], dtypes: [.f32, .i32]) { _, x in
        // The table's gradient of Σ tanh(gather)²: scatter_add of gather-shaped updates.
        let y = try tanh(x[0].gather(x[1]))
        return try Autodiff.grad(of: (y * y).sum(), wrt: [x[0]])[0]
    },
]

/// Largest |a−b| relative to the larger of 1 and the reference's magnitude.
func maxRelativeError(_ a: HostTensor, _ b: HostTensor) -> Double {
    let scale = max(1, b.data.map(abs).max() ?? 0)
    return zip(a.data, b.data).map { x, y in x.isNaN && y.isNaN ? 0 : abs(x - y) / scale }.max() ?? 0
}

func expectAgreement(_ g: Graph, seed: UInt64 = 1, tolerance: Double, optLevels: [OptLevel] = [.O0, .O3],
                     sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
    let feeds = RandomFeeds.make(for: g, seed: seed)
    let reference = try Interpreter().run(g, feeds: feeds)
    for level in optLevels {
        let program = try CompiledProgram(graph: g, options: CompileOptions(optLevel: level, cache: nil))
        let got = try program.run(feeds)
        for o in g.outputs {
            guard let r = reference[o.name], let v = got[o.name] else {
                Issue.record("missing output \(o.name)", sourceLocation: sourceLocation)
                continue
            }
            #expect(v.shape == r.shape, "\(g.name) -O\(level) \(o.name)", sourceLocation: sourceLocation)
            let err = maxRelativeError(v, r)
            #expect(err <= tolerance, "\(g.name) -O\(level) output \(o.name): error \(err)", sourceLocation: sourceLocation)
        }
    }
}

@Suite struct DifferentialTests {
    @Test(arguments: primitiveCases)
    func primitiveAgreesWithInterpreter(_ c: PrimitiveCase) throws {
        try expectAgreement(try c.graph(), tolerance: 2e-5)
    }

    @Test(arguments: ["mlp", "conv4", "lstm-classifier", "attention-block"])
    func catalogGraphForwardAndGradient(_ name: String) throws {
        let built = try GraphCatalog.named(name).build()
        try expectAgreement(built.graph, tolerance: 1e-4)
        // The gradient graph of the loss with respect to every parameter.
        let g = try Autodiff.gradientGraph(built.graph, of: "loss")
        try expectAgreement(g, tolerance: 1e-3, optLevels: [.O3])
    }

    @Test func secondOrderMAMLSinusoid() throws {
        let built = try GraphCatalog.named("maml-sinusoid").build(GraphConfig(["tasks": 2, "steps": 2]))
        try expectAgreement(built.graph, tolerance: 1e-3)
    }

    @Test func secondOrderMAMLConv4() throws {
        let built = try GraphCatalog.named("maml-conv4").build(GraphConfig(["tasks": 1, "steps": 1, "ways": 2, "queries": 1, "width": 4, "image": 12]))
        try expectAgreement(built.graph, tolerance: 2e-3, optLevels: [.O3])
    }
}
