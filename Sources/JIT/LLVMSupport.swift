import CLLVM

// Small helpers that turn LLVM's C ownership conventions (malloc'd messages, LLVMErrorRef)
// into Swift strings and thrown errors, so the rest of the module never frees by hand.

/// Takes ownership of a message string returned by LLVM, copies it and disposes of it.
func takeMessage(_ message: UnsafeMutablePointer<CChar>?) -> String {
    guard let message else { return "" }
    defer { LLVMDisposeMessage(message) }
    return String(cString: message)
}

/// Consumes an `LLVMErrorRef` and returns its message.
func takeErrorMessage(_ error: LLVMErrorRef) -> String {
    guard let message = LLVMGetErrorMessage(error) else { return "unknown LLVM error" }
    defer { LLVMDisposeErrorMessage(message) }
    return String(cString: message)
}

/// Throws `wrap(message)` when `error` is non-nil, consuming it.
func check(_ error: LLVMErrorRef?, _ wrap: (String) -> JITError) throws {
    if let error {
        throw wrap(takeErrorMessage(error))
    }
}

/// Strips trailing whitespace that LLVM leaves on diagnostics.
func trimmed(_ text: String) -> String {
    var result = Substring(text)
    while let last = result.last, last.isWhitespace {
        result = result.dropLast()
    }
    return String(result)
}
