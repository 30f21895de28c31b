import MetaIR
import Testing

/// Each malformed input must give a `ParseError` at the right line and column with a message
/// that says what was expected.
@Suite struct MalformedIRTests {
    struct Case: CustomStringConvertible, Sendable {
        var text: String
        var line: Int
        var column: Int
        var message: String
        var description: String { message }
    }

    static let header = "graph \"g\" {\n  %0: f32[2,3] = input \"x\"\n"

    static let cases: [Case] = [
        Case(text: "grph \"g\" {\n}", line: 1, column: 1, message: "expected 'graph'"),
        Case(text: "graph g {\n}", line: 1, column: 7, message: "expected the graph name as a string"),
        Case(text: header + "  %1: f32[2,3] = frobnicate %0\n}", line: 3, column: 18, message: "unknown op 'frobnicate'"),
        Case(text: header + "  %1: f33[2,3] = neg %0\n}", line: 3, column: 7, message: "unknown element type 'f33'"),
        Case(text: header + "  %1: f32[2,3 = neg %0\n}", line: 3, column: 15, message: "expected ',' or ']'"),
        Case(text: header + "  %1: f32[2,3] = neg %7\n}", line: 3, column: 22, message: "use of undefined value %7"),
        Case(text: header + "  %1: f32[3,2] = neg %0\n}", line: 3, column: 18, message: "declared type f32[3,2]"),
        Case(text: header + "  %1: f32[2,3] = add %0\n}", line: 3, column: 18, message: "takes 2 operand(s), found 1"),
        Case(text: header + "  %1: f32[2] = reduce_sum %0 axes=[1]\n}", line: 3, column: 16, message: "needs attribute 'keep_dims"),
        Case(text: header + "  %1: f32[2] = reduce_sum %0 axes=[1] keep_dims=true color=3\n}", line: 3, column: 54,
             message: "has no attribute 'color'"),
        Case(text: header + "  %1: f32[2,3] = neg %0\n", line: 4, column: 1, message: "expected '}' to close the graph"),
        Case(text: header + "  %0: f32[2,3] = neg %0\n}", line: 3, column: 3, message: "value %0 is defined twice"),
        Case(text: header + "  output \"y\" = %9\n}", line: 3, column: 16, message: "output refers to undefined value %9"),
        Case(text: "graph \"g\" {\n  %0: f32[2] = input \"x\n}", line: 2, column: 22, message: "unterminated string literal"),
        Case(text: header + "  %1: f32[2,3] = neg %0 $\n}", line: 3, column: 25, message: "unexpected character '$'"),
        Case(text: header + "  %1: f32[2,3] = matmul %0, %0\n}", line: 3, column: 18, message: "inner dimensions differ"),
        Case(text: header + "}\nextra", line: 4, column: 1, message: "after the closing '}'"),
        Case(text: header + "  %1: f32[] = constant 1.2.3\n}", line: 3, column: 24, message: "malformed number '1.2.3'"),
    ]

    @Test(arguments: cases)
    func malformedInputGivesLineAndColumn(c: Case) {
        do {
            _ = try Parser.parse(c.text)
            Issue.record("parsed without error: \(c.text)")
        } catch let e as ParseError {
            #expect(e.line == c.line, "\(e)")
            #expect(e.column == c.column, "\(e)")
            #expect(e.message.contains(c.message), "\(e)")
            #expect(e.description.hasPrefix("line \(e.line), column \(e.column): "))
        } catch {
            Issue.record("unexpected error type \(error)")
        }
    }

    @Test func atLeastTenDistinctMalformedInputs() {
        #expect(Set(Self.cases.map(\.message)).count >= 10)
    }

    /// Random token soup (seeded, so a failure reproduces): every input either parses or throws
    /// a `ParseError` positioned inside the text (or just past its end).
    @Test func randomGarbageParsesOrFailsWithAPosition() {
        var rng = SplitMix64(seed: 2024)
        let alphabet = Array("%:=[],{}\"graph f32 i32 add 0123456789 -.e\n output input")
        for _ in 0..<1000 {
            let n = Int.random(in: 0..<80, using: &rng)
            let s = String((0..<n).map { _ in alphabet.randomElement(using: &rng) ?? " " })
            do {
                _ = try Parser.parse(s)
            } catch let e as ParseError {
                #expect(Self.isInRange(e, of: s), "\(e) is outside \(String(reflecting: s))")
            } catch {
                Issue.record("\(String(reflecting: s)): not a ParseError: \(error)")
            }
        }
    }

    /// Every proper prefix of a valid graph is missing at least its closing '}', so it must
    /// fail with a positioned error; the whole text must parse.
    @Test func truncationsOfAValidGraphFailWithAPosition() throws {
        let valid = Self.header + "  %1: f32[2,3] = exp %0\n  output \"y\" = %1\n}\n"
        let full = try Parser.parse(valid)
        #expect(full.outputs.map(\.name) == ["y"])
        let withoutFinalNewline = valid.count - 1
        for k in 0..<withoutFinalNewline {
            let prefix = String(valid.prefix(k))
            do {
                _ = try Parser.parse(prefix)
                Issue.record("prefix of \(k) characters parsed: \(String(reflecting: prefix))")
            } catch let e as ParseError {
                #expect(Self.isInRange(e, of: prefix), "\(e) is outside \(String(reflecting: prefix))")
            } catch {
                Issue.record("prefix of \(k) characters: not a ParseError: \(error)")
            }
        }
    }

    /// Whether the error's line exists in `text` and its column is on that line or one past
    /// its end (where "end of input" and "end of line" errors point).
    static func isInRange(_ e: ParseError, of text: String) -> Bool {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard e.line >= 1, e.line <= lines.count else { return false }
        return e.column >= 1 && e.column <= lines[e.line - 1].count + 1
    }
}
