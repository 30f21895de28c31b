import MetaLearning

extension Recipes {
    /// The seed's MAML-on-MNIST example (`maml-mnist-seed`): N-way tasks of digits drawn from
    /// the meta-train digits 0–4 and tested on the held-out digits 5–9, on the PyTorch MNIST
    /// example's network (Conv 1→32 3×3, Conv 32→64 3×3, max-pool, Dropout 0.25, FC 9216→128,
    /// Dropout 0.5, FC 128→N; inputs normalised with mean 0.1307, std 0.3081; log-softmax +
    /// NLL), second-order MAML with inner SGD α = 0.01 for 5 updates and outer SGD β = 0.01.
    /// N = 5 (the held-out split has 5 digits), 1 shot, 5 queries in training and 15 at test,
    /// meta-batch 4 (the FC layer makes each unrolled task large).
    static let mnistRecipes: [Recipe] = [
        Recipe(name: "maml-mnist-seed",
               summary: "MAML on MNIST digits 0-4 → 5-9, the seed example's network and α=β=0.01 (5-way 1-shot, 5 inner steps)",
               step: StepConfig(algorithm: .maml, ways: 5, shots: 1, queries: 15, metaBatch: 4, innerSteps: 5, innerLR: 0.01,
                                optimizer: .sgd, imageSize: 28, width: 64, strided: false, backbone: .mnistSeed(hidden: 128)),
               trainWays: 5, trainQueries: 5, outerLR: 0.01, halveEvery: 0, evalInnerSteps: 5, iterations: 2000,
               data: "mnist"),
    ]
}
