import MetaLearning

extension Recipes {
    /// The Meta-Dataset-style benchmark (Triantafillou et al. 2020): Omniglot, Fashion-MNIST,
    /// MNIST-5k, digits and printed glyphs, one variable-shape episode per iteration from the
    /// Meta-Dataset sampler over every training source, padded into shape buckets.
    ///
    /// Both train an MLP 784-256-128-64 (per-example embeddings, so padding cannot leak in the
    /// way Conv-4's batch statistics would) with Adam 1e-3, as Meta-Dataset trains both
    /// learners with Adam; Proto-MAML is first-order with 3 inner steps at α = 0.01 (Meta-Dataset
    /// tunes 6–10 steps; fewer keeps the unrolled step small; α = 0.1 lost 30 points on
    /// Fashion-MNIST, see the README). `ways`, `shots` and `queries`
    /// are unused: episodes bring their own.
    static let multiSourceRecipes: [Recipe] = [
        Recipe(name: "protonet-multisource",
               summary: "ProtoNet on the Meta-Dataset sampler over omniglot, fashion-mnist, mnist, digits, glyphs (MLP, Adam 1e-3)",
               step: StepConfig(algorithm: .protonet, ways: 5, shots: 1, queries: 10, metaBatch: 1, innerSteps: 0, innerLR: 0,
                                optimizer: .adam, imageSize: 28, backbone: .mlp(hidden: [256, 128, 64])),
               trainWays: 5, trainQueries: 10, outerLR: 1e-3, halveEvery: 0, evalInnerSteps: 0, iterations: 10_000,
               multiSource: .protonet),
        Recipe(name: "protomaml-multisource",
               summary: "First-order Proto-MAML on the Meta-Dataset sampler over omniglot, fashion-mnist, mnist, digits, glyphs (MLP, 3 inner steps α=0.01)",
               step: StepConfig(algorithm: .fomaml, ways: 5, shots: 1, queries: 10, metaBatch: 1, innerSteps: 3, innerLR: 0.01,
                                optimizer: .adam, imageSize: 28, backbone: .mlp(hidden: [256, 128, 64])),
               trainWays: 5, trainQueries: 10, outerLR: 1e-3, halveEvery: 0, evalInnerSteps: 3, iterations: 10_000,
               multiSource: .protomaml),
    ]
}
