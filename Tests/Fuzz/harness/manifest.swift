// libFuzzer entry for the episode-manifest reader (built by scripts/fuzz.sh).
import Foundation
@testable import EpisodeData

/// 20 one-pixel records, labels `i % 5`: small enough to build per input, large enough for
/// 5-way episodes, so decoded manifests also go through `resolve`.
private let dataset: IDXDataset? = {
    let images = IDXImages(count: 20, rows: 1, cols: 1, pixels: (0..<20).map { UInt8($0) })
    return try? IDXDataset(images: images, labels: (0..<20).map { UInt8($0 % 5) })
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, let dataset else { return 0 }
    let bytes = Data(bytes: data, count: size)
    guard let manifest = try? EpisodeManifest.decode(bytes, path: "fuzz.json") else { return 0 }
    _ = try? manifest.resolve(in: dataset, path: "fuzz.json")
    _ = try? manifest.encoded()
    return 0
}
