/// `|a-b| <= tol·max(1,|a|,|b|)` elementwise.
func close(_ a: [Double], _ b: [Double], tol: Double) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tol * max(1, abs($0), abs($1)) }
}
