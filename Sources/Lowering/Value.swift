/// One operand of an LLVM instruction: a local SSA name (`%v12`, `%arg0`, `%begin`) or a
/// literal (`3`, `0.0`, `true`, `zeroinitializer`), with the text it renders to.
///
/// Instructions stay text (Lowering writes IR text by design), but every operand an emitter
/// passes around is a `Value`, so an SSA name cannot be confused with an arbitrary string and
/// integer literals can be folded without parsing text.
public struct Value: Hashable, Sendable, CustomStringConvertible {
    /// The operand as it appears in IR text.
    public let description: String
    /// The value of an integer literal; `nil` for SSA names and other literals.
    public let constant: Int?

    private init(text: String, constant: Int?) {
        description = text
        self.constant = constant
    }

    /// The local SSA name `%name` (a function parameter or a value the builder defined).
    public static func local(_ name: String) -> Value { Value(text: "%" + name, constant: nil) }

    /// An integer literal (of whatever integer type the instruction names, usually i64).
    public static func i64(_ v: Int) -> Value { Value(text: "\(v)", constant: v) }

    /// A literal spelled `text` (`0.0`, `0x3FF0000000000000`, `undef`, `poison`, …); integer
    /// spellings become `i64` literals, so that equal operands compare equal.
    public static func literal(_ text: String) -> Value {
        if let v = Int(text) { return .i64(v) }
        return Value(text: text, constant: nil)
    }

    /// The i1 literal `true`.
    public static let `true` = Value.literal("true")
    /// The i1 literal `false`.
    public static let `false` = Value.literal("false")
    /// The float literal `0.0`.
    public static let floatZero = Value.literal("0.0")
    /// The all-zero literal of an aggregate or vector type.
    public static let zeroinitializer = Value.literal("zeroinitializer")
}
