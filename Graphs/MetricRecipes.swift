import MetaLearning

extension Recipes {
    static func metric(_ a: Algorithm, ways: Int, queries: Int, innerSteps: Int = 0, innerLR: Double = 0) -> StepConfig {
        StepConfig(algorithm: a, ways: ways, shots: 1, queries: queries, metaBatch: 1, innerSteps: innerSteps,
                   innerLR: innerLR, optimizer: .adam, imageSize: 28, width: 64, strided: false)
    }

    /// Relation Networks, Matching Networks and the Chen et al. baselines.
    static var metricRecipes: [Recipe] {
        var list: [Recipe] = []
        // Relation Networks (Sung et al. 2018, and their code): one episode a step, Adam 1e-3
        // halved every 100k episodes, 1M episodes; training queries per class 19 (5w1s), 10 (20w1s);
        // gradients clipped at 0.5 in the step; evaluation uses the same queries per class.
        for (ways, queries) in [(5, 19), (20, 10)] {
            list.append(Recipe(name: "relationnet-omniglot-\(ways)w1s",
                               summary: "Relation Network Omniglot \(ways)-way 1-shot (Sung et al. 2018: Adam 1e-3 halved every 100k, \(queries) queries/class)",
                               step: metric(.relationnet, ways: ways, queries: queries),
                               trainWays: ways, trainQueries: queries, outerLR: 1e-3, halveEvery: 100_000, evalInnerSteps: 0,
                               iterations: 1_000_000))
        }
        // Matching Networks (Vinyals et al. 2016): cosine attention; `--fce` for full context
        // embeddings. Adam 1e-3, one episode a step, 15 queries per class.
        list.append(Recipe(name: "matchingnet-omniglot-5w1s",
                           summary: "Matching Network Omniglot 5-way 1-shot (Vinyals et al. 2016; --fce for full context embeddings)",
                           step: metric(.matchingnet, ways: 5, queries: 15),
                           trainWays: 5, trainQueries: 15, outerLR: 1e-3, halveEvery: 0, evalInnerSteps: 0, iterations: 100_000))
        // Baseline / Baseline++ (Chen et al. 2019): Conv-4 + one classifier over all training
        // classes, Adam 1e-3, mini-batches of 16 (8 classes × 2 images); at test a new head is
        // fitted on the support set by 100 full-batch gradient steps of rate 0.2.
        for (a, name) in [(Algorithm.baseline, "baseline"), (.baselinepp, "baselinepp")] {
            let step = metric(a, ways: 5, queries: 15, innerSteps: 100, innerLR: 0.2)
            list.append(Recipe(name: "\(name)-omniglot-5w1s",
                               summary: "\(a == .baseline ? "Baseline" : "Baseline++")" + " Omniglot 5-way 1-shot (Chen et al. 2019; head fitted 100 steps per episode)",
                               step: step, trainWays: 8, trainQueries: 1, outerLR: 1e-3, halveEvery: 0, evalInnerSteps: 100,
                               iterations: 40_000))
        }
        return list
    }
}
