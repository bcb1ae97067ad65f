/// Reads the members of a JSON object without Foundation: enough for a policy's settings, and it
/// keeps the plugin free of Foundation (a smaller image that loads faster). Scalars come back as
/// their text; nested objects and arrays are checked for balance and skipped, so a caller can
/// still name an unknown key whose value is one.
struct JSONObjectScanner {
    struct Failure: Error { var message: String }

    enum Value: Equatable {
        case string(String)
        /// true, false, null or a number, as written.
        case literal(String)
        /// An object or an array (not parsed).
        case composite
    }

    private let bytes: [UInt8]
    private var index = 0

    init(_ text: String) { bytes = Array(text.utf8) }

    mutating func members() throws(Failure) -> [(key: String, value: Value)] {
        skipSpace()
        try expect(UInt8(ascii: "{"))
        var result: [(key: String, value: Value)] = []
        skipSpace()
        if peek() == UInt8(ascii: "}") { index += 1; return try end(result) }
        while true {
            skipSpace()
            let key = try string()
            skipSpace()
            try expect(UInt8(ascii: ":"))
            skipSpace()
            result.append((key, try value(after: key)))
            skipSpace()
            if peek() == UInt8(ascii: ",") { index += 1; continue }
            try expect(UInt8(ascii: "}"))
            return try end(result)
        }
    }

    private mutating func value(after key: String) throws(Failure) -> Value {
        switch peek() {
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            try skipComposite()
            return .composite
        default:
            let start = index
            while let byte = peek(), byte != UInt8(ascii: ","), byte != UInt8(ascii: "}"), !isSpace(byte) { index += 1 }
            guard index > start else { throw Failure(message: "a value is missing after \"\(key)\"") }
            return .literal(String(decoding: bytes[start..<index], as: UTF8.self))
        }
    }

    /// Skips a balanced object or array, strings included.
    private mutating func skipComposite() throws(Failure) {
        var depth = 0
        repeat {
            guard let byte = peek() else { throw Failure(message: "an object or array is not closed") }
            switch byte {
            case UInt8(ascii: "\""): _ = try string(); continue
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
            index += 1
        } while depth > 0
    }

    private mutating func end(_ result: [(key: String, value: Value)]) throws(Failure) -> [(key: String, value: Value)] {
        skipSpace()
        guard index == bytes.count else { throw Failure(message: "text follows the closing brace") }
        return result
    }

    /// A string's contents, escapes left as written (settings keys and values have none).
    private mutating func string() throws(Failure) -> String {
        try expect(UInt8(ascii: "\""))
        let start = index
        while let byte = peek(), byte != UInt8(ascii: "\"") {
            if byte == UInt8(ascii: "\\") { index += 1 }
            index += 1
        }
        guard peek() != nil else { throw Failure(message: "a string is not closed") }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        index += 1
        return text
    }

    private mutating func expect(_ byte: UInt8) throws(Failure) {
        guard peek() == byte else {
            throw Failure(message: "expected '\(Character(UnicodeScalar(byte)))' at byte \(index)")
        }
        index += 1
    }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }
    private func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 10 || byte == 13 }
    private mutating func skipSpace() { while let byte = peek(), isSpace(byte) { index += 1 } }
}
