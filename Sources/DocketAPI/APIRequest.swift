/// One HTTP request as the API sees it, after the body has been read under the size limit:
/// what routing, authentication and decoding need, free of Hummingbird's types so that all
/// three are tested without a server.
package struct APIRequest: Sendable {
    /// "POST", "GET", "DELETE", ...
    package var method: String
    /// The URI path as sent, still percent-encoded (SigV4 signs it that way).
    package var rawPath: String
    /// The query string as sent, without the "?"; "" when there is none.
    package var rawQuery: String
    /// Header fields in arrival order; names as sent (compare them case-insensitively).
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]

    package init(method: String, rawPath: String, rawQuery: String = "", headers: [(name: String, value: String)] = [],
                 body: [UInt8] = []) {
        self.method = method
        self.rawPath = rawPath
        self.rawQuery = rawQuery
        self.headers = headers
        self.body = body
    }

    /// The path with percent-escapes decoded ("/v1/tags/arn:aws:batch:...").
    package var path: String { Self.percentDecoded(rawPath) }

    /// The query parameters, decoded, in order; a name may repeat (UntagResource's tagKeys).
    package var queryItems: [(name: String, value: String)] {
        rawQuery.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.percentDecoded(String(parts[0]), plusIsSpace: true)
            let value = parts.count > 1 ? Self.percentDecoded(String(parts[1]), plusIsSpace: true) : ""
            return (name, value)
        }
    }

    /// The last value of a query parameter.
    package func query(_ name: String) -> String? { queryItems.last { $0.name == name }?.value }

    /// The first header with this name, compared case-insensitively.
    package func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    /// Decodes %XX escapes (and "+" as a space in query strings); malformed escapes stay as sent.
    package static func percentDecoded(_ text: String, plusIsSpace: Bool = false) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }) else { return text }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%"), iterator.count >= 2,
               let high = hexValue(iterator[iterator.startIndex]), let low = hexValue(iterator[iterator.startIndex + 1]) {
                bytes.append(high << 4 | low)
                iterator = iterator.dropFirst(2)
            } else if plusIsSpace && byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Decides whether a request may be answered at all, before it is routed. The server installs
/// one when access keys are configured (AWS Signature Version 4); without one every request
/// proceeds (the server then listens on loopback only).
package protocol RequestAuthenticator: Sendable {
    /// nil when the request may proceed; otherwise the failure to answer (403, AWS's error shape).
    func authenticate(_ request: APIRequest) -> APIFailure?
}

/// Told of every answered AWS Batch operation: its name as the service model spells it
/// ("SubmitJob") and the HTTP status. The conformance report is built from these.
package protocol OperationObserver: Sendable {
    func answered(operation: String, status: Int)
}
