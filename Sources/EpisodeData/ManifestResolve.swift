import Foundation

extension EpisodeManifest {
    /// The episode configuration of this manifest with meta-batch size `metaBatchSize`.
    public func config(metaBatchSize: Int) -> EpisodeConfig {
        EpisodeConfig(ways: ways, shots: shots, queries: queries, metaBatchSize: metaBatchSize)
    }

    /// Resolves every item against `dataset` and checks each episode (counts per label,
    /// one class per label, no repeated image), returning class-major ``Episode``s.
    /// - Parameter path: the manifest's path, for error messages.
    /// - Throws: ``DataError`` `.invalidManifest` naming the episode and item at fault.
    public func resolve<D: ManifestAddressable>(in dataset: D, path: String) throws -> [Episode] {
        guard !episodes.isEmpty else {
            throw DataError(.invalidManifest, path: path, "manifest lists no episodes")
        }
        return try episodes.enumerated().map { e, entry in
            try resolve(entry, number: e, in: dataset, path: path)
        }
    }

    private func resolve<D: ManifestAddressable>(_ entry: Entry, number e: Int, in dataset: D,
                                                 path: String) throws -> Episode {
        func fail(_ message: String) -> DataError {
            DataError(.invalidManifest, path: path, "episode \(e): \(message)")
        }
        // N, K and Q come from the file: multiply with overflow checks. Once the item counts
        // match, `ways` is at most the number of support items, so the per-label arrays below
        // are as small as the input.
        let (supportCount, supportOverflow) = ways.multipliedReportingOverflow(by: shots)
        guard !supportOverflow, entry.support.count == supportCount else {
            throw fail("has \(entry.support.count) support items, expected ways*shots = "
                       + (supportOverflow ? "\(ways)*\(shots) (too many)" : "\(supportCount)"))
        }
        let (queryCount, queryOverflow) = ways.multipliedReportingOverflow(by: queries)
        guard !queryOverflow, entry.query.count == queryCount else {
            throw fail("has \(entry.query.count) query items, expected ways*queries = "
                       + (queryOverflow ? "\(ways)*\(queries) (too many)" : "\(queryCount)"))
        }
        var classes = [Int?](repeating: nil, count: ways)
        var seen = Set<ItemReference>()
        func items(_ list: [Item], role: String, perLabel: Int) throws -> [EpisodeItem] {
            var counts = [Int](repeating: 0, count: ways)
            var resolved: [EpisodeItem] = []
            for (i, item) in list.enumerated() {
                let ref = ItemReference(path: item.path, rotation: item.rotation)
                let what = "\(role) item \(i) ('\(ref)')"
                guard item.label >= 0, item.label < ways else {
                    throw fail("\(what) has label \(item.label), outside 0..<\(ways)")
                }
                guard let hit = dataset.locate(ref) else {
                    throw fail("\(what) is not in the dataset (unknown path, or rotation not enabled)")
                }
                let canonical = dataset.reference(classIndex: hit.classIndex, imageIndex: hit.imageIndex)
                guard seen.insert(canonical).inserted else {
                    throw fail("\(what) repeats an image already used in this episode")
                }
                if let known = classes[item.label], known != hit.classIndex {
                    throw fail("\(what) is from class \(dataset.className(hit.classIndex)) but label \(item.label) "
                               + "is class \(dataset.className(known))")
                }
                classes[item.label] = hit.classIndex
                counts[item.label] += 1
                resolved.append(EpisodeItem(classIndex: hit.classIndex, imageIndex: hit.imageIndex, label: item.label))
            }
            if let bad = counts.firstIndex(where: { $0 != perLabel }) {
                throw fail("label \(bad) has \(counts[bad]) \(role) items, expected \(perLabel)")
            }
            // Class-major, stable within a label.
            return resolved.enumerated().sorted { ($0.element.label, $0.offset) < ($1.element.label, $1.offset) }
                .map(\.element)
        }
        let support = try items(entry.support, role: "support", perLabel: shots)
        let query = try items(entry.query, role: "query", perLabel: queries)
        let classList = classes.compactMap { $0 }
        guard classList.count == ways else { throw fail("not every label has a class") }
        guard Set(classList).count == ways else { throw fail("two labels use the same class") }
        return Episode(classes: classList, support: support, query: query)
    }
}

extension EpisodeSampler where Dataset: ManifestAddressable {
    /// A sampler that replays the episodes of `manifest` (read with
    /// ``EpisodeManifest/read(path:)``), resolved against `dataset`.
    /// - Parameter path: the manifest's path, for error messages.
    /// - Throws: ``DataError`` `.invalidManifest` naming the episode and item at fault.
    public init(dataset: Dataset, manifest: EpisodeManifest, metaBatchSize: Int, path: String = "") throws {
        let episodes = try manifest.resolve(in: dataset, path: path)
        try self.init(dataset: dataset, config: manifest.config(metaBatchSize: metaBatchSize), episodes: episodes)
    }

    /// Reads the manifest at `path` and builds a replaying sampler (see ``init(dataset:manifest:metaBatchSize:path:)``).
    public init(dataset: Dataset, manifestPath: String, metaBatchSize: Int) throws {
        try self.init(dataset: dataset, manifest: EpisodeManifest.read(path: manifestPath),
                      metaBatchSize: metaBatchSize, path: manifestPath)
    }

    /// A manifest of episodes `range` of this sampler, for publishing a fixed evaluation set.
    /// - Throws: ``DataError`` `.invalidArgument` if the range is out of bounds.
    public func manifest(episodes range: Range<Int>, datasetName: String? = nil) throws -> EpisodeManifest {
        let entries = try range.map { index -> EpisodeManifest.Entry in
            let episode = try episode(at: index)
            let convert = { (item: EpisodeItem) -> EpisodeManifest.Item in
                let ref = dataset.reference(classIndex: item.classIndex, imageIndex: item.imageIndex)
                return EpisodeManifest.Item(path: ref.path, rotation: ref.rotation, label: item.label)
            }
            return EpisodeManifest.Entry(support: episode.support.map(convert), query: episode.query.map(convert))
        }
        return EpisodeManifest(dataset: datasetName, ways: config.ways, shots: config.shots,
                               queries: config.queries, seed: fixedEpisodes == nil ? seed : nil, episodes: entries)
    }
}
