import Foundation

/// An 8-bit grayscale image, row-major, `0` = black, `255` = white.
public struct GrayImage: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// `width * height` gray levels, row by row.
    public var pixels: [UInt8]

    /// Creates an image; `pixels.count` must equal `width * height` (checked, throws otherwise).
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        let (area, overflow) = width.multipliedReportingOverflow(by: height)
        guard width >= 0, height >= 0, !overflow, pixels.count == area else {
            throw DataError(.invalidArgument, path: "",
                            "GrayImage \(width)x\(height) does not match \(pixels.count) pixels")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    init(uncheckedWidth width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The gray level at row `y`, column `x`.
    public subscript(y: Int, x: Int) -> UInt8 { pixels[y * width + x] }
}

/// A small, self-contained PNG decoder producing ``GrayImage``s.
///
/// Supported: non-interlaced PNGs with colour type 0 (gray, 1/2/4/8/16-bit),
/// 2 (RGB, 8-bit), 3 (palette, 1/2/4/8-bit, with `tRNS` alpha), 4 (gray+alpha, 8-bit) and
/// 6 (RGBA, 8-bit); all five scanline filters. Colour is converted to gray with the
/// ITU-R 601 luma weights (0.299, 0.587, 0.114); alpha is composited over white.
/// Adam7-interlaced images and 16-bit colour images are rejected with
/// ``DataError/Kind/unsupportedFormat``. Chunk lengths are always validated; CRCs are
/// checked unless `verifyCRC` is false.
public enum PNGDecoder {
    /// The 8-byte PNG file signature.
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The largest expansion of a deflate stream (RFC 1951: a 258-byte match per 2 bits, plus
    /// block overhead, gives zlib's documented 1032:1).
    static let maxDeflateRatio = 1032

    /// Reads and decodes the PNG file at `path`.
    /// - Throws: ``DataError`` (`.missingFile`, `.unreadable`, `.notPNG`, `.truncated`,
    ///   `.unsupportedFormat`, `.corruptData`), each naming `path`.
    public static func decode(fileAt path: String, verifyCRC: Bool = true) throws -> GrayImage {
        try decode(readFileBytes(path), path: path, verifyCRC: verifyCRC)
    }

    /// Decodes PNG bytes. `path` is only used in error messages.
    /// - Throws: ``DataError`` (`.notPNG`, `.truncated`, `.unsupportedFormat`, `.corruptData`).
    public static func decode(_ bytes: [UInt8], path: String, verifyCRC: Bool = true) throws -> GrayImage {
        let header = try parseChunks(bytes, path: path, verifyCRC: verifyCRC)
        let info = header.info
        let rowBytes = (info.width * info.channels * info.bitDepth + 7) / 8
        let expectedSize = info.height * (rowBytes + 1)
        // Deflate expands at most 1032:1, so a header that promises more than that from the
        // IDAT bytes present is corrupt; checking first keeps a 60-byte file from allocating
        // a gigabyte-sized output buffer.
        guard expectedSize <= header.idat.count * maxDeflateRatio + 64 else {
            throw DataError(.corruptData, path: path,
                            "image \(info.width)x\(info.height) needs \(expectedSize) bytes of pixel data, "
                            + "more than \(header.idat.count) compressed bytes can hold")
        }
        let raw = try Zlib.inflate(header.idat, container: .zlib, expectedSize: expectedSize, path: path)
        let rows = try unfilter(raw, info: info, rowBytes: rowBytes, path: path)
        return toGray(rows, info: info, rowBytes: rowBytes, palette: header.palette)
    }

    // MARK: - Chunk layer

    struct Info {
        var width = 0
        var height = 0
        var bitDepth = 0
        var colorType = 0
        var channels = 1
    }

    struct Parsed {
        var info: Info
        var idat: [UInt8]
        /// Palette as gray levels after compositing alpha over white.
        var palette: [UInt8]
    }

    static func parseChunks(_ bytes: [UInt8], path: String, verifyCRC: Bool) throws -> Parsed {
        if bytes.isEmpty { throw DataError(.truncated, path: path, "file is empty") }
        let sigLength = min(bytes.count, 8)
        guard Array(bytes[0..<sigLength]) == Array(signature[0..<sigLength]) else {
            throw DataError(.notPNG, path: path, "not a PNG file (bad signature)")
        }
        guard bytes.count > 8 else {
            throw DataError(.truncated, path: path, "file ends after the PNG signature")
        }
        var offset = 8
        var info: Info?
        var idat: [UInt8] = []
        var paletteRGB: [UInt8] = []
        var paletteAlpha: [UInt8] = []
        var sawIEND = false
        var chunkIndex = 0
        while offset < bytes.count {
            guard bytes.count - offset >= 8 else {
                throw DataError(.truncated, path: path, "file ends inside a chunk header at byte \(offset)")
            }
            let length = Int(readBE32(bytes, offset))
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            guard length <= 0x7FFF_FFFF else {
                throw DataError(.corruptData, path: path, "chunk '\(type)' has invalid length \(length)")
            }
            guard bytes.count - offset - 12 >= length else {
                throw DataError(.truncated, path: path,
                                "chunk '\(type)' declares \(length) bytes but only \(max(0, bytes.count - offset - 12)) remain")
            }
            let dataStart = offset + 8
            let dataEnd = dataStart + length
            if verifyCRC {
                let stored = readBE32(bytes, dataEnd)
                let computed = bytes.withUnsafeBytes { raw in
                    Zlib.crc32(UnsafeRawBufferPointer(rebasing: raw[(offset + 4)..<dataEnd]))
                }
                guard stored == computed else {
                    throw DataError(.corruptData, path: path, "CRC mismatch in chunk '\(type)'")
                }
            }
            if chunkIndex == 0 && type != "IHDR" {
                throw DataError(.corruptData, path: path, "first chunk is '\(type)', expected 'IHDR'")
            }
            switch type {
            case "IHDR":
                info = try parseIHDR(bytes, dataStart, length, path: path)
            case "PLTE":
                guard length % 3 == 0, length > 0, length <= 768 else {
                    throw DataError(.corruptData, path: path, "PLTE chunk has invalid length \(length)")
                }
                paletteRGB = Array(bytes[dataStart..<dataEnd])
            case "tRNS":
                if info?.colorType == 3 { paletteAlpha = Array(bytes[dataStart..<dataEnd]) }
            case "IDAT":
                idat.append(contentsOf: bytes[dataStart..<dataEnd])
            case "IEND":
                sawIEND = true
            default:
                if let first = type.utf8.first, first >= 65, first <= 90 {
                    throw DataError(.unsupportedFormat, path: path, "unknown critical chunk '\(type)'")
                }
            }
            offset = dataEnd + 4
            chunkIndex += 1
            if sawIEND { break }
        }
        guard let header = info else {
            throw DataError(.truncated, path: path, "no IHDR chunk")
        }
        guard !idat.isEmpty else {
            throw DataError(.truncated, path: path, "no image data (IDAT) chunk")
        }
        guard sawIEND else {
            throw DataError(.truncated, path: path, "file ends before the IEND chunk")
        }
        var palette: [UInt8] = []
        if header.colorType == 3 {
            guard !paletteRGB.isEmpty else {
                throw DataError(.corruptData, path: path, "palette image without a PLTE chunk")
            }
            let entries = paletteRGB.count / 3
            palette.reserveCapacity(entries)
            for i in 0..<entries {
                let gray = luma(paletteRGB[3 * i], paletteRGB[3 * i + 1], paletteRGB[3 * i + 2])
                let alpha = i < paletteAlpha.count ? paletteAlpha[i] : 255
                palette.append(overWhite(gray, alpha))
            }
        }
        return Parsed(info: header, idat: idat, palette: palette)
    }

    static func parseIHDR(_ bytes: [UInt8], _ start: Int, _ length: Int, path: String) throws -> Info {
        guard length == 13 else {
            throw DataError(.corruptData, path: path, "IHDR chunk has length \(length), expected 13")
        }
        var info = Info()
        info.width = Int(readBE32(bytes, start))
        info.height = Int(readBE32(bytes, start + 4))
        info.bitDepth = Int(bytes[start + 8])
        info.colorType = Int(bytes[start + 9])
        let compression = bytes[start + 10], filter = bytes[start + 11], interlace = bytes[start + 12]
        guard info.width > 0, info.height > 0, info.width <= 1 << 20, info.height <= 1 << 20,
              info.width * info.height <= 1 << 28 else {
            throw DataError(.corruptData, path: path, "invalid image size \(info.width)x\(info.height)")
        }
        guard compression == 0, filter == 0 else {
            throw DataError(.corruptData, path: path,
                            "unknown compression method \(compression) or filter method \(filter)")
        }
        guard interlace == 0 else {
            throw DataError(.unsupportedFormat, path: path, "Adam7-interlaced PNGs are not supported")
        }
        let allowed: [Int]
        switch info.colorType {
        case 0: info.channels = 1; allowed = [1, 2, 4, 8, 16]
        case 2: info.channels = 3; allowed = [8]
        case 3: info.channels = 1; allowed = [1, 2, 4, 8]
        case 4: info.channels = 2; allowed = [8]
        case 6: info.channels = 4; allowed = [8]
        default:
            throw DataError(.corruptData, path: path, "invalid colour type \(info.colorType)")
        }
        guard allowed.contains(info.bitDepth) else {
            throw DataError(.unsupportedFormat, path: path,
                            "bit depth \(info.bitDepth) with colour type \(info.colorType) is not supported")
        }
        return info
    }

    // MARK: - Pixel layer

    static func unfilter(_ raw: [UInt8], info: Info, rowBytes: Int, path: String) throws -> [UInt8] {
        let bpp = max(1, info.channels * info.bitDepth / 8)
        var out = [UInt8](repeating: 0, count: rowBytes * info.height)
        var badFilter: (row: Int, type: UInt8)?
        raw.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                for y in 0..<info.height {
                    let filter = s[y * (rowBytes + 1)]
                    let line = s + y * (rowBytes + 1) + 1
                    let cur = d + y * rowBytes
                    let prev: UnsafeMutablePointer<UInt8>? = y > 0 ? d + (y - 1) * rowBytes : nil
                    switch filter {
                    case 0:
                        cur.update(from: line, count: rowBytes)
                    case 1:
                        for i in 0..<rowBytes {
                            let a = i >= bpp ? cur[i - bpp] : 0
                            cur[i] = line[i] &+ a
                        }
                    case 2:
                        for i in 0..<rowBytes { cur[i] = line[i] &+ (prev?[i] ?? 0) }
                    case 3:
                        for i in 0..<rowBytes {
                            let a = i >= bpp ? Int(cur[i - bpp]) : 0
                            let b = Int(prev?[i] ?? 0)
                            cur[i] = line[i] &+ UInt8((a + b) >> 1)
                        }
                    case 4:
                        for i in 0..<rowBytes {
                            let a = i >= bpp ? Int(cur[i - bpp]) : 0
                            let b = Int(prev?[i] ?? 0)
                            let c = (i >= bpp) ? Int(prev?[i - bpp] ?? 0) : 0
                            cur[i] = line[i] &+ UInt8(paeth(a, b, c))
                        }
                    default:
                        badFilter = (y, filter)
                        return
                    }
                }
            }
        }
        if let bad = badFilter {
            throw DataError(.corruptData, path: path, "invalid filter type \(bad.type) on row \(bad.row)")
        }
        return out
    }

    @inline(__always)
    static func paeth(_ a: Int, _ b: Int, _ c: Int) -> Int {
        let p = a + b - c
        let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
        if pa <= pb && pa <= pc { return a }
        if pb <= pc { return b }
        return c
    }

    static func toGray(_ rows: [UInt8], info: Info, rowBytes: Int, palette: [UInt8]) -> GrayImage {
        let w = info.width, h = info.height
        let pixels = [UInt8](unsafeUninitializedCapacity: w * h) { out, initialized in
            rows.withUnsafeBufferPointer { rBuf in
                palette.withUnsafeBufferPointer { pal in
                    guard let src = rBuf.baseAddress, let dst = out.baseAddress else { return }
                    for y in 0..<h {
                        convertRow(src + y * rowBytes, to: dst + y * w, width: w, info: info, palette: pal)
                    }
                }
            }
            initialized = w * h
        }
        return GrayImage(uncheckedWidth: w, height: h, pixels: pixels)
    }

    @inline(__always)
    static func convertRow(_ r: UnsafePointer<UInt8>, to o: UnsafeMutablePointer<UInt8>, width w: Int,
                           info: Info, palette: UnsafeBufferPointer<UInt8>) {
        switch (info.colorType, info.bitDepth) {
        case (0, 16):
            for x in 0..<w { o[x] = r[2 * x] }
        case (0, 8):
            o.update(from: r, count: w)
        case (0, 1):
            for x in 0..<w { o[x] = (r[x >> 3] >> (7 - UInt8(x & 7))) & 1 == 0 ? 0 : 255 }
        case (0, let depth), (3, let depth):
            let perByte = 8 / depth
            let mask = (1 << depth) - 1
            let scale = 255 / mask
            for x in 0..<w {
                let byte = Int(r[x / perByte])
                let shift = 8 - depth * (x % perByte + 1)
                let v = (byte >> shift) & mask
                if info.colorType == 3 {
                    o[x] = v < palette.count ? palette[v] : 0
                } else {
                    o[x] = UInt8(v * scale)
                }
            }
        case (2, _):
            for x in 0..<w { o[x] = luma(r[3 * x], r[3 * x + 1], r[3 * x + 2]) }
        case (4, _):
            for x in 0..<w { o[x] = overWhite(r[2 * x], r[2 * x + 1]) }
        default: // (6, 8)
            for x in 0..<w { o[x] = overWhite(luma(r[4 * x], r[4 * x + 1], r[4 * x + 2]), r[4 * x + 3]) }
        }
    }

    @inline(__always)
    static func luma(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        let weighted: Int = 299 * Int(r) + 587 * Int(g) + 114 * Int(b)
        return UInt8((weighted + 500) / 1000)
    }

    @inline(__always)
    static func overWhite(_ gray: UInt8, _ alpha: UInt8) -> UInt8 {
        let a = Int(alpha)
        let blended: Int = Int(gray) * a + 255 * (255 - a)
        return UInt8((blended + 127) / 255)
    }

    @inline(__always)
    static func readBE32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }
}

/// Reads a whole file into memory.
/// - Throws: ``DataError`` `.missingFile` if it does not exist, `.unreadable` otherwise.
func readFileBytes(_ path: String) throws -> [UInt8] {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
        throw DataError(.missingFile, path: path, "no such file")
    }
    guard !isDir.boolValue else {
        throw DataError(.unreadable, path: path, "is a directory, expected a file")
    }
    do {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return [UInt8](data)
    } catch {
        throw DataError(.unreadable, path: path, "cannot read file: \(error.localizedDescription)")
    }
}
