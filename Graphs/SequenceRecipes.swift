import MetaLearning

extension Recipes {
    /// The sequence learners of issue 13, on the bundled Omniglot (meta-train alphabets for
    /// training, the held-out ones for validation and test). `step` carries the fields they
    /// share with the episodic learners: `ways`, `shots` (MANN: samples per class), `metaBatch`
    /// (episodes per batch), `imageSize` and `optimizer`; its algorithm and inner loop are
    /// unused (``sequenceStep(_:)`` reads the rest).
    ///
    /// - `mann-omniglot-5way`: Santoro et al. 2016, 5 classes × 10 samples (T = 50), 20×20
    ///   images, one-hot labels, batch 16. One-hot, not strings: the per-instance accuracies
    ///   we compare with (the paper's Table 1, 36.4 / 82.8 / 91.0 / 94.9 / 98.1%) are its
    ///   5-class one-hot results; the five-character string labels are the paper's 15-class
    ///   experiment (``SequenceStepConfig/stringLabels`` builds them). The paper trained with RMSProp at
    ///   1e-4 for 100,000 episodes; here Adam at 1e-3 with the gradient clipped to global norm
    ///   10, which learns within a budget of a few thousand batches (RMSProp 1e-4 barely
    ///   leaves chance in that time). `iterations` is the paper's episodes over the batch.
    ///   Training images are jittered (`--jitter 10:2`: rotations up to ±10°, shifts up to
    ///   ±2 px of the 20×20 image), as the paper augments Omniglot with random translations
    ///   and rotations besides the quarter-turn classes: at 24,000 batches held-out accuracy
    ///   went from 77.3% to 84.1% over all steps, the 2nd instance from 71.3% to 81.7%
    ///   (`Benchmarks/results/sequence-2026-12-07.md`; `--jitter none` turns it off).
    /// - `snail-omniglot-5w1s` / `-20w1s`: Mishra et al. 2018, 1-shot, T = N + 1, 28×28 images;
    ///   batch 32 (5-way) and 16 (20-way: 21 steps per episode, so about the same images per
    ///   call, 336 vs 192), Adam 1e-3 (the paper's optimiser; its batch size is not stated).
    ///   The 20-way recipe starts with a class curriculum (1,500 batches of 5 classes, then
    ///   1,000 of 10, over the same 21 steps and 20 label slots): without it, it stayed at
    ///   chance for 128,000 episodes; with it, 20-way validation left chance within 500
    ///   batches (`Benchmarks/results/snail20-curriculum-2026-12-06.md`).
    ///   The 5-way recipe runs 10,000 steps and halves the rate every 2,500: 91.5% held out
    ///   (600 episodes; 91.6% over 3,000), the best schedule measured
    ///   (`Benchmarks/results/snail-data-2026-12-07.md`).
    static let sequenceRecipes: [Recipe] = [
        Recipe(name: "mann-omniglot-5way",
               summary: "MANN (Santoro et al. 2016) Omniglot 5 classes × 10 samples, one-hot labels, LSTM 200, memory 128×40, 4 heads, batch 16, jittered images",
               step: sequenceConfig(ways: 5, shots: 10, batch: 16, imageSize: 20),
               trainWays: 5, trainQueries: 0, outerLR: 1e-3, halveEvery: 0, evalInnerSteps: 0, iterations: 100_000 / 16,
               sequence: .mann, jitter: "10:2"),
        Recipe(name: "snail-omniglot-5w1s",
               summary: "SNAIL (Mishra et al. 2018) Omniglot 5-way 1-shot, Conv-4 embedding, batch 32, rate halved every 2,500 steps",
               step: sequenceConfig(ways: 5, shots: 1, batch: 32, imageSize: 28),
               trainWays: 5, trainQueries: 0, outerLR: 1e-3, halveEvery: 2_500, evalInnerSteps: 0, iterations: 10_000,
               sequence: .snail),
        Recipe(name: "snail-omniglot-20w1s",
               summary: "SNAIL (Mishra et al. 2018) Omniglot 20-way 1-shot, Conv-4 embedding, batch 16, class curriculum 5 → 10 → 20",
               step: sequenceConfig(ways: 20, shots: 1, batch: 16, imageSize: 28),
               trainWays: 20, trainQueries: 0, outerLR: 1e-3, halveEvery: 0, evalInnerSteps: 0, iterations: 40_000,
               sequence: .snail, curriculum: "5:1500,10:1000"),
    ]

    static func sequenceConfig(ways: Int, shots: Int, batch: Int, imageSize: Int) -> StepConfig {
        StepConfig(algorithm: .protonet, ways: ways, shots: shots, queries: 0, metaBatch: batch, innerSteps: 0, innerLR: 0,
                   optimizer: .adam, imageSize: imageSize)
    }

    /// The sequence step of a recipe with a ``Recipe/sequence`` learner (nil otherwise):
    /// ways, samples per class, batch and image size from its `step`; labels one-hot; the model sizes are the papers'.
    public static func sequenceStep(_ recipe: Recipe) -> SequenceStepConfig? {
        guard let learner = recipe.sequence else { return nil }
        var c = SequenceStepConfig(learner: learner, ways: recipe.step.ways, samplesPerClass: recipe.step.shots,
                                   batchSize: recipe.step.metaBatch, imageSize: recipe.step.imageSize)
        c.optimizer = recipe.step.optimizer
        return c
    }
}
