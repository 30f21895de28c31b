import MetaLearning

/// A standard experimental set-up: one short command reproduces it
/// (`metajit train <recipe> --iterations I --out DIR`).
public struct Recipe: Sendable {
    /// Name (`maml-omniglot-5w1s`).
    public var name: String
    /// One-line description with the source of the hyperparameters.
    public var summary: String
    /// The evaluation set-up (test ways/shots) and inner loop.
    public var step: StepConfig
    /// Ways during meta-training (ProtoNet trains with more ways than it tests).
    public var trainWays: Int
    /// Queries per class during meta-training.
    public var trainQueries: Int
    /// Outer learning rate.
    public var outerLR: Double
    /// Halve the outer learning rate every this many iterations (0: constant).
    public var halveEvery: Int
    /// Inner steps at evaluation time (MAML evaluates with more steps than it trains with).
    public var evalInnerSteps: Int
    /// Meta-iterations of the published run.
    public var iterations: Int
    /// The `--data` default (`nil`: the bundled Omniglot).
    public var data: String? = nil
    /// Multi-source recipes: the learner (they train on padded Meta-Dataset episodes).
    public var multiSource: MultiSourceLearner? = nil
    /// Sequence recipes: the learner (they train on sequence episodes, see ``Recipes/sequenceStep(_:)``).
    public var sequence: SequenceLearner? = nil
    /// Few-shot text recipes: source, LSTM shape and learner (they train on text episodes).
    public var text: TextRecipe? = nil
    /// Sequence recipes: the default `--curriculum` (`CLASSES:BATCHES` stages before the full
    /// task; `nil`: none).
    public var curriculum: String? = nil
    /// Sequence recipes: the default `--jitter` (`DEG:PX` random rotation and translation of
    /// every training image; `nil`: none).
    public var jitter: String? = nil

    /// The training-time step configuration.
    public var trainStep: StepConfig {
        var c = step
        c.ways = trainWays
        c.queries = trainQueries
        return c
    }
}

/// The bundled recipes.
public enum Recipes {
    static func conv(_ a: Algorithm, ways: Int, metaBatch: Int, steps: Int, lr: Double, strided: Bool) -> StepConfig {
        StepConfig(algorithm: a, ways: ways, shots: 1, queries: 15, metaBatch: metaBatch, innerSteps: steps,
                   innerLR: lr, optimizer: .adam, imageSize: 28, width: 64, strided: strided)
    }

    /// All recipes.
    public static let all: [Recipe] = {
        var list: [Recipe] = []
        // MAML (Finn et al. 2017), Omniglot: strided Conv-4, Adam 1e-3; 5-way: 1 inner step α=0.4,
        // meta-batch 32; 20-way: 5 steps α=0.1, meta-batch 16; 60k iterations; 10 inner steps at test.
        for a in [Algorithm.maml, .fomaml, .metasgd, .anil] {
            list.append(Recipe(name: "\(a.rawValue)-omniglot-5w1s", summary: "\(a.rawValue.uppercased()) Omniglot 5-way 1-shot (MAML paper hyperparameters)",
                               step: conv(a, ways: 5, metaBatch: 32, steps: 1, lr: 0.4, strided: true),
                               trainWays: 5, trainQueries: 15, outerLR: 1e-3, halveEvery: 0, evalInnerSteps: 3, iterations: 60_000))
            list.append(Recipe(name: "\(a.rawValue)-omniglot-20w1s", summary: "\(a.rawValue.uppercased()) Omniglot 20-way 1-shot (MAML paper hyperparameters)",
                               step: conv(a, ways: 20, metaBatch: 16, steps: 5, lr: 0.1, strided: true),
                               trainWays: 20, trainQueries: 15, outerLR: 1e-3, halveEvery: 0, evalInnerSteps: 5, iterations: 60_000))
        }
        // Reptile (Nichol et al. 2018), Omniglot transductive 5-way 1-shot: inner SGD on the task,
        // Adam outer step here (as learn2learn does) instead of Reptile's interpolation.
        list.append(Recipe(name: "reptile-omniglot-5w1s", summary: "Reptile Omniglot 5-way 1-shot",
                           step: conv(.reptile, ways: 5, metaBatch: 5, steps: 5, lr: 0.1, strided: true),
                           trainWays: 5, trainQueries: 5, outerLR: 1e-3, halveEvery: 0, evalInnerSteps: 10, iterations: 100_000))
        // Prototypical Networks (Snell et al. 2017): max-pool Conv-4, 60 training ways, 5 queries,
        // Adam 1e-3 halved every 2000 episodes.
        for ways in [5, 20] {
            list.append(Recipe(name: "protonet-omniglot-\(ways)w1s", summary: "ProtoNet Omniglot \(ways)-way 1-shot (60-way training)",
                               step: StepConfig(algorithm: .protonet, ways: ways, shots: 1, queries: 15, metaBatch: 1,
                                                innerSteps: 0, innerLR: 0, optimizer: .adam, imageSize: 28, width: 64, strided: false),
                               trainWays: 60, trainQueries: 5, outerLR: 1e-3, halveEvery: 2000, evalInnerSteps: 0, iterations: 20_000))
        }
        list += mnistRecipes
        list += metricRecipes
        list += multiSourceRecipes
        list += learnedRuleRecipes
        list += sequenceRecipes
        list += textRecipes
        return list
    }()

    /// The recipe called `name`.
    public static func named(_ name: String) -> Recipe? { all.first { $0.name == name } }
}
