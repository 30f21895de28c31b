import Interpreter
import MetaIR
import Testing

/// `gather` (embedding lookup) and `scatter_add` (its adjoint): definitions, out-of-range
/// behaviour, shape rules, the verifier and the text form.
@Suite struct GatherTests {
    func run(_ body: String, _ feeds: [String: HostTensor] = [:]) throws -> [String: HostTensor] {
        let g = try Parser.parse("graph \"t\" {\n" + body + "\n}")
        return try Interpreter().run(g, feeds: feeds)
    }

    static let table = HostTensor(TensorType(.f32, [3, 2]), [1, 2, 3, 4, 5, 6])

    @Test func gatherReadsRowsAndZerosOutOfRange() throws {
        let out = try run("""
              %0: f32[3,2] = input "t"
              %1: i32[2,2] = input "i"
              %2: f32[2,2,2] = gather %0, %1
              output "out" = %2
            """, ["t": Self.table, "i": HostTensor(TensorType(.i32, [2, 2]), [2, 0, -1, 3])])
        let y = try #require(out["out"])
        #expect(y.shape == [2, 2, 2])
        // Rows 2 and 0, then -1 and 3 (both outside 0..<3) read zeros.
        #expect(y.data == [5, 6, 1, 2, 0, 0, 0, 0])
    }

    @Test func scatterAddSumsRepeatsAndDropsOutOfRange() throws {
        let out = try run("""
              %0: f32[4,2] = input "u"
              %1: i32[4] = input "i"
              %2: f32[3,2] = scatter_add %0, %1
              output "out" = %2
            """, ["u": HostTensor(TensorType(.f32, [4, 2]), [1, 2, 10, 20, 100, 200, 7, 7]),
                  "i": HostTensor(TensorType(.i32, [4]), [1, 1, 0, 5])])
        // Rows 0 and 1 of the updates both go to row 1; index 5 is dropped; row 2 stays zero.
        #expect(try #require(out["out"]).data == [100, 200, 11, 22, 0, 0])
    }

    @Test func gatherAndScatterAddAreAdjoint() throws {
        // ⟨G(T,i), g⟩ == ⟨T, S(g,i)⟩ for indices with repeats and out-of-range entries.
        let i = HostTensor(TensorType(.i32, [5]), [2, 2, -3, 0, 9])
        let g = HostTensor(TensorType(.f32, [5, 2]), [1, -1, 2, 0.5, 3, 3, -2, 4, 8, 8])
        let out = try run("""
              %0: f32[3,2] = input "t"
              %1: i32[5] = input "i"
              %2: f32[5,2] = input "g"
              %3: f32[5,2] = gather %0, %1
              %4: f32[3,2] = scatter_add %2, %1
              output "y" = %3
              output "s" = %4
            """, ["t": Self.table, "i": i, "g": g])
        let y = try #require(out["y"]), s = try #require(out["s"])
        let lhs = zip(y.data, g.data).reduce(0) { $0 + $1.0 * $1.1 }
        let rhs = zip(Self.table.data, s.data).reduce(0) { $0 + $1.0 * $1.1 }
        #expect(lhs == rhs)
        #expect(lhs != 0)
    }

    @Test func shapeRules() throws {
        let t = TensorType(.f32, [5, 3]), i = TensorType(.i32, [2, 4])
        #expect(try Op.gather.resultType(operands: [t, i], declared: nil) == TensorType(.f32, [2, 4, 3]))
        #expect(try Op.gather.resultType(operands: [t, TensorType(.i32, [])], declared: nil) == TensorType(.f32, [3]))
        #expect(throws: ShapeError.self) { try Op.gather.resultType(operands: [t, TensorType(.f32, [2])], declared: nil) }
        #expect(throws: ShapeError.self) { try Op.gather.resultType(operands: [TensorType(.f32, [5]), i], declared: nil) }
        #expect(throws: ShapeError.self) { try Op.gather.resultType(operands: [TensorType(.i32, [5, 3]), i], declared: nil) }
        let u = TensorType(.f32, [2, 4, 3])
        #expect(try Op.scatterAdd.resultType(operands: [u, i], declared: t) == t)
        #expect(throws: ShapeError.self) { try Op.scatterAdd.resultType(operands: [u, i], declared: nil) }
        #expect(throws: ShapeError.self) { try Op.scatterAdd.resultType(operands: [u, i], declared: TensorType(.f32, [5, 2])) }
        #expect(throws: ShapeError.self) { try Op.scatterAdd.resultType(operands: [TensorType(.f32, [2, 3]), i], declared: t) }
    }

    @Test func textRoundTripAndVerifier() throws {
        let text = """
            graph "e" {
              %0: f32[6,3] = input "table"
              %1: i32[2,4] = input "tokens"
              %2: f32[2,4,3] = gather %0, %1
              %3: f32[6,3] = scatter_add %2, %1
              output "rows" = %2
              output "back" = %3
            }

            """
        let g = try Parser.parse(text)
        try Verifier.verify(g)
        #expect(Printer.print(g) == text)
        #expect(Printer.print(try Parser.parse(Printer.print(g))) == text)
    }

    static let header = "graph \"g\" {\n  %0: f32[4,3] = input \"t\"\n  %1: i32[2] = input \"i\"\n"

    @Test(arguments: [
        (header + "  %2: f32[2,3] = gather %0\n}", 4, 18, "takes 2 operand(s), found 1"),
        (header + "  %2: f32[2,3] = gather %0, %0\n}", 4, 18, "indices must be i32"),
        (header + "  %2: f32[2,4] = gather %0, %1\n}", 4, 18, "declared type f32[2,4]"),
        (header + "  %2: f32[4,3] = scatter_add %0, %1\n}", 4, 18, "must be the indices' shape"),
        (header + "  %2: f32[2,3] = gather %1, %0\n}", 4, 18, "floating-point operand"),
        (header + "  %2: f32[2,3] = gather %0, %1 axis=0\n}", 4, 32, "has no attribute 'axis'"),
    ])
    func malformedTextGivesLineAndColumn(text: String, line: Int, column: Int, message: String) {
        do {
            _ = try Parser.parse(text)
            Issue.record("parsed without error: \(text)")
        } catch let e as ParseError {
            #expect(e.line == line, "\(e)")
            #expect(e.column == column, "\(e)")
            #expect(e.message.contains(message), "\(e)")
        } catch {
            Issue.record("unexpected error type \(error)")
        }
    }
}
