import EpisodeData
import Foundation
import Graphs
import MetaIR
import MetaLearning
import Runtime

/// What a text run used, beside the ordinary ``RunRecord`` fields: the recipe's text set-up
/// with the vocabulary the tokeniser gave (checked again at evaluation), and the episode
/// file it trained on, if any.
struct TextRecord: Codable {
    var setup: TextRecipe
    var episodesFile: String?
}

/// Reading text corpora, feeding text batches, and episode files.
enum TextData {
    /// The source named by a recipe.
    static func source(_ setup: TextRecipe) throws -> TextSource {
        guard let s = TextSource(rawValue: setup.source) else {
            throw DataError(.invalidArgument, path: "", "unknown text source '\(setup.source)'; sources: \(TextSource.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return s
    }

    /// The step inputs of a batch.
    static func feeds(_ b: TextBatch) -> [String: FeedValue] {
        [TextSteps.support: .i32(b.support, b.supportShape), TextSteps.supportMask: .f32(b.supportMask, b.supportShape),
         TextSteps.query: .i32(b.query, b.queryShape), TextSteps.queryMask: .f32(b.queryMask, b.queryShape),
         TextSteps.queryLabels: .i32(b.queryLabels, b.labelShape)]
    }

    /// A sampler over `split` of `corpus` with the step's episode shape.
    static func sampler(_ corpus: TextCorpus, _ split: WordNetGlosses.Split, _ c: TextStepConfig, seed: UInt64) throws -> TextEpisodeSampler {
        try TextEpisodeSampler(classes: corpus.classes(split), tokenizer: corpus.tokenizer,
                               config: TextEpisodeConfig(ways: c.ways, shots: c.shots, queries: c.queries, length: c.length), seed: seed)
    }

    /// Episodes exported by `metajit text-episodes`, one split of them.
    struct EpisodeFile {
        var path: String
        var metadata: [String: String]
        var count: Int
        var support: [Int32], supportMask: [Float], query: [Int32], queryMask: [Float], labels: [Int32]
        var config: TextEpisodeConfig

        /// Reads split `split` (`train` or `test`) of `path`.
        /// - Throws: ``CheckpointError`` for a file that is not an export of this layout.
        init(path: String, split: String) throws {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CheckpointError(path: path, message: "cannot read the episode file")
            }
            let (tensors, metadata) = try SafeTensors.decode(typed: data, path: path)
            func int(_ key: String) throws -> Int {
                guard let v = metadata[key].flatMap(Int.init) else { throw CheckpointError(path: path, message: "metadata has no integer \"\(key)\"") }
                return v
            }
            config = TextEpisodeConfig(ways: try int("ways"), shots: try int("shots"), queries: try int("queries"), length: try int("length"))
            func i32(_ name: String) throws -> ([Int32], Shape) {
                guard case .i32(let v, let s)? = tensors["\(split)_\(name)"] else { throw CheckpointError(path: path, message: "no I32 tensor \"\(split)_\(name)\"") }
                return (v, s)
            }
            func f32(_ name: String) throws -> [Float] {
                guard case .f32(let v, _)? = tensors["\(split)_\(name)"] else { throw CheckpointError(path: path, message: "no F32 tensor \"\(split)_\(name)\"") }
                return v
            }
            let (s, shape) = try i32("support")
            let c = config
            guard shape.rank == 3, shape[1] == c.ways * c.shots, shape[2] == c.length, shape[0] >= 1 else {
                throw CheckpointError(path: path, message: "\(split)_support has shape \(shape), expected [E, \(c.ways * c.shots), \(c.length)]")
            }
            count = shape[0]
            support = s
            supportMask = try f32("support_mask")
            query = try i32("query").0
            queryMask = try f32("query_mask")
            labels = try i32("query_labels").0
            let nq = c.ways * c.queries
            guard supportMask.count == s.count, query.count == count * nq * c.length, queryMask.count == query.count, labels.count == count * nq else {
                throw CheckpointError(path: path, message: "\(split) tensors disagree with \(count) episodes of \(c.ways)-way \(c.shots)-shot \(c.queries)-query length \(c.length)")
            }
            self.path = path
            self.metadata = metadata
        }

        /// Batch `index` of `batchSize` episodes, episode `(index·B + j) mod E` (the file's
        /// episodes cycle when training runs longer than the file).
        func batch(at index: Int, batchSize: Int) -> TextBatch {
            let c = config
            let (sr, qr) = (c.ways * c.shots * c.length, c.ways * c.queries * c.length)
            let lr = c.ways * c.queries
            var b = TextBatch(index: index, batchSize: batchSize, config: c)
            for j in 0..<batchSize {
                let e = (index * batchSize + j) % count
                b.support += support[(e * sr)..<((e + 1) * sr)]
                b.supportMask += supportMask[(e * sr)..<((e + 1) * sr)]
                b.query += query[(e * qr)..<((e + 1) * qr)]
                b.queryMask += queryMask[(e * qr)..<((e + 1) * qr)]
                b.queryLabels += labels[(e * lr)..<((e + 1) * lr)]
            }
            return b
        }
    }
}
