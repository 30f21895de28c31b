import EpisodeData
import MetaIR
import Foundation

/// Any ``ManifestAddressable`` dataset behind one concrete type, so the CLI builds one
/// sampler type for Omniglot and for the MNIST family.
struct AnyClassDataset: ManifestAddressable {
    let base: any ManifestAddressable

    var numClasses: Int { base.numClasses }
    var imageShape: ImageShape { base.imageShape }
    func imageCount(ofClass classIndex: Int) -> Int { base.imageCount(ofClass: classIndex) }
    func className(_ classIndex: Int) -> String { base.className(classIndex) }
    func copyImage(classIndex: Int, imageIndex: Int, into destination: UnsafeMutablePointer<Float>) {
        base.copyImage(classIndex: classIndex, imageIndex: imageIndex, into: destination)
    }
    func reference(classIndex: Int, imageIndex: Int) -> ItemReference {
        base.reference(classIndex: classIndex, imageIndex: imageIndex)
    }
    func locate(_ reference: ItemReference) -> (classIndex: Int, imageIndex: Int)? { base.locate(reference) }
}

/// What `--data` names: `fashion-mnist`, `mnist`, `digits` (``MNISTSource``) or a path to
/// Omniglot zips or a folder (the default: the bundled `data/omniglot`). The run record keeps
/// the spelling, and its class splits: alphabets for Omniglot, label numbers for the MNIST
/// family (``ClassSplit/tenClass`` unless `--train-split` etc. say otherwise).
enum EpisodeSource {
    /// The MNIST-family source `data` names, if it names one (a path spelled like a source
    /// name can be given as `./mnist`).
    static func mnist(_ data: String) -> MNISTSource? { MNISTSource(rawValue: data) }

    /// The `--data` value to record: a source name as given, else an Omniglot path.
    static func resolve(_ data: String?) throws -> String {
        if let data, mnist(data) != nil { return data }
        return try DataLocator.omniglot(data)
    }

    /// The default meta-train, validation and meta-test classes of `data`.
    static func defaultSplits(_ data: String) -> (train: [String], validation: [String], test: [String]) {
        if mnist(data) != nil {
            let s = ClassSplit.tenClass
            return (s.train.map(String.init), s.validation.map(String.init), s.test.map(String.init))
        }
        return (OmniglotSplit.metaTrain, OmniglotSplit.metaTest, OmniglotSplit.metaTest)
    }

    /// Image side of `data` (28 for Omniglot and MNIST/Fashion-MNIST, 8 for digits).
    static func imageSize(_ data: String) -> Int { mnist(data)?.imageSize ?? 28 }

    /// The classes `classes` of `data` (labels for the MNIST family, alphabets for Omniglot).
    /// - Throws: ``DataError``: a source not installed (naming the file and the install
    ///   command), a corrupt file, or a class that is not a label of the source.
    static func load(_ data: String, classes: [String], rotations: [Int]) throws -> AnyClassDataset {
        guard let source = mnist(data) else {
            return AnyClassDataset(base: try OmniglotDataset.load(path: data, alphabets: classes, rotations: rotations))
        }
        var labels: [Int] = []
        for c in classes {
            guard let l = Int(c), (0...255).contains(l) else {
                throw DataError(.invalidSplit, path: data, "'\(c)' is not a class label of \(data) (labels are numbers, e.g. 0,1,2,3,4)")
            }
            labels.append(l)
        }
        let (images, all) = try MNISTFamily.load(source)
        let present = Set(all.map(Int.init))
        if let missing = labels.first(where: { !present.contains($0) }) {
            throw DataError(.invalidSplit, path: data, "label \(missing) does not occur in \(data) (labels: \(present.sorted()))")
        }
        return AnyClassDataset(base: try IDXDataset(images: images, labels: all, classes: labels,
                                                    path: MNISTFamily.files(source)[0]))
    }
}

/// The per-iteration value of a training step's dropout seed input (``MNISTSeedNet/seedInputName``).
enum DropoutSeed {
    /// A pure function of the run seed and the iteration, so a resumed run draws the masks
    /// the uninterrupted one would.
    static func value(run: UInt64, iteration: Int) -> Int32 {
        var g = SplitMix64(seed: run ^ 0xD0_0D0E_5EED &+ UInt64(iteration) &* 0x9E37_79B9_7F4A_7C15)
        return Int32(truncatingIfNeeded: g.next())
    }
}
