import Interpreter
import MetaIR
import Testing

/// Hand-computed results for every primitive, edge cases included.
@Suite struct InterpreterTests {
    /// Runs a one-output graph written as text IR body lines; `x`, `y`, ... are fed.
    func eval(_ body: String, _ feeds: [String: HostTensor], precision: Interpreter.Precision = .native) throws -> HostTensor {
        let g = try Parser.parse("graph \"t\" {\n" + body + "\n}")
        let out = try Interpreter(precision: precision).run(g, feeds: feeds)
        return try #require(out["out"])
    }

    func f(_ shape: Shape, _ data: [Double]) -> HostTensor { HostTensor(shape: shape, data) }
    func i(_ shape: Shape, _ data: [Double]) -> HostTensor { HostTensor(TensorType(.i32, shape), data) }

    @Test func constantAndIota() throws {
        #expect(try eval("%0: f32[2,2] = constant 1.5\noutput \"out\" = %0", [:]).data == [1.5, 1.5, 1.5, 1.5])
        #expect(try eval("%0: i32[2,3] = iota axis=1\noutput \"out\" = %0", [:]).data == [0, 1, 2, 0, 1, 2])
        #expect(try eval("%0: i32[2,3] = iota axis=0\noutput \"out\" = %0", [:]).data == [0, 0, 0, 1, 1, 1])
    }

    @Test func unaryOps() throws {
        let x = f([4], [-1, 0, 0.25, 4])
        func u(_ op: String) throws -> [Double] {
            try eval("%0: f32[4] = input \"x\"\n%1: f32[4] = \(op) %0\noutput \"out\" = %1", ["x": x], precision: .float64).data
        }
        #expect(try u("neg") == [1, 0, -0.25, -4])
        #expect(try u("relu") == [0, 0, 0.25, 4])
        #expect(close(try u("exp"), [0.36787944117144233, 1, 1.2840254166877414, 54.598150033144236], tol: 1e-15))
        let lg = try u("log")
        #expect(lg[0].isNaN && lg[1] == -.infinity && abs(lg[3] - 1.3862943611198906) < 1e-15)
        let sq = try u("sqrt")
        #expect(sq[0].isNaN && Array(sq[1...]) == [0, 0.5, 2])
        #expect(close(try u("tanh"), [-0.7615941559557649, 0, 0.24491866240370913, 0.999329299739067], tol: 1e-15))
    }

    @Test func binaryOpsFloatAndInt() throws {
        let feeds = ["x": f([3], [1, -2, 6]), "y": f([3], [4, 5, -3])]
        func b(_ op: String) throws -> [Double] {
            try eval("%0: f32[3] = input \"x\"\n%1: f32[3] = input \"y\"\n%2: f32[3] = \(op) %0, %1\noutput \"out\" = %2", feeds).data
        }
        #expect(try b("add") == [5, 3, 3])
        #expect(try b("sub") == [-3, -7, 9])
        #expect(try b("mul") == [4, -10, -18])
        #expect(try b("div") == [0.25, -0.4000000059604645, -2])  // f32 rounding of -0.4
        #expect(try b("max") == [4, 5, 6])
        #expect(try b("min") == [1, -2, -3])
        let idiv = try eval("%0: i32[3] = input \"x\"\n%1: i32[3] = input \"y\"\n%2: i32[3] = div %0, %1\noutput \"out\" = %2",
                            ["x": i([3], [7, -7, 5]), "y": i([3], [2, 2, 0])])
        #expect(idiv.data == [3, -3, 0])  // truncation toward zero; division by zero gives 0
    }

    @Test func compareAndSelect() throws {
        let feeds = ["x": f([3], [1, 2, 3]), "y": f([3], [2, 2, 2])]
        func c(_ op: String) throws -> [Double] {
            try eval("%0: f32[3] = input \"x\"\n%1: f32[3] = input \"y\"\n%2: bool[3] = \(op) %0, %1\noutput \"out\" = %2", feeds).data
        }
        #expect(try c("eq") == [0, 1, 0])
        #expect(try c("ne") == [1, 0, 1])
        #expect(try c("lt") == [1, 0, 0])
        #expect(try c("le") == [1, 1, 0])
        #expect(try c("gt") == [0, 0, 1])
        #expect(try c("ge") == [0, 1, 1])
        let s = try eval("""
            %0: f32[3] = input "x"
            %1: f32[3] = input "y"
            %2: bool[3] = gt %0, %1
            %3: f32[3] = select %2, %0, %1
            output "out" = %3
            """, feeds)
        #expect(s.data == [2, 2, 3])
    }

