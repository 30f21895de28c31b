import MetaIR

/// A model: a pure function of an input batch and explicit parameters.
public protocol Model {
    /// The parameters the model needs, with shapes and initialisers.
    var parameterSpecs: [ParameterSpec] { get }
    /// Applies the model to `x` with parameters `p`.
    func callAsFunction(_ x: Tensor, _ p: Parameters) throws -> Tensor
}

extension ParameterSpec {
    /// A Glorot-uniform `f32` weight of the given shape (fan-in/out from the last two axes,
    /// times the receptive field for convolution filters).
    public static func weight(_ name: String, _ shape: Shape) -> ParameterSpec {
        let receptive = shape.rank > 2 ? shape.dims[2...].reduce(1, *) : 1
        let (fanIn, fanOut): (Int, Int) = shape.rank == 4
            ? (shape[1] * receptive, shape[0] * receptive)
            : (shape[0], shape.rank > 1 ? shape[1] : shape[0])
        return ParameterSpec(name: name, type: TensorType(.f32, shape),
                             initializer: .glorotUniform(fanIn: fanIn, fanOut: fanOut))
    }

    /// A zero-initialised `f32` bias.
    public static func bias(_ name: String, _ shape: Shape) -> ParameterSpec {
        ParameterSpec(name: name, type: TensorType(.f32, shape), initializer: .zeros)
    }

    /// A one-initialised `f32` scale (batch-norm gamma).
    public static func scale(_ name: String, _ shape: Shape) -> ParameterSpec {
        ParameterSpec(name: name, type: TensorType(.f32, shape), initializer: .ones)
    }
}
