/// A JSON value as the policies' settings readers need it, parsed without Foundation (the
/// plugins link none). Numbers keep the text they were written with, so an error can quote it
/// exactly.
package enum SettingsJSON: Equatable {
    case object([(key: String, value: SettingsJSON)])
    case array([SettingsJSON])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    package static func == (lhs: SettingsJSON, rhs: SettingsJSON) -> Bool {
        switch (lhs, rhs) {
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.array(let a), .array(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.bool(let a), .bool(let b)): return a == b
        case (.null, .null): return true
        default: return false
        }
    }

    /// How the value reads in an error message: numbers and literals as written, strings quoted.
    package var quoted: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string(let text): return "\"\(text)\""
        case .number(let text): return text
        case .bool(let value): return value ? "true" : "false"
        case .null: return "null"
        }
    }

    package struct SyntaxError: Error { package var message: String }

    /// Parses one JSON document.
    /// - Throws: `SyntaxError` naming the byte offset of the first problem.
    package static func parse(_ text: String) throws(SyntaxError) -> SettingsJSON {
        var reader = Reader(bytes: Array(text.utf8))
        reader.skipSpace()
        let value = try reader.value(depth: 0)
        reader.skipSpace()
        guard reader.index == reader.bytes.count else { throw reader.failure("text follows the value") }
        return value
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        func failure(_ what: String) -> SyntaxError { SyntaxError(message: "\(what) at byte \(index)") }

        func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while let byte = peek(), byte == 32 || byte == 9 || byte == 10 || byte == 13 { index += 1 }
        }

        mutating func expect(_ byte: UInt8) throws(SyntaxError) {
            guard peek() == byte else { throw failure("expected '\(Character(UnicodeScalar(byte)))'") }
            index += 1
        }

        mutating func value(depth: Int) throws(SyntaxError) -> SettingsJSON {
            // Settings are shallow; the bound keeps hostile input from exhausting the stack.
            guard depth < 64 else { throw failure("nesting deeper than 64") }
            switch peek() {
            case UInt8(ascii: "{"):
                index += 1
                var members: [(key: String, value: SettingsJSON)] = []
                skipSpace()
                if peek() == UInt8(ascii: "}") { index += 1; return .object(members) }
                while true {
                    skipSpace()
                    let key = try string()
                    skipSpace()
                    try expect(UInt8(ascii: ":"))
                    skipSpace()
                    members.append((key, try value(depth: depth + 1)))
                    skipSpace()
                    if peek() == UInt8(ascii: ",") { index += 1; continue }
                    try expect(UInt8(ascii: "}"))
                    return .object(members)
                }
            case UInt8(ascii: "["):
                index += 1
                var elements: [SettingsJSON] = []
                skipSpace()
                if peek() == UInt8(ascii: "]") { index += 1; return .array(elements) }
                while true {
                    skipSpace()
                    elements.append(try value(depth: depth + 1))
                    skipSpace()
                    if peek() == UInt8(ascii: ",") { index += 1; continue }
                    try expect(UInt8(ascii: "]"))
                    return .array(elements)
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"): try word("true"); return .bool(true)
            case UInt8(ascii: "f"): try word("false"); return .bool(false)
            case UInt8(ascii: "n"): try word("null"); return .null
            case .some(let byte) where byte == UInt8(ascii: "-") || (byte >= 48 && byte <= 57):
                return .number(try number())
            case .some:
                throw failure("unexpected character")
            case .none:
                throw failure("the text ends where a value should be")
            }
        }

        mutating func word(_ literal: String) throws(SyntaxError) {
            let expected = Array(literal.utf8)
            guard index + expected.count <= bytes.count, bytes[index..<index + expected.count].elementsEqual(expected) else {
                throw failure("unexpected character")
            }
            index += expected.count
        }

        /// A number as JSON writes it (RFC 8259 §6), returned as its text.
        mutating func number() throws(SyntaxError) -> String {
            let start = index
            func digits(_ reader: inout Reader) -> Int {
                var count = 0
                while let byte = reader.peek(), byte >= 48 && byte <= 57 { reader.index += 1; count += 1 }
                return count
            }
            if peek() == UInt8(ascii: "-") { index += 1 }
            guard digits(&self) > 0 else { throw failure("a number needs digits") }
            if peek() == UInt8(ascii: ".") {
                index += 1
                guard digits(&self) > 0 else { throw failure("a number needs digits after '.'") }
            }
            if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
                index += 1
                if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
                guard digits(&self) > 0 else { throw failure("a number needs digits in its exponent") }
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        mutating func string() throws(SyntaxError) -> String {
            try expect(UInt8(ascii: "\""))
            var text = ""
            var run = index  // start of the current run of bytes without escapes
            while true {
                guard let byte = peek() else { throw failure("a string is not closed") }
                if byte == UInt8(ascii: "\"") {
                    text += String(decoding: bytes[run..<index], as: UTF8.self)
                    index += 1
                    return text
                }
                if byte < 0x20 { throw failure("a control character inside a string") }
                guard byte == UInt8(ascii: "\\") else { index += 1; continue }
                text += String(decoding: bytes[run..<index], as: UTF8.self)
                index += 1
                guard let escape = peek() else { throw failure("a string is not closed") }
                index += 1
                switch escape {
                case UInt8(ascii: "\""): text += "\""
                case UInt8(ascii: "\\"): text += "\\"
                case UInt8(ascii: "/"): text += "/"
                case UInt8(ascii: "b"): text += "\u{08}"
                case UInt8(ascii: "f"): text += "\u{0C}"
                case UInt8(ascii: "n"): text += "\n"
                case UInt8(ascii: "r"): text += "\r"
                case UInt8(ascii: "t"): text += "\t"
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if code >= 0xD800 && code < 0xDC00, peek() == UInt8(ascii: "\\"),
                       index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") {
                        index += 2
                        let low = try hex4()
                        guard low >= 0xDC00 && low < 0xE000 else { throw failure("an unpaired surrogate") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw failure("an unpaired surrogate") }
                    text.unicodeScalars.append(scalar)
                default:
                    throw failure("an unknown escape")
                }
                run = index
            }
        }

        mutating func hex4() throws(SyntaxError) -> UInt32 {
            var code: UInt32 = 0
            for _ in 0..<4 {
                guard let byte = peek() else { throw failure("a \\u escape needs four hex digits") }
                let digit: UInt32
                switch byte {
                case 48...57: digit = UInt32(byte - 48)
                case 65...70: digit = UInt32(byte - 55)
                case 97...102: digit = UInt32(byte - 87)
                default: throw failure("a \\u escape needs four hex digits")
                }
                code = code << 4 | digit
                index += 1
            }
            return code
        }
    }
}