    @Test func reductionsWithAndWithoutKeepDims() throws {
        let x = f([2, 3], [1, 5, 3, -4, 2, 0])
        let sum0 = try eval("%0: f32[2,3] = input \"x\"\n%1: f32[3] = reduce_sum %0 axes=[0] keep_dims=false\noutput \"out\" = %1", ["x": x])
        #expect(sum0.data == [-3, 7, 3])
        let sum1 = try eval("%0: f32[2,3] = input \"x\"\n%1: f32[2,1] = reduce_sum %0 axes=[1] keep_dims=true\noutput \"out\" = %1", ["x": x])
        #expect(sum1.data == [9, -2] && sum1.shape == [2, 1])
        let all = try eval("%0: f32[2,3] = input \"x\"\n%1: f32[1,1] = reduce_max %0 axes=[0,1] keep_dims=true\noutput \"out\" = %1", ["x": x])
        #expect(all.data == [5])
        let x3 = f([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8])
        let mid = try eval("%0: f32[2,2,2] = input \"x\"\n%1: f32[2,1,2] = reduce_max %0 axes=[1] keep_dims=true\noutput \"out\" = %1", ["x": x3])
        #expect(mid.data == [3, 4, 7, 8])
        let outer = try eval("%0: f32[2,2,2] = input \"x\"\n%1: f32[2] = reduce_sum %0 axes=[0,2] keep_dims=false\noutput \"out\" = %1", ["x": x3])
        #expect(outer.data == [14, 22])  // 1+2+5+6, 3+4+7+8
    }

    @Test func argmaxTakesFirstMaximum() throws {
        let x = f([2, 3], [1, 7, 7, 4, 2, 4])
        let a = try eval("%0: f32[2,3] = input \"x\"\n%1: i32[2] = argmax %0 axis=1\noutput \"out\" = %1", ["x": x])
        #expect(a.data == [1, 0] && a.type.dtype == .i32)
        let a0 = try eval("%0: f32[2,3] = input \"x\"\n%1: i32[3] = argmax %0 axis=0\noutput \"out\" = %1", ["x": x])
        #expect(a0.data == [1, 0, 0])
    }

    @Test func matmulPlainAndBatched() throws {
        let a = f([2, 3], [1, 2, 3, 4, 5, 6]), b = f([3, 2], [7, 8, 9, 10, 11, 12])
        let m = try eval("%0: f32[2,3] = input \"a\"\n%1: f32[3,2] = input \"b\"\n%2: f32[2,2] = matmul %0, %1\noutput \"out\" = %2",
                         ["a": a, "b": b])
        #expect(m.data == [58, 64, 139, 154])
        let ba = f([2, 1, 2], [1, 2, 3, 4]), bb = f([2, 2, 1], [5, 6, 7, 8])
        let bm = try eval("%0: f32[2,1,2] = input \"a\"\n%1: f32[2,2,1] = input \"b\"\n%2: f32[2,1,1] = matmul %0, %1\noutput \"out\" = %2",
                          ["a": ba, "b": bb])
        #expect(bm.data == [17, 53])
    }

    @Test func conv2dPaddingAndStride() throws {
        // 1x1x3x3 input 1..9, 1x1x2x2 filter of ones.
        let x = f([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]), w = f([1, 1, 2, 2], [1, 1, 1, 1])
        let valid = try eval("%0: f32[1,1,3,3] = input \"x\"\n%1: f32[1,1,2,2] = input \"w\"\n%2: f32[1,1,2,2] = conv2d %0, %1 stride=1 padding=0\noutput \"out\" = %2",
                             ["x": x, "w": w])
        #expect(valid.data == [12, 16, 24, 28])
        let padded = try eval("%0: f32[1,1,3,3] = input \"x\"\n%1: f32[1,1,2,2] = input \"w\"\n%2: f32[1,1,2,2] = conv2d %0, %1 stride=2 padding=1\noutput \"out\" = %2",
                              ["x": x, "w": w])
        // Windows at (-1,-1), (-1,1), (1,-1), (1,1) of the zero-padded image.
        #expect(padded.data == [1, 5, 11, 28])  // 1, 2+3, 4+7, 5+6+8+9
        // Two channels in, two filters out: filter 0 reads channel 0, filter 1 doubles channel 1.
        let x2 = f([1, 2, 1, 1], [3, 5]), w2 = f([2, 2, 1, 1], [1, 0, 0, 2])
        let mc = try eval("%0: f32[1,2,1,1] = input \"x\"\n%1: f32[2,2,1,1] = input \"w\"\n%2: f32[1,2,1,1] = conv2d %0, %1 stride=1 padding=0\noutput \"out\" = %2",
                          ["x": x2, "w": w2])
        #expect(mc.data == [3, 10])
    }

