import Autodiff
import GraphDSL
import Interpreter
import MetaIR
import Testing

/// One row per primitive: arity and shapes, input domain, tolerance. First and second order.
struct GradRow: CustomStringConvertible, Sendable {
    var name: String
    var operands: [Operand]
    var tolerance: Double = 1e-6
    var f: @Sendable ([Tensor]) throws -> Tensor
    var description: String { name }
}

let gradTable: [GradRow] = [
    GradRow(name: "neg", operands: [Operand(shape: [3, 4])]) { try $0[0].unary(.neg) },
    GradRow(name: "exp", operands: [Operand(shape: [3, 4])]) { try exp($0[0]) },
    GradRow(name: "log", operands: [Operand(shape: [3, 4], domain: .positive)]) { try log($0[0]) },
    GradRow(name: "sqrt", operands: [Operand(shape: [3, 4], domain: .positive)]) { try sqrt($0[0]) },
    GradRow(name: "tanh", operands: [Operand(shape: [3, 4])]) { try tanh($0[0]) },
    GradRow(name: "relu", operands: [Operand(shape: [3, 4], domain: .awayFromZero)]) { try relu($0[0]) },
    GradRow(name: "add", operands: [Operand(shape: [3, 4]), Operand(shape: [3, 4])]) { try $0[0] + $0[1] },
    GradRow(name: "sub", operands: [Operand(shape: [3, 4]), Operand(shape: [3, 4])]) { try $0[0] - $0[1] },
    GradRow(name: "mul", operands: [Operand(shape: [3, 4]), Operand(shape: [3, 4])]) { try $0[0] * $0[1] },
    GradRow(name: "div", operands: [Operand(shape: [3, 4]), Operand(shape: [3, 4], domain: .positive)]) { try $0[0] / $0[1] },
    GradRow(name: "max", operands: [Operand(shape: [3, 4]), Operand(shape: [3, 4])]) { try maximum($0[0], $0[1]) },
    GradRow(name: "min", operands: [Operand(shape: [3, 4]), Operand(shape: [3, 4])]) { try minimum($0[0], $0[1]) },
    GradRow(name: "select+compare", operands: [Operand(shape: [3, 4]), Operand(shape: [3, 4]), Operand(shape: [3, 4])]) {
        try select($0[2].compare(.gt, $0[2].scalar(0)), $0[0], $0[1])
    },
    GradRow(name: "select+every comparison",
            operands: [Operand(shape: [3, 4]), Operand(shape: [3, 4]), Operand(shape: [3, 4], domain: .awayFromZero)]) {
        // Conditions away from zero, so finite differences never cross a comparison's boundary.
        var total = $0[0].scalar(0)
        for c in CompareOp.allCases { total = try total + select($0[2].compare(c, $0[2].scalar(0)), $0[0], $0[1]) }
        return total
    },
    GradRow(name: "stop_gradient (log-softmax shift)", operands: [Operand(shape: [3, 4])]) {
        // The stopped maximum cancels out of log-softmax's value, so the true derivative
        // ignores it, as the stop_gradient rule does; x·stop(x) would not be checkable.
        try logSoftmax($0[0], axis: 1)
    },
    GradRow(name: "reduce_sum keep", operands: [Operand(shape: [2, 3, 4])]) { try $0[0].sum(axes: [1], keepDims: true) },
    GradRow(name: "reduce_sum drop", operands: [Operand(shape: [2, 3, 4])]) { try $0[0].sum(axes: [0, 2]) },
    GradRow(name: "reduce_max", operands: [Operand(shape: [2, 3, 4])]) { try $0[0].max(axes: [2]) },
    GradRow(name: "reduce_max keep", operands: [Operand(shape: [2, 3, 4])]) { try $0[0].max(axes: [0, 1], keepDims: true) },
    GradRow(name: "matmul", operands: [Operand(shape: [3, 4]), Operand(shape: [4, 5])]) { try $0[0].matmul($0[1]) },
    GradRow(name: "matmul batched", operands: [Operand(shape: [2, 3, 4]), Operand(shape: [2, 4, 2])]) { try $0[0].matmul($0[1]) },
    GradRow(name: "conv2d s1 p1", operands: [Operand(shape: [2, 2, 5, 5]), Operand(shape: [3, 2, 3, 3])]) {
        try $0[0].conv2d($0[1], stride: 1, padding: 1)
    },
    GradRow(name: "conv2d s2 p1", operands: [Operand(shape: [1, 2, 6, 6]), Operand(shape: [2, 2, 3, 3])]) {
        try $0[0].conv2d($0[1], stride: 2, padding: 1)
    },
    GradRow(name: "conv2d_input_grad", operands: [Operand(shape: [1, 3, 3, 3]), Operand(shape: [3, 2, 3, 3])]) {
        try $0[0].builder.apply(.conv2dInputGrad(stride: 2, padding: 1), [$0[0], $0[1]], declared: TensorType(.f32, [1, 2, 6, 6]))
    },
    GradRow(name: "conv2d_filter_grad", operands: [Operand(shape: [1, 2, 6, 6]), Operand(shape: [1, 3, 3, 3])]) {
        try $0[0].builder.apply(.conv2dFilterGrad(stride: 2, padding: 1), [$0[0], $0[1]], declared: TensorType(.f32, [3, 2, 3, 3]))
    },
    GradRow(name: "reshape", operands: [Operand(shape: [2, 6])]) { try $0[0].reshaped([3, 4]) },
    GradRow(name: "permute", operands: [Operand(shape: [2, 3, 4])]) { try $0[0].permuted([2, 0, 1]) },
    GradRow(name: "broadcast", operands: [Operand(shape: [3, 1])]) { try $0[0].broadcast(to: [2, 3, 4]) },
    GradRow(name: "slice", operands: [Operand(shape: [4, 5])]) { try $0[0].slice(start: [1, 0], end: [3, 4]) },
    GradRow(name: "pad", operands: [Operand(shape: [2, 3])]) { try $0[0].padded(low: [1, 0], high: [0, 2]) },
    GradRow(name: "concat", operands: [Operand(shape: [2, 3]), Operand(shape: [2, 2])]) { try concat([$0[0], $0[1]], axis: 1) },
    GradRow(name: "cast f32→f64", operands: [Operand(shape: [3])]) { try exp($0[0].cast(to: .f64)) },
    GradRow(name: "one_hot (labels)", operands: [Operand(shape: [4], domain: .labels(3)), Operand(shape: [4, 3])]) {
        try $0[0].oneHot(depth: 3) * $0[1]
    },
    GradRow(name: "argmax (no gradient)", operands: [Operand(shape: [3, 4])]) {
        try $0[0].argmax(axis: 1).cast(to: .f32) + $0[0].sum(axes: [1])
    },
    GradRow(name: "iota+constant", operands: [Operand(shape: [2, 3])]) {
        try $0[0] * $0[0].builder.apply(.iota(axis: 1), [], declared: TensorType(.f32, [2, 3])) + 1.5
    },
    GradRow(name: "random_uniform (dropout mask)", operands: [Operand(shape: [3, 4])]) {
        // The mask is a constant of x: d/dx exp(drop(x)) = mask · exp(drop(x)), at both orders.
        try exp(dropout($0[0], keep: 0.5, seed: $0[0].builder.constant(7, .scalar, dtype: .i32), stream: 3))
    },
    GradRow(name: "gather (embedding, repeats)", operands: [Operand(shape: [5, 3]), Operand(shape: [2, 4], domain: .labels(5))]) {
        try $0[0].gather($0[1])
    },
    GradRow(name: "gather out of range", operands: [Operand(shape: [5, 3])]) {
        // Indices -2, 1, 4, 7: the two outside 0..<5 read zeros and take no gradient.
        let b = $0[0].builder
        let i = try b.apply(.iota(axis: 0), [], declared: TensorType(.i32, [4])) * b.constant(3, [4], dtype: .i32)
        return try $0[0].gather(i - b.constant(2, [4], dtype: .i32))
    },
    GradRow(name: "masked LSTM encoder over gather",
            operands: [Operand(shape: [6, 3]), Operand(shape: [2, 4], domain: .labels(6)), Operand(shape: [3, 8]),
                       Operand(shape: [2, 8]), Operand(shape: [8])]) {
        // Mask: the last position of every row is padding (state carried over).
        let b = $0[0].builder
        let mask = try b.apply(.iota(axis: 1), [], declared: TensorType(.i32, [2, 4])).compare(.lt, b.constant(3, [2, 4], dtype: .i32))
        return try maskedLSTMEncoder(tokens: $0[1], mask: mask.cast(to: .f32), table: $0[0], wx: $0[2], wh: $0[3], b: $0[4])
    },
    GradRow(name: "scatter_add", operands: [Operand(shape: [6, 3]), Operand(shape: [6], domain: .labels(4))]) {
        try $0[0].scatterAdd(indices: $0[1], rows: 4)
    },
]

