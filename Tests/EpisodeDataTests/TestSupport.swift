import EpisodeData
import Foundation
import TestSupport
import Testing

/// Helpers shared by the EpisodeData tests.
enum Support {
    /// The bundled Omniglot zips' folder (`data/omniglot` in the repository), if present.
    static let omniglotDir: String? = TestPaths.data("omniglot")?.path
    static var hasOmniglot: Bool { omniglotDir != nil }

    static let fashionDir = "/usr/share/datasets/fashion-mnist"
    static var hasFashion: Bool {
        FileManager.default.fileExists(atPath: fashionDir + "/train-images-idx3-ubyte.gz")
    }

    /// All 4840 bundled images, decoded once per test process.
    static let store: Result<OmniglotImageStore, any Error> = {
        guard let dir = omniglotDir else {
            return .failure(DataError(.missingFile, path: "data/omniglot", "not found"))
        }
        return Result { try OmniglotImageStore(path: dir, threads: 2) }
    }()

    /// A fresh temporary directory.
    static func tempDir() throws -> String {
        try TestPaths.makeTemporaryFolder(prefix: "episodedata-tests").path
    }

    static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    static func write(_ bytes: [UInt8], to path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// Runs `body` on a new thread; returns false if it has not finished after `seconds`
    /// (the thread is then abandoned, so a hang fails the test instead of blocking the run).
    static func finishes(within seconds: Double, _ body: @escaping @Sendable () -> Void) -> Bool {
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            body()
            done.signal()
        }
        thread.start()
        return done.wait(timeout: .now() + seconds) == .success
    }

    /// Asserts `body` throws a ``DataError`` of `kind`; returns it.
    @discardableResult
    static func expectDataError(_ kind: DataError.Kind, sourceLocation: SourceLocation = #_sourceLocation,
                                _ body: () throws -> Void) -> DataError? {
        do {
            try body()
            Issue.record("expected DataError.\(kind), nothing thrown", sourceLocation: sourceLocation)
        } catch let error as DataError {
            #expect(error.kind == kind, "got \(error)", sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record("expected DataError.\(kind), got \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }
}

/// Writes PNG files for tests, with an independent implementation of the scanline filters.
enum PNGWriter {
    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        let crc = Zlib.crc32(typeBytes + data)
        return be32(UInt32(data.count)) + typeBytes + data + be32(crc)
    }

    static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    static func paeth(_ a: Int, _ b: Int, _ c: Int) -> Int {
        let p = a + b - c
        let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
        if pa <= pb && pa <= pc { return a }
        return pb <= pc ? b : c
    }

    /// Filters raw scanlines (`rows`, already packed) with `filter` (0...4) for each row,
    /// or cycling through all five when `filter` is nil.
    static func filtered(_ rows: [[UInt8]], bpp: Int, filter: UInt8?) -> [UInt8] {
        var out: [UInt8] = []
        for (y, row) in rows.enumerated() {
            let type = filter ?? UInt8(y % 5)
            out.append(type)
            let prev = y > 0 ? rows[y - 1] : [UInt8](repeating: 0, count: row.count)
            for i in 0..<row.count {
                let a = i >= bpp ? Int(row[i - bpp]) : 0
                let b = Int(prev[i])
                let c = i >= bpp ? Int(prev[i - bpp]) : 0
                let predictor: Int
                switch type {
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                case 4: predictor = paeth(a, b, c)
                default: predictor = 0
                }
                out.append(UInt8((Int(row[i]) - predictor + 256) & 0xFF))
            }
        }
        return out
    }

    /// A complete PNG. `rows` are packed scanlines without filter bytes.
    static func png(width: Int, height: Int, bitDepth: UInt8, colorType: UInt8, rows: [[UInt8]],
                    filter: UInt8? = 0, palette: [UInt8]? = nil, transparency: [UInt8]? = nil,
                    interlace: UInt8 = 0) throws -> [UInt8] {
        let channels: Int = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][Int(colorType)] ?? 1
        let bpp = max(1, channels * Int(bitDepth) / 8)
        var ihdr = be32(UInt32(width)) + be32(UInt32(height))
        ihdr += [bitDepth, colorType, 0, 0, interlace]
        var out = PNGDecoder.signature + chunk("IHDR", ihdr)
        if let palette { out += chunk("PLTE", palette) }
        if let transparency { out += chunk("tRNS", transparency) }
        let data = try Zlib.deflate(filtered(rows, bpp: bpp, filter: filter))
        // Split the stream over two IDAT chunks to exercise concatenation.
        let half = data.count / 2
        out += chunk("IDAT", Array(data[..<half])) + chunk("IDAT", Array(data[half...]))
        out += chunk("IEND", [])
        return out
    }

    /// A 1-bit gray PNG from booleans (`true` = black ink).
    static func bitmap(_ ink: [[Bool]], filter: UInt8? = 0) throws -> [UInt8] {
        let width = ink.first?.count ?? 0
        let rows = ink.map { line -> [UInt8] in
            var bytes = [UInt8](repeating: 0, count: (width + 7) / 8)
            for (x, black) in line.enumerated() where !black { bytes[x / 8] |= 0x80 >> UInt8(x % 8) }
            return bytes
        }
        return try png(width: width, height: ink.count, bitDepth: 1, colorType: 0, rows: rows, filter: filter)
    }
}
