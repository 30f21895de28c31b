import ArgumentParser
import MetaIR
import Distributed
import EpisodeData
import Foundation
import MetaLearning
import Runtime

/// How `metajit train --distributed` spreads a run over processes.
enum DistributedMode: String, ExpressibleByArgument, CaseIterable {
    /// MPI (Open MPI): start with `mpirun -np P metajit train … --distributed mpi`.
    case mpi
}

extension TrainCommand {
    /// What to print when `--distributed mpi` runs outside `mpirun`.
    static let mpiHowToStart = """
        --distributed mpi: this process was not started by mpirun (no OMPI_COMM_WORLD_SIZE or PMIX_RANK in the \
        environment). Start every rank through Open MPI, e.g.
          mpirun -np 2 metajit train RECIPE --out DIR … --distributed mpi
        (as root add --allow-run-as-root; more ranks than cores: --oversubscribe; other hosts: --host a,b or \
        --hostfile FILE). Without --distributed, metajit trains in one process.
        """

    /// `--distributed mpi`: one rank of a data-parallel run. A failure on any rank is
    /// printed with the rank's number and ends the whole job (`MPI_Abort`), so no rank waits
    /// forever on a collective the failed one will never join.
    func runDistributed(_ mode: DistributedMode) throws {
        switch mode {
        case .mpi:
            guard MPICommunicator.launchEnvironment() != nil else { throw ValidationError(Self.mpiHowToStart) }
            let comm = try MPICommunicator.shared()
            comm.watch(limit: collectiveTimeout)
            do {
                try trainDataParallel(comm)
                MPICommunicator.finalize()
            } catch {
                FileHandle.standardError.write(Data("metajit: rank \(comm.rank) of \(comm.size): error: \(error)\n".utf8))
                comm.abort(code: 1)
            }
        }
    }

    private func trainDataParallel(_ reducer: GradientReducer) throws {
        let record = try makeRecord()
        let tc = record.trainStep
        let tasks = try MetaBatchShare.tasks(rank: reducer.rank, size: reducer.size, metaBatch: tc.metaBatch)
        let memoryLimit = try limit.resolve()
        let gradientGraph = try StepBuilder.gradientStep(tc, tasks: tasks.count)
        let updateGraph = try StepBuilder.updateStep(tc)
        let gradient = try ProgramFactory.make(gradientGraph.graph, backend: backend, threads: threads, memoryLimit: memoryLimit)
        let update = try ProgramFactory.make(updateGraph.graph, backend: backend, threads: threads, memoryLimit: memoryLimit)
        // Same specs and seed as the one-process step: every rank starts from the same values.
        let store = try initialStore(updateGraph.parameters, seed: record.seed, memoryLimit: memoryLimit)
        let halve = record.halveEvery, lr0 = record.outerLR
        let options = TrainerOptions(
            iterations: iterations, outputDirectory: URL(fileURLWithPath: out), checkpointEvery: max(checkpointEvery, 1),
            evaluateEvery: evalEvery, learningRate: { i in halve > 0 ? lr0 * pow(0.5, Double(i / halve)) : lr0 },
            tasksPerBatch: tc.metaBatch, progress: !quiet)
        let trainer = try DataParallelTrainer(
            gradientStep: gradient, gradientSignature: gradientGraph.signature, updateStep: update,
            updateSignature: updateGraph.signature, store: store, options: options,
            metadata: ["run": try record.encoded(), "format": "metajit-checkpoint-1"], resume: resume, reducer: reducer)
        // Every rank draws the whole meta-batch from the same seeded sampler and keeps its tasks.
        let trainData = try OmniglotDataset.load(path: record.data, alphabets: record.trainSplit, rotations: record.rotations)
        let sampler = try EpisodeSampler(dataset: trainData, config: EpisodeConfig(
            ways: tc.ways, shots: tc.shots, queries: tc.queries, metaBatchSize: tc.metaBatch), seed: record.seed)
        let loader = try sampler.makeLoader(threads: max(1, min(2, threads)), capacity: 4, start: trainer.iteration)
        defer { loader.stop() }
        let lead = reducer.rank == 0
        let evaluate = lead ? try makeValidation(record, memoryLimit: memoryLimit) : nil
        if lead {
            log("training \(record.recipe ?? "conv4") (\(tc.algorithm.rawValue), meta-batch \(tc.metaBatch)) on \(reducer.size) MPI ranks, rank 0 takes tasks \(tasks.map(String.init).joined(separator: ",")), \(threads) thread(s) per rank, from iteration \(trainer.iteration)")
        }
        try trainer.run(batch: { i in
            guard let b = try loader.next() else { return nil }
            guard b.index == i else { throw DistributedError.configuration("loader out of order: batch \(b.index) for iteration \(i)") }
            return BatchFeeds.make(b, tasks: tasks)
        }, evaluate: evaluate)
        if lead {
            let t = trainer.timing
            log(String(format: "distributed: %d ranks, %d iterations, %.3f ms per step (data excluded), allreduce %.1f%% of a step, %d bytes reduced per step, data wait %.3f ms per step",
                       reducer.size, t.iterations, t.stepSeconds * 1000, t.allreduceShare * 100, t.bufferBytes,
                       t.dataSeconds * 1000 / Double(max(t.iterations, 1))))
            log("checkpoint: \(trainer.checkpointURL.path)")
        }
    }
}

extension BatchFeeds {
    /// Step inputs for tasks `tasks` of meta-batch `b` (in that order).
    static func make(_ b: MetaBatch, tasks: [Int]) -> [String: FeedValue] {
        func pick<T>(_ values: [T], per: Int) -> [T] {
            var out: [T] = []
            out.reserveCapacity(per * tasks.count)
            for t in tasks { out.append(contentsOf: values[(t * per)..<((t + 1) * per)]) }
            return out
        }
        let image = b.imageShape.dims.reduce(1, *), ns = b.ways * b.shots, nq = b.ways * b.queries
        let n = tasks.count
        return [StepSignature.supportX: .f32(pick(b.supportX, per: ns * image), [n, ns] + b.imageShape.dims),
                StepSignature.supportY: .i32(pick(b.supportY, per: ns), [n, ns]),
                StepSignature.queryX: .f32(pick(b.queryX, per: nq * image), [n, nq] + b.imageShape.dims),
                StepSignature.queryY: .i32(pick(b.queryY, per: nq), [n, nq])]
    }
}