@Suite struct PrimitiveGradientTests {
    @Test(arguments: gradTable)
    func firstAndSecondOrderMatchFiniteDifferences(row: GradRow) throws {
        try gradCheck(row.operands, tolerance: row.tolerance, row.f)
    }

    @Test func everyPrimitiveHasARow() throws {
        // What the rows really exercise: the ops in each row's traced graph (composites count
        // through their primitives), before differentiation adds any.
        var covered = Set<String>()
        for row in gradTable { covered.formUnion(try tracedMnemonics(row)) }
        // Parameters are leaves like inputs (no rule of their own); the rows feed inputs.
        let exempt: Set<String> = [Op.parameter(name: "w").mnemonic]
        for op in Op.allRepresentative where !exempt.contains(op.mnemonic) {
            #expect(covered.contains(op.mnemonic), "no gradient row exercises \(op.mnemonic)")
        }
    }

    /// The mnemonics of the nodes `row.f` builds on inputs of the row's operand types.
    private func tracedMnemonics(_ row: GradRow) throws -> Set<String> {
        let b = GraphBuilder(name: row.name)
        let xs = try row.operands.enumerated().map {
            try b.input("x\($0.offset)", $0.element.shape, dtype: $0.element.dtype)
        }
        b.output("y", try row.f(xs))
        return Set(try b.finish().nodes.map(\.op.mnemonic))
    }
}
