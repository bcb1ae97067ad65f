import DocketCore
import Foundation

/// nextToken values: opaque to clients (base64 of "seq:<n>"), "continue after n" to us.
/// ListJobs puts the last job's sequence in it; the Describe operations an offset into their list.
enum PageToken {
    static func encode(_ position: Int64) -> String {
        Data("seq:\(position)".utf8).base64EncodedString()
    }

    /// - Throws: `.invalidRequest` naming nextToken when the token is not one this server gave.
    static func decode(_ token: String) throws(DocketError) -> Int64 {
        guard let data = Data(base64Encoded: token), let text = String(data: data, encoding: .utf8),
              text.hasPrefix("seq:"), let position = Int64(text.dropFirst(4)), position >= 0 else {
            throw .invalid("nextToken", "nextToken '\(token.prefix(64))' is not a token this server gave; pass the previous page's nextToken unchanged, or omit it to start at the beginning.")
        }
        return position
    }

    /// One page of a Describe operation's answer: `maxResults` (1 to 100, default 100) items from
    /// the offset in `nextToken`, and a nextToken when more remain.
    static func page(_ items: [JSONValue], key: String, request: Members) throws(DocketError) -> JSONValue {
        let limit = Int(try request.integer("maxResults", in: 1...100) ?? 100)
        var start = 0
        if let token = try request.string("nextToken") { start = Int(clamping: try decode(token)) }
        let slice = Array(items.dropFirst(start).prefix(limit))
        var members: [String: JSONValue] = [key: .array(slice)]
        if start + slice.count < items.count { members["nextToken"] = .string(encode(Int64(start + slice.count))) }
        return .object(members)
    }
}
