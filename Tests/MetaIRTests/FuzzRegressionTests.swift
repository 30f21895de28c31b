import Foundation
import MetaIR
import Testing
import TestSupport

/// Inputs that once trapped the text-IR parser (integer overflow in shape arithmetic) must
/// now give a positioned `ParseError`, and a short seeded mutation run over the fuzz corpus
/// must never trap.
@Suite("Text-IR parser: fuzz regressions")
struct ParserFuzzTests {
    struct Case: Sendable, CustomStringConvertible {
        var file: String
        var line: Int
        var message: String
        var description: String { file }
    }

    static let cases: [Case] = [
        Case(file: "reshape-count-overflow.mjir", line: 2, message: "more elements than fit in a 64-bit count"),
        Case(file: "pad-overflow.mjir", line: 3, message: "overflows"),
        Case(file: "concat-overflow.mjir", line: 3, message: "concatenated extent overflows"),
        Case(file: "conv-padding-overflow.mjir", line: 4, message: "overflows the padded input size"),
        Case(file: "conv-padding-sum-overflow.mjir", line: 4, message: "overflows the padded input size"),
    ]

    @Test("each regression input gives a positioned ParseError", arguments: cases)
    func regression(_ c: Case) throws {
        let text = String(decoding: try Mutator.regression("parser", c.file), as: UTF8.self)
        do {
            _ = try Parser.parse(text)
            Issue.record("\(c.file) parsed without error")
        } catch let e as ParseError {
            #expect(e.line == c.line, "\(e)")
            #expect(e.message.contains(c.message), "\(e)")
        }
    }

    @Test("the seeds parse and verify, and seeded mutations of them parse or throw")
    func mutations() throws {
        let corpus = try Mutator.corpus("parser")
        for seed in corpus { try Verifier.verify(Parser.parse(String(decoding: seed, as: UTF8.self))) }
        var mutator = Mutator(corpus: corpus, seed: 23)
        for _ in 0..<500 {
            let text = String(decoding: mutator.next(), as: UTF8.self)
            guard let graph = try? Parser.parse(text) else { continue }
            _ = try? Verifier.verify(graph)
            // What parses must print to text that parses again.
            _ = try Parser.parse(Printer.print(graph))
        }
    }
}
