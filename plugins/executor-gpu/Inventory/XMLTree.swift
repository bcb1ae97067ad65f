/// A minimal XML reader for `nvidia-smi -q -x`: elements, attributes, character data (with the
/// five named entities, numeric references and CDATA), skipping the declaration, the DOCTYPE,
/// comments and processing instructions. FoundationXML is not used because it is missing or
/// differs across the platforms the executor builds on, and nvidia-smi's output needs no more.
enum XMLTree {
    /// One element: its name, attributes, the character data directly inside it (joined and
    /// unescaped, not trimmed) and its child elements in document order.
    struct Element: Sendable, Equatable {
        var name: String
        var attributes: [String: String] = [:]
        var text = ""
        var children: [Element] = []
        /// Where the start tag begins, 1-based, for messages about the element's content.
        var line = 1

        /// The first child with this name.
        func child(_ name: String) -> Element? { children.first { $0.name == name } }

        /// The element reached by following child names, e.g. `path("pci", "pci_bus_id")`.
        func path(_ names: String...) -> Element? {
            var element = self
            for name in names {
                guard let next = element.child(name) else { return nil }
                element = next
            }
            return element
        }

        func children(named name: String) -> [Element] { children.filter { $0.name == name } }

        /// The text with surrounding whitespace removed: nvidia-smi indents values it puts on
        /// their own line ("None" inside an empty `<mig_devices>`).
        var value: String { text.trimmed }
    }

    /// Parses a whole document and returns its root element.
    /// - Throws: `InventoryError` with `field`, saying the line and column of the first error.
    static func parse(_ text: String, field: String) throws(InventoryError) -> Element {
        var reader = Reader(bytes: Array(text.utf8), field: field)
        return try reader.document()
    }

    private struct Reader {
        let bytes: [UInt8]
        let field: String
        var offset = 0
        var line = 1
        var lineStart = 0

        init(bytes: [UInt8], field: String) {
            self.bytes = bytes
            self.field = field
        }

        mutating func document() throws(InventoryError) -> Element {
            var root: Element?
            while true {
                skipWhitespace()
                guard offset < bytes.count else { break }
                guard bytes[offset] == UInt8(ascii: "<") else {
                    throw error("text outside the root element")
                }
                if try skipMarkup() { continue }
                guard root == nil else { throw error("a second root element; a document has one") }
                root = try element()
            }
            guard let root else { throw error("no root element; the input is empty or holds only comments") }
            return root
        }

        /// Skips a comment, processing instruction or DOCTYPE at `offset`; false when the markup
        /// there is something else (a tag or CDATA).
        mutating func skipMarkup() throws(InventoryError) -> Bool {
            if starts(with: "<?") {
                try skip(past: "?>", what: "processing instruction")
            } else if starts(with: "<!--") {
                try skip(past: "-->", what: "comment")
            } else if starts(with: "<!DOCTYPE") {
                try skipDoctype()
            } else {
                return false
            }
            return true
        }

        mutating func element() throws(InventoryError) -> Element {
            let startLine = line
            advance()  // <
            let name = try self.name(what: "element name")
            var element = Element(name: name, line: startLine)
            // 1. Attributes, up to > or />.
            while true {
                let hadSpace = skipWhitespace()
                guard offset < bytes.count else { throw error("the input ends inside the start tag <\(name)>") }
                if starts(with: "/>") {
                    advance(2)
                    return element
                }
                if bytes[offset] == UInt8(ascii: ">") {
                    advance()
                    break
                }
                guard hadSpace else { throw error("expected whitespace, '>' or '/>' in the start tag <\(name)>") }
                let attribute = try self.name(what: "attribute name")
                skipWhitespace()
                guard offset < bytes.count, bytes[offset] == UInt8(ascii: "=") else {
                    throw error("attribute '\(attribute)' of <\(name)> has no '=' and value")
                }
                advance()
                skipWhitespace()
                guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") || bytes[offset] == UInt8(ascii: "'") else {
                    throw error("the value of attribute '\(attribute)' of <\(name)> is not in quotes")
                }
                let value = try characterData(until: bytes[offset], what: "the value of attribute '\(attribute)'")
                guard element.attributes.updateValue(value, forKey: attribute) == nil else {
                    throw error("attribute '\(attribute)' appears twice in <\(name)>")
                }
            }
            // 2. Content, up to the matching end tag.
            while true {
                guard offset < bytes.count else {
                    throw error("the input ends before </\(name)> (the element opened at line \(startLine))")
                }
                guard bytes[offset] == UInt8(ascii: "<") else {
                    element.text += try characterData(until: UInt8(ascii: "<"), what: "the content of <\(name)>")
                    continue
                }
                if starts(with: "</") {
                    let tagStart = (offset, line, lineStart)
                    advance(2)
                    let closing = try self.name(what: "end tag name")
                    guard closing == name else {
                        (offset, line, lineStart) = tagStart  // point at the tag, not past its name
                        throw error("</\(closing)> closes <\(name)>, opened at line \(startLine)")
                    }
                    skipWhitespace()
                    guard offset < bytes.count, bytes[offset] == UInt8(ascii: ">") else {
                        throw error("expected '>' to end </\(name)>")
                    }
                    advance()
                    return element
                }
                if starts(with: "<![CDATA[") {
                    advance(9)
                    let start = offset
                    try skip(past: "]]>", what: "CDATA section")
                    element.text += String(decoding: bytes[start..<(offset - 3)], as: UTF8.self)
                    continue
                }
                if try skipMarkup() { continue }
                element.children.append(try self.element())
            }
        }

