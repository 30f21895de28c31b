import GraphDSL
import MetaIR

/// The outer (meta) optimiser, compiled into the training step.
///
/// State lives in extra `param` nodes (`adam.m.<name>`, `adam.v.<name>`, `adam.b1t`, ...);
/// the step returns `update.<name>` outputs that the runtime writes back in place.
public enum OuterOptimizer: String, Sendable, Codable, CaseIterable {
    /// Adam (Kingma & Ba), β₁ = 0.9, β₂ = 0.999, ε = 1e-8, bias-corrected.
    case adam
    /// Plain SGD.
    case sgd

    /// Whether `name` is optimiser state (`adam.*`) rather than a learned parameter.
    public static func isStateName(_ name: String) -> Bool { name.hasPrefix("adam.") }

    /// Specs of the optimiser state for parameters `params`.
    public func stateSpecs(for params: [ParameterSpec]) -> [ParameterSpec] {
        switch self {
        case .sgd: return []
        case .adam:
            var specs: [ParameterSpec] = []
            for p in params {
                specs.append(ParameterSpec(name: "adam.m.\(p.name)", type: p.type, initializer: .zeros))
                specs.append(ParameterSpec(name: "adam.v.\(p.name)", type: p.type, initializer: .zeros))
            }
            specs.append(ParameterSpec(name: "adam.b1t", type: TensorType(.f32, .scalar), initializer: .ones))
            specs.append(ParameterSpec(name: "adam.b2t", type: TensorType(.f32, .scalar), initializer: .ones))
            return specs
        }
    }

    /// Emits the update of every parameter given its gradient; `learningRate` is a scalar
    /// tensor (an input, so schedules need no recompilation).
    public func update(params: Parameters, grads: [String: Tensor], state: Parameters,
                       learningRate: Tensor, builder b: GraphBuilder) throws {
        switch self {
        case .sgd:
            for n in params.names {
                guard let g = grads[n] else { continue }
                b.output(StepSignature.updateOutput(for: n), try params.tensor(n) - learningRate * g)
            }
        case .adam:
            let (beta1, beta2, eps) = (0.9, 0.999, 1e-8)
            let b1t = try state.tensor("adam.b1t") * beta1, b2t = try state.tensor("adam.b2t") * beta2
            b.output(StepSignature.updateOutput(for: "adam.b1t"), b1t)
            b.output(StepSignature.updateOutput(for: "adam.b2t"), b2t)
            // Bias corrections folded into the step size: lr·sqrt(1−β₂ᵗ)/(1−β₁ᵗ).
            let stepSize = try learningRate * sqrt(1 - b2t) / (1 - b1t)
            for n in params.names {
                guard let g = grads[n] else { continue }
                let m = try state.tensor("adam.m.\(n)") * beta1 + g * (1 - beta1)
                let v = try state.tensor("adam.v.\(n)") * beta2 + g * g * (1 - beta2)
                b.output(StepSignature.updateOutput(for: "adam.m.\(n)"), m)
                b.output(StepSignature.updateOutput(for: "adam.v.\(n)"), v)
                b.output(StepSignature.updateOutput(for: n), try params.tensor(n) - stepSize * m / (sqrt(v) + eps))
            }
        }
    }
}
