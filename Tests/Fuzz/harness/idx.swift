// libFuzzer entry for the IDX reader (built by scripts/fuzz.sh).
@testable import EpisodeData

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // The reader gunzips files that start with the gzip magic; do the same in memory.
    if bytes.count >= 2, bytes[0] == 0x1F, bytes[1] == 0x8B {
        guard let inflated = try? Zlib.inflate(bytes, container: .gzip, path: "fuzz.idx") else { return 0 }
        bytes = inflated
    }
    if let (dims, payload) = try? IDXReader.parse(bytes, path: "fuzz.idx", expectedDims: 3) {
        let images = IDXImages(count: dims[0], rows: dims[1], cols: dims[2], pixels: payload)
        _ = try? images.image(0)
        _ = try? images.image(images.count - 1)
    }
    _ = try? IDXReader.parse(bytes, path: "fuzz.idx", expectedDims: 1)
    return 0
}
