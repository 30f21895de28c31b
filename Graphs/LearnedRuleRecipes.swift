import MetaLearning

extension Recipes {
    /// Learned inner-loop rules on Omniglot: MAML++'s per-layer per-step rates (LSLR), LRAIN
    /// (ALFA's learned learning-rate network) and the LSTM meta-optimiser of Ravi & Larochelle.
    ///
    /// All on MAML's strided Conv-4, so they compare with `maml-omniglot-5w1s` and
    /// `metasgd-omniglot-5w1s` on the same network. Their per-step parameters exist for the
    /// trained number of inner steps only, so each evaluates with the steps it trained with.
    static var learnedRuleRecipes: [Recipe] {
        var list: [Recipe] = []
        // MAML++ (Antoniou et al. 2019), Omniglot: 5 inner steps at α = 0.1, meta-batch 16,
        // Adam 1e-3, evaluation with the same 5 steps; only LSLR of MAML++'s changes.
        list.append(Recipe(name: "mamlpp-omniglot-5w1s",
                           summary: "MAML++ learned per-layer per-step rates (LSLR) Omniglot 5-way 1-shot (5 steps, α₀ = 0.1)",
                           step: conv(.mamlpp, ways: 5, metaBatch: 16, steps: 5, lr: 0.1, strided: true),
                           trainWays: 5, trainQueries: 15, outerLR: 1e-3, halveEvery: 0, evalInnerSteps: 5, iterations: 60_000))
        // LRAIN / ALFA+MAML (Baik et al. 2020): 5 inner steps, α̂ starts at 0.1 and β̂ at
        // 0.1 · 5e-4 (ALFA's initial weight decay), meta-batch 16, Adam 1e-3; second order.
        list.append(Recipe(name: "lrain-omniglot-5w1s",
                           summary: "LRAIN learned learning-rate network (ALFA-style) Omniglot 5-way 1-shot (5 steps, α₀ = 0.1)",
                           step: conv(.lrain, ways: 5, metaBatch: 16, steps: 5, lr: 0.1, strided: true),
                           trainWays: 5, trainQueries: 15, outerLR: 1e-3, halveEvery: 0, evalInnerSteps: 5, iterations: 60_000))
        // The LSTM meta-optimiser (Ravi & Larochelle 2017): 20-unit first layer, input gate
        // starting at 0.1, 5 inner steps; meta-batch 4 (its coordinate-wise LSTM runs over all
        // ~113k learner weights at every step, the costliest rule here), Adam 1e-3. The paper's
        // set-up was miniImageNet's; these step counts are ours.
        list.append(Recipe(name: "metalstm-omniglot-5w1s",
                           summary: "LSTM meta-optimiser (Ravi & Larochelle 2017) Omniglot 5-way 1-shot (5 steps, input gate from 0.1)",
                           step: conv(.metalstm, ways: 5, metaBatch: 4, steps: 5, lr: 0.1, strided: true),
                           trainWays: 5, trainQueries: 15, outerLR: 1e-3, halveEvery: 0, evalInnerSteps: 5, iterations: 60_000))
        return list
    }
}
