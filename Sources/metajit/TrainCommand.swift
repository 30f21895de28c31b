import ArgumentParser
import EpisodeData
import Foundation
import Graphs
import Interpreter
import MetaIR
import MetaLearning
import Runtime

/// `metajit train`: meta-train a few-shot learner on Omniglot episodes with a compiled step.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Meta-train a model on episodes (MAML family, ProtoNet, Relation/Matching Networks) or a Baseline classifier.",
        discussion: "Recipes: \(Recipes.all.map(\.name).joined(separator: ", ")). Flags override the recipe.")

    @Argument(help: "A recipe name (see above) or `conv4`.")
    var recipe: String

    @Option(help: "maml|fomaml|reptile|metasgd|anil|protonet|relationnet|matchingnet|baseline|baselinepp|mamlpp|lrain|metalstm") var algorithm: Algorithm?
    @Option(help: "fashion-mnist, mnist, digits, or Omniglot zips or folder (default: the bundled data/omniglot).") var data: String?
    @Option(name: .customLong("train-split"), help: "Comma-separated alphabets (MNIST family: labels) or a split file.") var trainSplit: String?
    @Option(name: .customLong("val-split"), help: "Validation alphabets (default: the test split).") var valSplit: String?
    @Option(name: .customLong("test-split"), help: "Held-out alphabets.") var testSplit: String?
    @Option(help: "Classes per task (evaluation).") var ways: Int?
    @Option(name: .customLong("train-ways"), help: "Classes per task in training (default: --ways; ProtoNet: 60).") var trainWays: Int?
    @Option(help: "Support examples per class.") var shots: Int?
    @Option(help: "Query examples per class.") var queries: Int?
    @Option(name: .customLong("meta-batch"), help: "Tasks per meta-iteration.") var metaBatch: Int?
    @Option(name: .customLong("inner-steps"), help: "Inner SGD steps.") var innerSteps: Int?
    @Option(name: .customLong("inner-lr"), help: "Inner learning rate.") var innerLR: Double?
    @Option(name: .customLong("outer-lr"), help: "Outer (Adam) learning rate.") var outerLR: Double?
    @Option(name: .customLong("halve-every"), help: "Halve the outer learning rate every N iterations, counted from iteration 0 (0: constant). Default: the recipe's.")
    var halveEvery: Int?
    @Option(help: "Conv-4 filters per block.") var width: Int?
    @Option(help: "Network: conv4, mlp[:W1,W2,…] (mlp alone: 256,128,64,64) or mnist-seed[:W] (FC width, 128).") var backbone: Backbone?
    @Option(help: "adam|sgd") var optimizer: OuterOptimizer?
    @Option(help: "Meta-iterations (total, including resumed ones).") var iterations: Int = 1000
    @Option(help: "Seed for initial weights and episodes.") var seed: UInt64 = 0
    @Option(help: "Output folder (checkpoint.safetensors, metrics.jsonl).") var out: String
    @Flag(help: "Continue from OUT/checkpoint.safetensors.") var resume = false
    @Option(name: .customLong("checkpoint-every"), help: "Iterations between checkpoints.") var checkpointEvery: Int = 50
    @Option(name: .customLong("eval-every"), help: "Iterations between validation runs (0: never).") var evalEvery: Int = 100
    @Option(name: .customLong("eval-episodes"), help: "Validation episodes per run.") var evalEpisodes: Int = 100
    @Option(help: "Execution back end (jit or interp).") var backend: BackendKind = .jit
    @Flag(help: "Matching Networks: full context embeddings (bidirectional and attention LSTMs).") var fce = false
    @Flag(help: "No progress line.") var quiet = false
    @OptionGroup var limit: MemoryLimitOptions
    @Option(help: "Threads per compiled step (per process).") var threads: Int = 2
    @Option(help: "How the step uses the threads: tasks (one share of the meta-batch per core) or kernels (each large kernel split between them).")
    var parallel: ParallelMode = .kernels
    @Option(help: "Data-parallel training across processes: mpi (start with `mpirun -np P metajit train …`).")
    var distributed: DistributedMode?
    @Option(name: .customLong("collective-timeout"),
            help: "With --distributed: seconds one allreduce or broadcast may wait for the other ranks before this rank gives up and the job ends (0: wait forever).")
    var collectiveTimeout: Double = 600
    @Option(help: "Multi-source recipes: comma-separated sources (default: omniglot,fashion-mnist,mnist,digits,glyphs).")
    var sources: String?
    @Option(name: .customLong("episodes-file"), help: "Text recipes: train on the train episodes of a `metajit text-episodes` export (they cycle if fewer than the iterations need).")
    var episodesFile: String?
    @Option(help: "MANN: label encoding, one-hot (default; also onehot) or strings (Santoro et al.'s five characters over {a..e}, 25 values).")
    var labels: SequenceLabelEncoding?
    @Option(help: "Sequence recipes: easier stages first, CLASSES:BATCHES[,…] (e.g. 5:1500,10:1500): each episode of a stage shows only that many classes, over the full task's steps and label slots; then the full task. Default: the recipe's (snail-omniglot-20w1s: 5:1500,10:1000); none: the full task from the start.")
    var curriculum: String?
    @Option(help: "Sequence recipes: rotate and shift every training image at random, DEG:PX (up to ±DEG degrees, ±PX pixels on each axis, bilinear; e.g. 10:2), as Santoro et al. augment Omniglot. Default: the recipe's; none: off. Validation and evaluation images are never jittered.")
    var jitter: String?
    @Option(name: .customLong("init-from"), help: "Start from another run's checkpoint (a file or run folder): learned parameters with the same name and shape are copied, the rest (and the optimiser state) start fresh. With --resume, an existing OUT checkpoint wins.")
    var initFrom: String?

    func validate() throws {
        for (flag, value) in [("--ways", ways), ("--train-ways", trainWays), ("--shots", shots), ("--queries", queries),
                              ("--meta-batch", metaBatch), ("--width", width), ("--iterations", iterations),
                              ("--checkpoint-every", checkpointEvery), ("--eval-episodes", evalEpisodes),
                              ("--threads", threads)] {
            try FlagCheck.atLeast(1, value, flag)
        }
        try FlagCheck.atLeast(0, innerSteps, "--inner-steps")
        try FlagCheck.atLeast(0, evalEvery, "--eval-every")
        try FlagCheck.finiteRate(innerLR, "--inner-lr", allowZero: true)
        try FlagCheck.finiteRate(outerLR, "--outer-lr")
        try FlagCheck.atLeast(0, halveEvery, "--halve-every")
        try FlagCheck.finiteRate(collectiveTimeout, "--collective-timeout", allowZero: true)
    }

    func run() throws {
        if labels != nil, Recipes.named(recipe)?.sequence == nil {
            throw ValidationError("--labels applies to the sequence recipe mann-omniglot-5way, not \(recipe)")
        }
        if curriculum != nil, Recipes.named(recipe)?.sequence == nil {
            throw ValidationError("--curriculum applies to the sequence recipes (mann-*, snail-*), not \(recipe)")
        }
        if jitter != nil, Recipes.named(recipe)?.sequence == nil {
            throw ValidationError("--jitter applies to the sequence recipes (mann-*, snail-*), not \(recipe)")
        }
        if let distributed { return try runDistributed(distributed) }
        if let base = Recipes.named(recipe), let learner = base.multiSource { return try runMultiSource(base, learner: learner) }
        if let base = Recipes.named(recipe), let text = base.text { return try runText(base, setup: text) }
        guard episodesFile == nil else { throw ValidationError("--episodes-file applies to the text recipes, not \(recipe)") }
        if let base = Recipes.named(recipe), let learner = base.sequence { return try runSequence(base, learner: learner) }
        guard sources == nil else { throw ValidationError("--sources applies to protonet-multisource and protomaml-multisource, not \(recipe)") }
        let record = try makeRecord()
        let outDir = URL(fileURLWithPath: out)
        let memoryLimit = try limit.resolve()
        if !record.trainStep.algorithm.isEpisodic { return try runBaseline(record, memoryLimit: memoryLimit) }
        // Data first: a missing source or one that cannot supply an episode fails before compiling.
        let trainData = try EpisodeSource.load(record.data, classes: record.trainSplit, rotations: record.rotations)
        let tc = record.trainStep
        let sampler = try EpisodeSampler(dataset: trainData, config: EpisodeConfig(
            ways: tc.ways, shots: tc.shots, queries: tc.queries, metaBatchSize: tc.metaBatch), seed: record.seed)
        let evaluate = try makeValidation(record, memoryLimit: memoryLimit)
        let trainGraph = try StepBuilder.trainStep(record.trainStep)
        let step = try ProgramFactory.makeTrainStep(record.trainStep, graph: trainGraph.graph, backend: backend, threads: threads,
                                                    parallel: parallel, memoryLimit: memoryLimit)
        // Fresh initial values; with --resume the trainer overwrites them from the checkpoint.
        let store = try initialStore(trainGraph.parameters, seed: record.seed, memoryLimit: memoryLimit)
        let halve = record.halveEvery, lr0 = record.outerLR
        let options = TrainerOptions(
            iterations: iterations, outputDirectory: outDir, checkpointEvery: max(checkpointEvery, 1),
            evaluateEvery: evalEvery, learningRate: { i in halve > 0 ? lr0 * pow(0.5, Double(i / halve)) : lr0 },
            tasksPerBatch: record.trainStep.metaBatch, progress: !quiet)
        let trainer = try Trainer(step: step, signature: trainGraph.signature, store: store, options: options,
                                  metadata: ["run": try record.encoded(), "format": "metajit-checkpoint-1"], resume: resume)

        let loader = try sampler.makeLoader(threads: 2, capacity: 4, start: trainer.iteration)
        defer { loader.stop() }
        let seeded = trainGraph.signature.inputs.contains(MNISTSeedNet.seedInputName)
        log("training \(record.recipe ?? "conv4") (\(tc.algorithm.rawValue) on \(tc.backbone), \(tc.ways)-way \(tc.shots)-shot, meta-batch \(tc.metaBatch)) on \(record.trainSplit.count) \(EpisodeSource.mnist(record.data) == nil ? "alphabets" : "classes of \(record.data)"), backend \(backend.rawValue), from iteration \(trainer.iteration)")
        try trainer.run(batch: { i in
            guard let b = try loader.next() else { return nil }
            precondition(b.index == i, "loader out of order")
            var feeds = BatchFeeds.make(b)
            if seeded { feeds[MNISTSeedNet.seedInputName] = .i32([DropoutSeed.value(run: record.seed, iteration: i)], []) }
            return feeds
        }, evaluate: evaluate)
        log("checkpoint: \(trainer.checkpointURL.path)")
    }

    func makeValidation(_ record: RunRecord, memoryLimit: MemoryLimit) throws -> ((ParameterStore) throws -> EvalResult)? {
        guard evalEvery > 0 else { return nil }
        var c = record.evalStep
        c.innerSteps = record.evalInnerSteps
        c.metaBatch = min(5, evalEpisodes)
        let graph = try StepBuilder.evalStep(c)
        let step = try ProgramFactory.make(graph.graph, backend: backend, memoryLimit: memoryLimit)
        let data = try EpisodeSource.load(record.data, classes: record.valSplit, rotations: [0])
        let sampler = try EpisodeSampler(dataset: data, config: EpisodeConfig(
            ways: c.ways, shots: c.shots, queries: c.queries, metaBatchSize: c.metaBatch), seed: 12345)
        let names = Set(graph.parameters.map(\.name))
        let episodes = evalEpisodes
        return { store in
            var subset = ParameterStore(specs: graph.parameters, seed: 0)
            for (n, v) in store.values where names.contains(n) { try subset.set(n, v) }
            return try Evaluator.evaluate(step: step, signature: graph.signature, store: subset, episodes: episodes) { i in
                BatchFeeds.make(try sampler.metaBatch(at: i))
            }
        }
    }

    func makeRecord() throws -> RunRecord {
        let base = Recipes.named(recipe)
        guard base != nil || recipe == "conv4" else {
            throw ValidationError("unknown recipe '\(recipe)'; available: conv4, \(Recipes.all.map(\.name).joined(separator: ", "))")
        }
        var step = base?.step ?? StepConfig(algorithm: .maml, ways: 5, shots: 1, queries: 15, metaBatch: 32,
                                            innerSteps: 1, innerLR: 0.4, strided: true)
        if let algorithm { step.algorithm = algorithm }
        if let ways { step.ways = ways }
        if let shots { step.shots = shots }
        if let queries { step.queries = queries }
        if let metaBatch { step.metaBatch = metaBatch }
        if let innerSteps { step.innerSteps = innerSteps }
        if let innerLR { step.innerLR = innerLR }
        if let width { step.width = width }
        if let backbone { step.backbone = backbone }
        if let optimizer { step.optimizer = optimizer }
        if fce {
            guard step.algorithm == .matchingnet else { throw ValidationError("--fce applies to matchingnet, not \(step.algorithm.rawValue)") }
            step.fce = true
        }
        let protonet = step.algorithm == .protonet || !step.algorithm.isEpisodic
        let source = try EpisodeSource.resolve(data ?? base?.data)
        let splits = EpisodeSource.defaultSplits(source)
        step.imageSize = EpisodeSource.imageSize(source)
        let testSplit = try testSplit.map(DataLocator.split) ?? splits.test
        return RunRecord(
            recipe: base?.name, evalStep: step,
            trainWays: trainWays ?? (ways != nil && !protonet ? step.ways : base?.trainWays ?? step.ways),
            trainQueries: queries ?? base?.trainQueries ?? step.queries,
            outerLR: outerLR ?? base?.outerLR ?? 1e-3, halveEvery: halveEvery ?? base?.halveEvery ?? 0,
            evalInnerSteps: innerSteps ?? base?.evalInnerSteps ?? step.innerSteps,
            data: source,
            trainSplit: try trainSplit.map(DataLocator.split) ?? splits.train,
            valSplit: try valSplit.map(DataLocator.split) ?? (testSplit == splits.test ? splits.validation : testSplit),
            testSplit: testSplit, rotations: EpisodeSource.mnist(source) == nil ? [0, 90, 180, 270] : [0], seed: seed)
    }
}