        /// Reads character data up to `terminator`, resolving references. For an attribute value
        /// `offset` is at the opening quote, which is `terminator`, and the closing one is consumed.
        mutating func characterData(until terminator: UInt8, what: String) throws(InventoryError) -> String {
            let isAttribute = terminator != UInt8(ascii: "<")
            if isAttribute { advance() }
            var result: [UInt8] = []
            while true {
                guard offset < bytes.count else {
                    if isAttribute { throw error("the input ends inside \(what)") }
                    return String(decoding: result, as: UTF8.self)
                }
                let byte = bytes[offset]
                if byte == terminator {
                    if isAttribute { advance() }
                    return String(decoding: result, as: UTF8.self)
                }
                if isAttribute && byte == UInt8(ascii: "<") { throw error("'<' in \(what); write it as &lt;") }
                if byte == UInt8(ascii: "&") {
                    result += try reference()
                } else {
                    result.append(byte)
                    advance()
                }
            }
        }

        /// Resolves the entity or character reference at `offset` to its UTF-8 bytes.
        mutating func reference() throws(InventoryError) -> [UInt8] {
            let start = offset
            guard let semicolon = bytes[offset...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else {
                throw error("'&' begins no reference; write a literal ampersand as &amp;")
            }
            let body = String(decoding: bytes[(offset + 1)..<semicolon], as: UTF8.self)
            let resolved: String
            switch body {
            case "amp": resolved = "&"
            case "lt": resolved = "<"
            case "gt": resolved = ">"
            case "quot": resolved = "\""
            case "apos": resolved = "'"
            default:
                let scalar: Unicode.Scalar?
                if body.hasPrefix("#x") || body.hasPrefix("#X") {
                    scalar = UInt32(body.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init)
                } else if body.hasPrefix("#") {
                    scalar = UInt32(body.dropFirst(), radix: 10).flatMap(Unicode.Scalar.init)
                } else {
                    throw error("unknown entity &\(body);; XML without a DTD knows only &amp; &lt; &gt; &quot; &apos; and &#N;")
                }
                guard let scalar, scalar.value != 0 else {
                    throw error("&\(body); is not a valid character reference")
                }
                resolved = String(Character(scalar))
            }
            advance(semicolon + 1 - start)
            return Array(resolved.utf8)
        }

        mutating func name(what: String) throws(InventoryError) -> String {
            let start = offset
            while offset < bytes.count, Self.isNameByte(bytes[offset]) { advance() }
            guard offset > start, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[start]),
                  bytes[start] != UInt8(ascii: "-"), bytes[start] != UInt8(ascii: ".") else {
                throw error("expected an \(what)")
            }
            return String(decoding: bytes[start..<offset], as: UTF8.self)
        }

        static func isNameByte(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"),
                 UInt8(ascii: "."), UInt8(ascii: ":"), 0x80...0xFF:
                true
            default:
                false
            }
        }

        /// Skips `<!DOCTYPE ...>`, including an internal subset in brackets, whose declarations
        /// contain '>' of their own.
        mutating func skipDoctype() throws(InventoryError) {
            var depth = 0
            while offset < bytes.count {
                let byte = bytes[offset]
                advance()
                if byte == UInt8(ascii: "[") { depth += 1 }
                if byte == UInt8(ascii: "]") { depth -= 1 }
                if byte == UInt8(ascii: ">") && depth <= 0 { return }
            }
            throw error("the input ends inside <!DOCTYPE")
        }

        mutating func skip(past terminator: String, what: String) throws(InventoryError) {
            let startLine = line
            let pattern = Array(terminator.utf8)
            while offset < bytes.count {
                if starts(with: pattern) {
                    advance(pattern.count)
                    return
                }
                advance()
            }
            throw error("the \(what) opened at line \(startLine) never ends ('\(terminator)' is missing)")
        }

        func starts(with prefix: String) -> Bool { starts(with: Array(prefix.utf8)) }

        func starts(with prefix: [UInt8]) -> Bool {
            bytes.count - offset >= prefix.count && bytes[offset..<(offset + prefix.count)].elementsEqual(prefix)
        }

        @discardableResult
        mutating func skipWhitespace() -> Bool {
            let start = offset
            while offset < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[offset]) { advance() }
            return offset > start
        }

        mutating func advance(_ count: Int = 1) {
            for _ in 0..<count where offset < bytes.count {
                if bytes[offset] == 0x0A {
                    line += 1
                    lineStart = offset + 1
                }
                offset += 1
            }
        }

        func error(_ message: String) -> InventoryError {
            // Columns count characters, not bytes, so they match what an editor shows.
            let column = String(decoding: bytes[lineStart..<min(offset, bytes.count)], as: UTF8.self).count + 1
            return InventoryError(field: field, "line \(line), column \(column): \(message)")
        }
    }
}

extension StringProtocol {
    var trimmed: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
