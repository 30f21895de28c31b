// libFuzzer entry for the text-IR parser and verifier (built by scripts/fuzz.sh).
import MetaIR

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let graph = try? Parser.parse(text) else { return 0 }
    _ = try? Verifier.verify(graph)
    // Whatever parses must print to text that parses again: the round trip is the IR's contract.
    let printed = Printer.print(graph)
    do { _ = try Parser.parse(printed) } catch { fatalError("printed IR does not parse again: \(error)\n\(printed)") }
    return 0
}
