import ArgumentParser
import EpisodeData
import Foundation
import Graphs
import MetaIR
import MetaLearning
import Runtime

/// `metajit text-episodes`: exports a text recipe's episodes and initial ProtoNet-LSTM weights
/// as safetensors, for the PyTorch peer (`Benchmarks/peers/text_peer.py`).
///
/// Per split `s` in `train`, `test`: `{s}_support` i32 `[E, N·K, T]` (class-major: row `r`
/// has label `r / K`), `{s}_support_mask` f32 alike, `{s}_query` i32 `[E, N·Q, T]`,
/// `{s}_query_mask`, `{s}_query_labels` i32 `[E, N·Q]`; `table` `[V, E]`, `wx` `[E, 4H]`,
/// `wh` `[H, 4H]`, `b` `[4H]` as `metajit train RECIPE --seed S` initialises them. The train
/// episodes are those `metajit train RECIPE --seed S --meta-batch 1` samples (and what
/// `--episodes-file` trains on); the test episodes are those `metajit eval --seed T`
/// (default 2024) scores, so the two accuracies are on identical episodes.
struct TextEpisodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text-episodes", abstract: "Export a text recipe's train and test episodes and initial LSTM weights (safetensors) for the PyTorch peer.")

    @Argument(help: "A text recipe: protonet-wordnet-5w5s, maml-wordnet-5w5s, metasgd-wordnet-5w5s, protonet-langid-5w5s.")
    var recipe: String
    @Option(name: .customLong("train-episodes"), help: "Meta-train episodes to export.") var trainEpisodes: Int = 1000
    @Option(name: .customLong("test-episodes"), help: "Test episodes to export.") var testEpisodes: Int = 600
    @Option(help: "Seed of the train episodes and the initial weights (as `metajit train --seed`).") var seed: UInt64 = 0
    @Option(name: .customLong("test-seed"), help: "Seed of the test episodes (as `metajit eval --seed`).") var testSeed: UInt64 = 2024
    @Option(help: "Folder of the source's files (default: /usr/share/wordnet or /usr/share/hunspell).") var data: String?
    @Option(help: "Output .safetensors file.") var out: String

    func validate() throws {
        try FlagCheck.atLeast(1, trainEpisodes, "--train-episodes")
        try FlagCheck.atLeast(1, testEpisodes, "--test-episodes")
    }

    func run() throws {
        let textRecipes = Recipes.all.filter { $0.text != nil }.map(\.name)
        guard let base = Recipes.named(recipe), var setup = base.text else {
            throw ValidationError("'\(recipe)' is not a text recipe; text recipes: \(textRecipes.joined(separator: ", "))")
        }
        let source = try TextData.source(setup)
        let corpus = try TextCorpus.load(source, directory: data)
        setup.step.vocabulary = corpus.tokenizer.vocabularySize
        let c = setup.step
        var tensors: [String: TypedTensor] = [:]
        for (split, dataSplit, count, s) in [("train", WordNetGlosses.Split.train, trainEpisodes, seed), ("test", .test, testEpisodes, testSeed)] {
            let sampler = try TextData.sampler(corpus, dataSplit, c, seed: s)
            var b = TextBatch(index: 0, batchSize: 0, config: sampler.config)
            for e in 0..<count {
                let one = sampler.batch(at: e, batchSize: 1)
                b.support += one.support
                b.supportMask += one.supportMask
                b.query += one.query
                b.queryMask += one.queryMask
                b.queryLabels += one.queryLabels
            }
            b.batchSize = count
            tensors["\(split)_support"] = .i32(b.support, Shape(b.supportShape))
            tensors["\(split)_support_mask"] = .f32(b.supportMask, Shape(b.supportShape))
            tensors["\(split)_query"] = .i32(b.query, Shape(b.queryShape))
            tensors["\(split)_query_mask"] = .f32(b.queryMask, Shape(b.queryShape))
            tensors["\(split)_query_labels"] = .i32(b.queryLabels, Shape(b.labelShape))
        }
        // The same draw as `metajit train`: the learner's parameter list, this seed; the
        // encoder comes first in every learner's list, so its values do not depend on the learner.
        let store = ParameterStore(specs: TextSteps.learnedSpecs(c), seed: seed)
        for name in TextSteps.encoderNames {
            guard let v = store.values[name] else { continue }
            tensors[name] = .f32(v.data.map(Float.init), v.shape)
        }
        let metadata = ["ways": "\(c.ways)", "shots": "\(c.shots)", "queries": "\(c.queries)", "length": "\(c.length)",
                        "vocabulary": "\(c.vocabulary)", "embedding": "\(c.embedding)", "hidden": "\(c.hidden)",
                        "outer_lr": "\(base.outerLR)", "recipe": base.name, "gate_order": TextSteps.gateOrder, "forget_bias": "0",
                        "source": source.rawValue, "seed": "\(seed)", "test_seed": "\(testSeed)", "learner": c.learner.rawValue,
                        "train_classes": corpus.train.names.joined(separator: ","), "test_classes": corpus.test.names.joined(separator: ",")]
        try SafeTensors.writeAtomically(try SafeTensors.encode(typed: tensors, metadata: metadata), to: URL(fileURLWithPath: out))
        print("wrote \(out): \(trainEpisodes) train and \(testEpisodes) test \(c.ways)-way \(c.shots)-shot episodes of \(recipe) (length \(c.length), vocabulary \(c.vocabulary))")
    }
}