extension Algorithm: ExpressibleByArgument {}
extension OuterOptimizer: ExpressibleByArgument {}
extension BackendKind: ExpressibleByArgument {}
extension ParallelMode: ExpressibleByArgument {}
extension Backbone: ExpressibleByArgument {
    /// Parses `conv4`, `mlp[:W1,W2,…]` or `mnist-seed[:W]`.
    public init?(argument: String) { self.init(spec: argument) }
}

extension TrainCommand {
    /// Fresh values for `specs` drawn with `seed`, then, with `--init-from`, every learned
    /// parameter the named checkpoint holds with the same name and shape (the optimiser state
    /// always starts fresh). Logs what was copied and what kept its fresh value.
    /// - Throws: ``CheckpointError`` for an unreadable checkpoint or one that shares no
    ///   parameter with this run; ``MemoryLimitError`` when the values do not fit.
    func initialStore(_ specs: [ParameterSpec], seed: UInt64, memoryLimit: MemoryLimit) throws -> ParameterStore {
        var store = try ParameterStore(specs: specs, seed: seed, memoryLimit: memoryLimit)
        guard let initFrom else { return store }
        let url = Trainer.checkpointURL(initFrom)
        let report = try store.warmStart(from: url, including: { !OuterOptimizer.isStateName($0) })
        let fresh = report.reshaped.map { "\($0.name) (\($0.checkpoint) there, \($0.expected) here)" } + report.missing.map { "\($0) (absent)" }
        log("--init-from \(url.path): copied \(report.copied.count) of \(report.copied.count + fresh.count) learned parameters"
            + (fresh.isEmpty ? "" : "; fresh: " + fresh.joined(separator: ", ")))
        return store
    }
}

extension Trainer {
    /// The checkpoint a command-line path names: `path` itself, or the run's checkpoint when
    /// `path` is a run folder.
    static func checkpointURL(_ path: String) -> URL {
        let url = URL(fileURLWithPath: path)
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue else { return url }
        return url.appendingPathComponent(checkpointName)
    }
}
