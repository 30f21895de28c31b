import Foundation

/// The nearest-centroid baseline of few-shot text episodes: no learning, just counts.
///
/// Features: for sentences (``TextSource/wordnet``) a bag of words (``WordTokenizer/words(_:)``,
/// every word, not only the vocabulary's); for words (``TextSource/langid``) the character
/// 1-, 2- and 3-grams of the word with `<` and `>` marking its start and end (`cat` →
/// `c a t <c ca at t> <ca cat at>`). Each text's count vector is L2-normalised; a class
/// centroid is the mean of its support vectors; a query goes to the centroid of highest
/// cosine similarity (ties to the lower class), i.e. nearest in angle.
public enum NearestCentroidBaseline {
    /// The feature counts of `text`.
    public static func features(_ text: String, source: TextSource) -> [String: Double] {
        var counts: [String: Double] = [:]
        switch source {
        case .wordnet:
            for w in WordTokenizer.words(text) { counts[w, default: 0] += 1 }
        case .langid:
            let chars = Array(text)
            for ch in chars { counts[String(ch), default: 0] += 1 }
            let marked = ["<"] + chars.map(String.init) + [">"]
            for n in 2...3 where marked.count >= n {
                for i in 0...(marked.count - n) { counts[marked[i..<(i + n)].joined(), default: 0] += 1 }
            }
        }
        return counts
    }

    static func normalised(_ v: [String: Double]) -> [String: Double] {
        let norm = v.values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? v.mapValues { $0 / norm } : v
    }

    /// Accuracy on one episode: `support` class-major (`ways` classes × `shots`), `query`
    /// class-major with `queries` per class.
    public static func accuracy(support: [String], query: [String], ways: Int, shots: Int, queries: Int, source: TextSource) -> Double {
        var centroids = [[String: Double]](repeating: [:], count: ways)
        for (r, s) in support.enumerated() {
            for (f, x) in normalised(features(s, source: source)) { centroids[r / shots][f, default: 0] += x / Double(shots) }
        }
        let norms = centroids.map { $0.values.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        var hits = 0
        for (r, s) in query.enumerated() {
            let q = normalised(features(s, source: source))
            var best = 0, bestScore = -Double.infinity
            for k in 0..<ways {
                let dot = q.reduce(0) { $0 + $1.value * (centroids[k][$1.key] ?? 0) }
                let score = norms[k] > 0 ? dot / norms[k] : 0
                if score > bestScore { best = k; bestScore = score }
            }
            if best == r / queries { hits += 1 }
        }
        return query.isEmpty ? 0 : Double(hits) / Double(query.count)
    }

    /// Per-episode accuracies on episodes `0..<episodes` of `sampler`.
    public static func evaluate(_ sampler: TextEpisodeSampler, source: TextSource, episodes: Int) -> [Double] {
        let c = sampler.config
        return (0..<episodes).map { e in
            let (_, support, query) = sampler.texts(ofEpisode: e)
            return accuracy(support: support, query: query, ways: c.ways, shots: c.shots, queries: c.queries, source: source)
        }
    }
}
