import Interpreter
import MetaIR
import Testing

/// `random_uniform`: its definition (SplitMix64 of `seed << 32 | counter`), its shape rule and
/// its text form.
@Suite struct RandomUniformTests {
    func eval(_ body: String, _ feeds: [String: HostTensor] = [:]) throws -> HostTensor {
        let g = try Parser.parse("graph \"t\" {\n" + body + "\n}")
        return try #require(try Interpreter().run(g, feeds: feeds)["out"])
    }

    @Test func matchesSplitMix64OfTheKey() throws {
        // SplitMix64's reference first output for seed 0 is 0xE220A8397B1DCDAF: top 24 bits 0xE220A8.
        #expect(ScalarSemantics.randomUniform(seed: 0, counter: 0) == Double(0xE2_20A8) / 16_777_216)
        for (s, c) in [(0, 1), (1, 0), (-1, 7), (123_456, -5)] {
            let key = UInt64(UInt32(bitPattern: Int32(s))) << 32 | UInt64(UInt32(bitPattern: Int32(c)))
            var g = SplitMix64(seed: key)
            #expect(ScalarSemantics.randomUniform(seed: Double(s), counter: Double(c)) == Double(g.next() >> 40) / 16_777_216)
        }
    }

    @Test func interpreterIsElementwiseAndInRange() throws {
        let out = try eval("""
              %0: i32[2,3] = input "s"
              %1: i32[2,3] = iota axis=1
              %2: f32[2,3] = random_uniform %0, %1
              output "out" = %2
            """, ["s": HostTensor(TensorType(.i32, [2, 3]), [4, 4, 4, 9, 9, 9])])
        for (k, v) in out.data.enumerated() {
            let expected = ScalarSemantics.randomUniform(seed: k < 3 ? 4 : 9, counter: Double(k % 3))
            #expect(v == expected)
            #expect(v >= 0 && v < 1)
        }
        #expect(Set(out.data).count == 6)
    }

    @Test func uniformOverManyCounters() throws {
        let n = 20_000
        let values = (0..<n).map { ScalarSemantics.randomUniform(seed: 42, counter: Double($0)) }
        let mean = values.reduce(0, +) / Double(n)
        #expect(abs(mean - 0.5) < 0.01)
        #expect(abs(Double(values.filter { $0 < 0.25 }.count) / Double(n) - 0.25) < 0.01)
    }

    @Test func shapeRuleAndRoundTrip() throws {
        let i = TensorType(.i32, [2, 3])
        #expect(try Op.randomUniform.resultType(operands: [i, i], declared: nil) == TensorType(.f32, [2, 3]))
        #expect(try Op.randomUniform.resultType(operands: [i, i], declared: TensorType(.f64, [2, 3])) == TensorType(.f64, [2, 3]))
        #expect(throws: ShapeError.self) { try Op.randomUniform.resultType(operands: [TensorType(.f32, [2, 3]), i], declared: nil) }
        #expect(throws: ShapeError.self) { try Op.randomUniform.resultType(operands: [i, TensorType(.i32, [3])], declared: nil) }
        #expect(throws: ShapeError.self) { try Op.randomUniform.resultType(operands: [i, i], declared: i) }
        let text = "graph \"r\" {\n  %0: i32[4] = iota axis=0\n  %1: f32[4] = random_uniform %0, %0\n  output \"out\" = %1\n}\n"
        #expect(Printer.print(try Parser.parse(text)) == text)
    }
}
