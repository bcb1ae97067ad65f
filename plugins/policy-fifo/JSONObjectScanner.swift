/// Reads the members of a flat JSON object ({"key": scalar, ...}) without Foundation: enough
/// for a policy's settings. Values come back as their JSON text (strings unquoted).
struct JSONObjectScanner {
    struct Failure: Error { var message: String }

    private let bytes: [UInt8]
    private var index = 0

    init(_ text: String) { bytes = Array(text.utf8) }

    mutating func members() throws(Failure) -> [(String, String)] {
        skipSpace()
        try expect(UInt8(ascii: "{"))
        var result: [(String, String)] = []
        skipSpace()
        if peek() == UInt8(ascii: "}") { index += 1; return try end(result) }
        while true {
            skipSpace()
            let key = try string()
            skipSpace()
            try expect(UInt8(ascii: ":"))
            skipSpace()
            let value: String
            if peek() == UInt8(ascii: "\"") {
                value = try string()
            } else {
                let start = index
                while let byte = peek(), byte != UInt8(ascii: ","), byte != UInt8(ascii: "}"), !isSpace(byte) { index += 1 }
                guard index > start else { throw Failure(message: "a value is missing after \"\(key)\"") }
                value = String(decoding: bytes[start..<index], as: UTF8.self)
                if value.first == "{" || value.first == "[" { throw Failure(message: "\"\(key)\" must be a plain value") }
            }
            result.append((key, value))
            skipSpace()
            if peek() == UInt8(ascii: ",") { index += 1; continue }
            try expect(UInt8(ascii: "}"))
            return try end(result)
        }
    }

    private mutating func end(_ result: [(String, String)]) throws(Failure) -> [(String, String)] {
        skipSpace()
        guard index == bytes.count else { throw Failure(message: "text follows the closing brace") }
        return result
    }

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
