extension Op {
    /// An `Op` case without its attributes: the closed list of primitive kinds.
    ///
    /// Tests that must cover every primitive (gradient rules, interpreter kernels) enumerate
    /// `Op.allRepresentative` instead of hand-written lists, and both switches here are
    /// exhaustive, so a new `Op` case fails to compile until it has a kind and representatives.
    public enum Kind: String, CaseIterable, Hashable, Sendable {
        /// `Op.input`.
        case input
        /// `Op.parameter`.
        case parameter
        /// `Op.constant`.
        case constant
        /// `Op.iota`.
        case iota
        /// `Op.unary`.
        case unary
        /// `Op.binary`.
        case binary
        /// `Op.compare`.
        case compare
        /// `Op.select`.
        case select
        /// `Op.reduce`.
        case reduce
        /// `Op.argmax`.
        case argmax
        /// `Op.matmul`.
        case matmul
        /// `Op.conv2d`.
        case conv2d
        /// `Op.conv2dInputGrad`.
        case conv2dInputGrad
        /// `Op.conv2dFilterGrad`.
        case conv2dFilterGrad
        /// `Op.reshape`.
        case reshape
        /// `Op.permute`.
        case permute
        /// `Op.broadcast`.
        case broadcast
        /// `Op.slice`.
        case slice
        /// `Op.pad`.
        case pad
        /// `Op.concat`.
        case concat
        /// `Op.oneHot`.
        case oneHot
        /// `Op.cast`.
        case cast
        /// `Op.stopGradient`.
        case stopGradient
        /// `Op.randomUniform`.
        case randomUniform
        /// `Op.gather`.
        case gather
        /// `Op.scatterAdd`.
        case scatterAdd

        /// One op per distinct mnemonic of this kind (every unary, binary, comparison and
        /// reduction variant), with placeholder attributes: the ops are for enumeration, not
        /// for building graphs.
        public var representatives: [Op] {
            switch self {
            case .input: return [.input(name: "x")]
            case .parameter: return [.parameter(name: "w")]
            case .constant: return [.constant(0)]
            case .iota: return [.iota(axis: 0)]
            case .unary: return UnaryOp.allCases.map { .unary($0) }
            case .binary: return BinaryOp.allCases.map { .binary($0) }
            case .compare: return CompareOp.allCases.map { .compare($0) }
            case .select: return [.select]
            case .reduce: return ReduceOp.allCases.map { .reduce($0, axes: [0], keepDims: false) }
            case .argmax: return [.argmax(axis: 0)]
            case .matmul: return [.matmul]
            case .conv2d: return [.conv2d(stride: 1, padding: 0)]
            case .conv2dInputGrad: return [.conv2dInputGrad(stride: 1, padding: 0)]
            case .conv2dFilterGrad: return [.conv2dFilterGrad(stride: 1, padding: 0)]
            case .reshape: return [.reshape]
            case .permute: return [.permute([0])]
            case .broadcast: return [.broadcast]
            case .slice: return [.slice(start: [0], end: [1])]
            case .pad: return [.pad(low: [0], high: [0])]
            case .concat: return [.concat(axis: 0)]
            case .oneHot: return [.oneHot(depth: 1)]
            case .cast: return [.cast]
            case .stopGradient: return [.stopGradient]
            case .randomUniform: return [.randomUniform]
            case .gather: return [.gather]
            case .scatterAdd: return [.scatterAdd]
            }
        }
    }

    /// This op's kind.
    public var kind: Kind {
        switch self {
        case .input: return .input
        case .parameter: return .parameter
        case .constant: return .constant
        case .iota: return .iota
        case .unary: return .unary
        case .binary: return .binary
        case .compare: return .compare
        case .select: return .select
        case .reduce: return .reduce
        case .argmax: return .argmax
        case .matmul: return .matmul
        case .conv2d: return .conv2d
        case .conv2dInputGrad: return .conv2dInputGrad
        case .conv2dFilterGrad: return .conv2dFilterGrad
        case .reshape: return .reshape
        case .permute: return .permute
        case .broadcast: return .broadcast
        case .slice: return .slice
        case .pad: return .pad
        case .concat: return .concat
        case .oneHot: return .oneHot
        case .cast: return .cast
        case .stopGradient: return .stopGradient
        case .randomUniform: return .randomUniform
        case .gather: return .gather
        case .scatterAdd: return .scatterAdd
        }
    }

    /// One op for every mnemonic of the IR, in `Kind` order.
    public static var allRepresentative: [Op] { Kind.allCases.flatMap(\.representatives) }
}
