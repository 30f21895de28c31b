import Autodiff
import GraphDSL

/// The meta-gradient of a meta-batch's mean loss, built as the sum of per-task gradients
/// scaled by `scale` (`1 / metaBatch`).
///
/// Differentiating each task's loss right after its forward pass (``add(_:)``, passed as a
/// step's per-task hook) puts that task's backward pass next to its forward pass in the
/// schedule, so the memory planner frees its activations before the next task starts: peak
/// memory is one task's, not the whole meta-batch's.
final class PerTaskGradients {
    /// The summed gradients so far, by parameter name.
    var sums: [String: Tensor] = [:]
    private let params: Parameters
    private let scale: Double

    /// Sums gradients with respect to every tensor of `params`, each scaled by `scale`.
    init(_ params: Parameters, scale: Double) {
        self.params = params
        self.scale = scale
    }

    /// Adds the scaled gradient of one task's loss.
    func add(_ taskLoss: Tensor) throws {
        for (n, g) in zip(params.names, try Autodiff.grad(of: taskLoss, wrt: params.all)) {
            let part = try g * scale
            sums[n] = try sums[n].map { try $0 + part } ?? part
        }
    }
}