    @Test func convolutionGradientsAreAdjoints() throws {
        // <conv(x,w), dy> == <x, input_grad(dy,w)> == <w, filter_grad(x,dy)> for stride 2, padding 1.
        var rng = SeededRandom(seed: 7)
        let x = rng.tensor(TensorType(.f64, [2, 3, 7, 7])), w = rng.tensor(TensorType(.f64, [4, 3, 3, 3]))
        let dy = rng.tensor(TensorType(.f64, [2, 4, 4, 4]))
        let g = try Parser.parse("""
            graph "adj" {
              %0: f64[2,3,7,7] = input "x"
              %1: f64[4,3,3,3] = input "w"
              %2: f64[2,4,4,4] = input "dy"
              %3: f64[2,4,4,4] = conv2d %0, %1 stride=2 padding=1
              %4: f64[2,3,7,7] = conv2d_input_grad %2, %1 stride=2 padding=1
              %5: f64[4,3,3,3] = conv2d_filter_grad %0, %2 stride=2 padding=1
              output "y" = %3
              output "dx" = %4
              output "dw" = %5
            }
            """)
        let out = try Interpreter().run(g, feeds: ["x": x, "w": w, "dy": dy])
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        let lhs = dot(try #require(out["y"]).data, dy.data)
        #expect(abs(lhs - dot(x.data, try #require(out["dx"]).data)) < 1e-9 * max(1, abs(lhs)))
        #expect(abs(lhs - dot(w.data, try #require(out["dw"]).data)) < 1e-9 * max(1, abs(lhs)))
    }

    @Test func shapeOps() throws {
        let x = f([2, 3], [1, 2, 3, 4, 5, 6])
        func one(_ line: String) throws -> HostTensor {
            try eval("%0: f32[2,3] = input \"x\"\n\(line)\noutput \"out\" = %1", ["x": x])
        }
        #expect(try one("%1: f32[3,2] = reshape %0").data == [1, 2, 3, 4, 5, 6])
        #expect(try one("%1: f32[3,2] = permute %0 perm=[1,0]").data == [1, 4, 2, 5, 3, 6])
        #expect(try one("%1: f32[1,2] = slice %0 start=[1,1] end=[2,3]").data == [5, 6])
        #expect(try one("%1: f32[3,4] = pad %0 low=[0,1] high=[1,0]").data == [0, 1, 2, 3, 0, 4, 5, 6, 0, 0, 0, 0])
        #expect(try one("%1: f32[4,3] = concat %0, %0 axis=0").data == [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6])
        #expect(try one("%1: f32[2,6] = concat %0, %0 axis=1").data == [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6])
        #expect(try one("%1: f32[2,3] = stop_gradient %0").data == x.data)
        let r4 = try eval("%0: f32[1,2,1,3] = input \"x\"\n%1: f32[3,1,2,1] = permute %0 perm=[3,0,1,2]\noutput \"out\" = %1",
                          ["x": f([1, 2, 1, 3], [1, 2, 3, 4, 5, 6])])
        #expect(r4.data == [1, 4, 2, 5, 3, 6])
    }

    @Test func broadcastExpandsSizeOneAxes() throws {
        let row = try eval("%0: f32[1,3] = input \"x\"\n%1: f32[2,3] = broadcast %0\noutput \"out\" = %1", ["x": f([1, 3], [1, 2, 3])])
        #expect(row.data == [1, 2, 3, 1, 2, 3])
        let col = try eval("%0: f32[2,1] = input \"x\"\n%1: f32[2,3] = broadcast %0\noutput \"out\" = %1", ["x": f([2, 1], [1, 2])])
        #expect(col.data == [1, 1, 1, 2, 2, 2])
        let scalar = try eval("%0: f32[1,1,1] = input \"x\"\n%1: f32[2,1,2] = broadcast %0\noutput \"out\" = %1", ["x": f([1, 1, 1], [7])])
        #expect(scalar.data == [7, 7, 7, 7])
    }

    @Test func oneHotAndCasts() throws {
        let oh = try eval("%0: i32[3] = input \"x\"\n%1: f32[3,3] = one_hot %0 depth=3\noutput \"out\" = %1", ["x": i([3], [2, 0, 5])])
        #expect(oh.data == [0, 0, 1, 1, 0, 0, 0, 0, 0])  // out of range → zeros
        let toInt = try eval("%0: f32[4] = input \"x\"\n%1: i32[4] = cast %0\noutput \"out\" = %1", ["x": f([4], [1.7, -1.7, .nan, 3])])
        #expect(toInt.data == [1, -1, 0, 3])
        let toBool = try eval("%0: f32[3] = input \"x\"\n%1: bool[3] = cast %0\noutput \"out\" = %1", ["x": f([3], [0, -2, 0.5])])
        #expect(toBool.data == [0, 1, 1])
    }

    @Test func f32RoundingVersusFloat64() throws {
        let x = f([1], [0.1])
        let body = "%0: f32[1] = input \"x\"\n%1: f32[1] = mul %0, %0\noutput \"out\" = %1"
        let native = try eval(body, ["x": x]).data[0]
        let wide = try eval(body, ["x": x], precision: .float64).data[0]
        let x32 = Double(Float(0.1))  // inputs are rounded to f32 too
        #expect(native == Double(Float(x32 * x32)))
        #expect(wide == 0.1 * 0.1)  // f64 mode keeps the fed value exactly
    }

    @Test func missingAndMistypedFeedsAreErrors() throws {
        let body = "%0: f32[2] = input \"x\"\n%1: f32[2] = neg %0\noutput \"out\" = %1"
        #expect(throws: InterpreterError.missingValue("x")) { try eval(body, [:]) }
        #expect(throws: InterpreterError.self) { try eval(body, ["x": f([3], [1, 2, 3])]) }
    }
}
