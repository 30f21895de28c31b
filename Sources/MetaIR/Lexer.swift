/// A malformed text IR input, with the 1-based line and column where it went wrong.
public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// 1-based line.
    public var line: Int
    /// 1-based column (in characters of the line).
    public var column: Int
    /// What was expected and what was found.
    public var message: String

    /// Creates a parse error.
    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    /// `line 3, column 14: expected ...`.
    public var description: String { "line \(line), column \(column): \(message)" }
}

/// A token of the text IR.
enum Token: Equatable {
    case value(Int)          // %12
    case ident(String)       // matmul, f32, axes, true
    case string(String)      // "x"
    case number(String)      // 0.5, -3, 1e-05, inf, nan (inf/nan come as ident and are converted by the parser)
    case punct(Character)    // : = [ ] , { }
    case newline
    case end

    var text: String {
        switch self {
        case .value(let v): return "'%\(v)'"
        case .ident(let s): return "'\(s)'"
        case .string(let s): return "string \"\(s)\""
        case .number(let s): return "number \(s)"
        case .punct(let c): return "'\(c)'"
        case .newline: return "end of line"
        case .end: return "end of input"
        }
    }
}

/// A token with its position.
struct Located {
    var token: Token
    var line: Int
    var column: Int
}

/// Splits text IR into tokens; newlines are tokens because the IR is one op per line.
struct Lexer {
    private let chars: [Character]
    private var i = 0
    private var line = 1
    private var column = 1

    init(_ text: String) { chars = Array(text) }

    mutating func tokenize() throws -> [Located] {
        var out: [Located] = []
        while true {
            skipSpacesAndComments()
            let (l, c) = (line, column)
            guard i < chars.count else {
                out.append(Located(token: .end, line: l, column: c))
                return out
            }
            let ch = chars[i]
            let tok: Token
            if ch == "\n" {
                advance()
                tok = .newline
            } else if ch == "%" {
                advance()
                let digits = take { $0.isASCII && $0.isNumber }
                guard let v = Int(digits) else {
                    throw ParseError(line: l, column: c, message: "expected a value number after '%'")
                }
                tok = .value(v)
            } else if ch == "\"" {
                tok = .string(try lexString(line: l, column: c))
            } else if ch.isNumber || ch == "-" || ch == "+" || ch == "." {
                let s = take { $0.isNumber || $0.isLetter || "+-.".contains($0) }
                tok = .number(s)
            } else if ch.isLetter || ch == "_" {
                tok = .ident(take { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." })
            } else if ":=[],{}".contains(ch) {
                advance()
                tok = .punct(ch)
            } else {
                throw ParseError(line: l, column: c, message: "unexpected character '\(ch)'")
            }
            out.append(Located(token: tok, line: l, column: c))
        }
    }

    private mutating func advance() {
        if chars[i] == "\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
        i += 1
    }

    private mutating func take(while pred: (Character) -> Bool) -> String {
        var s = ""
        while i < chars.count, pred(chars[i]) {
            s.append(chars[i])
            advance()
        }
        return s
    }

    private mutating func skipSpacesAndComments() {
        while i < chars.count {
            if chars[i] == " " || chars[i] == "\t" || chars[i] == "\r" {
                advance()
            } else if chars[i] == "/", i + 1 < chars.count, chars[i + 1] == "/" {
                while i < chars.count, chars[i] != "\n" { advance() }
            } else {
                return
            }
        }
    }

    private mutating func lexString(line l: Int, column c: Int) throws -> String {
        advance()  // opening quote
        var s = ""
        while i < chars.count {
            let ch = chars[i]
            if ch == "\n" { break }
            advance()
            if ch == "\"" { return s }
            if ch == "\\" {
                guard i < chars.count else { break }
                let e = chars[i]
                advance()
                switch e {
                case "\"": s.append("\"")
                case "\\": s.append("\\")
                case "n": s.append("\n")
                default:
                    throw ParseError(line: line, column: column - 1, message: "unknown escape '\\\(e)' in string")
                }
            } else {
                s.append(ch)
            }
        }
        throw ParseError(line: l, column: c, message: "unterminated string literal")
    }
}
