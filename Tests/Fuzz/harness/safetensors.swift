// libFuzzer entry for the safetensors reader (built by scripts/fuzz.sh with Runtime/SafeTensors.swift).
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Data(bytes: data, count: size)
    guard let decoded = try? SafeTensors.decode(bytes, path: "fuzz.safetensors") else { return 0 }
    _ = try? SafeTensors.encode(decoded.tensors, metadata: decoded.metadata)
    return 0
}
