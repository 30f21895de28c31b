import EpisodeData
import Foundation
import TestSupport
import Testing

/// The repository carries its own Omniglot: a clone with nothing beside it trains and tests.
@Suite struct BundledDataTests {
    @Test func omniglotIsInTheRepository() throws {
        let folder = TestPaths.repositoryRoot.appendingPathComponent("data/omniglot")
        for file in ["images_background_small1.zip", "images_background_small2.zip", "LICENSE", "README.md"] {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path), "\(file)")
        }
        // The tests read the bundled copy, not one outside the repository.
        #expect(TestPaths.data("omniglot")?.standardizedFileURL.path == folder.standardizedFileURL.path)
        let catalog = try OmniglotCatalog(path: folder.path)
        #expect(catalog.alphabets.count == 8 && catalog.imageCount == 4840)
    }
}
