// libFuzzer entry for the PNG decoder (built by scripts/fuzz.sh).
import EpisodeData

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNG(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // CRCs off: otherwise nearly every mutation stops at the first chunk's checksum.
    _ = try? PNGDecoder.decode(bytes, path: "fuzz.png", verifyCRC: false)
    return 0
}
