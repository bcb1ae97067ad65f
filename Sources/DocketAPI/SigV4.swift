import Crypto
import Foundation

/// AWS Signature Version 4 as the aws CLI, boto3 and every AWS SDK sign requests: the
/// canonical request, the string to sign and the derived key. The server's
/// `SigV4Authenticator` verifies with it and the `docket` CLI signs with it, so both sides
/// agree by construction; AWS's published test-suite vectors and botocore's own signatures
/// pin it (Tests/DocketAPITests/SigV4Tests.swift).
package enum SigV4 {
    package static let algorithm = "AWS4-HMAC-SHA256"
    /// The last element of every credential scope.
    package static let terminator = "aws4_request"

    /// One request's signature inputs. `rawPath` and `rawQuery` are as sent on the wire.
    package struct Request: Sendable {
        package var method: String
        package var rawPath: String
        package var rawQuery: String
        /// Header names (any case) and values of the headers to sign.
        package var headers: [(name: String, value: String)]
        /// The hex SHA-256 of the body, or the X-Amz-Content-Sha256 value the client signed.
        package var payloadHash: String

        package init(method: String, rawPath: String, rawQuery: String, headers: [(name: String, value: String)], payloadHash: String) {
            self.method = method
            self.rawPath = rawPath
            self.rawQuery = rawQuery
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    /// "20261123/local/batch/aws4_request".
    package static func scope(date: String, region: String, service: String) -> String {
        "\(date)/\(region)/\(service)/\(terminator)"
    }

    /// The canonical request, in AWS's six lines:
    /// 1. the method;
    /// 2. the path, dot segments and empty segments removed, then URI-encoded once more, as
    ///    botocore does for every service but S3 (so "%3A" in a tag path's ARN becomes "%253A");
    /// 3. the query pairs, decoded, re-encoded and sorted by name, then value;
    /// 4. the signed headers, lower-case, values trimmed with inner whitespace folded, repeated
    ///    headers joined with commas;
    /// 5. the signed header names;
    /// 6. the payload hash.
    package static func canonicalRequest(_ request: Request, signedHeaders: [String]) -> String {
        var lines: [String] = [request.method, canonicalURI(request.rawPath)]
        var pairs: [(name: String, value: String)] = []
        for pair in request.rawQuery.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = APIRequest.percentDecoded(String(parts[0]), plusIsSpace: true)
            let value = parts.count > 1 ? APIRequest.percentDecoded(String(parts[1]), plusIsSpace: true) : ""
            pairs.append((uriEncode(name, keepSlash: false), uriEncode(value, keepSlash: false)))
        }
        pairs.sort { $0.name == $1.name ? $0.value < $1.value : $0.name < $1.name }
        lines.append(pairs.map { "\($0.name)=\($0.value)" }.joined(separator: "&"))
        var values: [String: [String]] = [:]
        for header in request.headers {
            values[header.name.lowercased(), default: []].append(header.value.split(whereSeparator: \.isWhitespace).joined(separator: " "))
        }
        for name in signedHeaders { lines.append("\(name):\((values[name] ?? []).joined(separator: ","))") }
        lines.append("")
        lines.append(signedHeaders.joined(separator: ";"))
        lines.append(request.payloadHash)
        return lines.joined(separator: "\n")
    }

    /// The path as botocore signs it: RFC 3986 dot segments resolved and runs of "/" folded
    /// (botocore's `normalize_url_path`), then URI-encoded with "/" kept.
    package static func canonicalURI(_ rawPath: String) -> String {
        guard !rawPath.isEmpty else { return "/" }
        var segments: [Substring] = []
        for segment in rawPath.split(separator: "/", omittingEmptySubsequences: true) where segment != "." {
            if segment == ".." { _ = segments.popLast() } else { segments.append(segment) }
        }
        var path = (rawPath.hasPrefix("/") ? "/" : "") + segments.joined(separator: "/")
        if rawPath.hasSuffix("/") && !segments.isEmpty { path += "/" }
        return uriEncode(path, keepSlash: true)
    }

    package static func stringToSign(canonicalRequest: String, amzDate: String, scope: String) -> String {
        [algorithm, amzDate, scope, hex(SHA256.hash(data: Data(canonicalRequest.utf8)))].joined(separator: "\n")
    }

    /// The signature of `stringToSign` with the key derived from the secret for the scope's
    /// date, region and service (HMAC-SHA256 chained over "AWS4" + secret).
    package static func signature(secret: String, date: String, region: String, service: String, stringToSign: String) -> String {
        var key = SymmetricKey(data: Data("AWS4\(secret)".utf8))
        for part in [date, region, service, terminator] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
    }

    package static func payloadHash(_ body: [UInt8]) -> String { hex(SHA256.hash(data: body)) }

    /// The headers to add to a request so that it carries a valid signature (what the CLI sends).
    /// Every header in `headers` is signed, and it must include `host` with the value the HTTP
    /// client will send; the result adds `x-amz-date` and `authorization`.
    package static func sign(method: String, rawPath: String, rawQuery: String, headers: [(name: String, value: String)],
                             body: [UInt8], accessKeyID: String, secret: String, region: String, service: String = "batch",
                             now: Date = Date()) -> [(name: String, value: String)] {
        let amzDate = amzDateFormat(now)
        let date = String(amzDate.prefix(8))
        let all = headers + [("x-amz-date", amzDate)]
        let signed = Set(all.map { $0.name.lowercased() }).sorted()
        let request = Request(method: method, rawPath: rawPath, rawQuery: rawQuery, headers: all, payloadHash: payloadHash(body))
        let credentialScope = scope(date: date, region: region, service: service)
        let toSign = stringToSign(canonicalRequest: canonicalRequest(request, signedHeaders: signed), amzDate: amzDate, scope: credentialScope)
        let value = "\(algorithm) Credential=\(accessKeyID)/\(credentialScope), SignedHeaders=\(signed.joined(separator: ";")), Signature=\(signature(secret: secret, date: date, region: region, service: service, stringToSign: toSign))"
        return [("x-amz-date", amzDate), ("authorization", value)]
    }

    // MARK: - Dates, in UTC by arithmetic (no Calendar or time zone database on the request path)

    /// "20261123T041500Z", the ISO 8601 basic format X-Amz-Date and the string to sign use.
    package static func amzDateFormat(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let (year, month, day) = civil(fromDays: days)
        let time = seconds - days * 86_400
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let yearText = String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year)
        return "\(yearText)\(two(month))\(two(day))T\(two(time / 3600))\(two(time / 60 % 60))\(two(time % 60))Z"
    }

    /// Parses "20261123T041500Z" (nil when malformed).
    package static func parseAmzDate(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
              let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15) else { return nil }
        return date(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    }

    /// Parses an HTTP Date header, "Mon, 23 Nov 2026 04:15:00 GMT" (RFC 7231's IMF-fixdate; also
    /// "-0000" and "+0000" for the zone, as Python's `formatdate` and so botocore write it).
    package static func parseHTTPDate(_ text: String) -> Date? {
        let words = text.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count == 6, words[0].hasSuffix(","), ["GMT", "UTC", "+0000", "-0000", "Z"].contains(words[5]),
              let day = Int64(words[1]), let year = Int64(words[3]),
              let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].firstIndex(of: String(words[2])) else { return nil }
        let time = words[4].split(separator: ":", omittingEmptySubsequences: false)
        guard time.count == 3, let hour = Int64(time[0]), let minute = Int64(time[1]), let second = Int64(time[2]) else { return nil }
        return date(year: year, month: Int64(month) + 1, day: day, hour: hour, minute: minute, second: second)
    }

    private static func date(year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64) -> Date? {
        guard (1...12).contains(month), (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute),
              (0...60).contains(second) else { return nil }
        let days = self.days(fromCivil: year, month, day)
        guard civil(fromDays: days) == (year, month, day) else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(days * 86_400 + hour * 3600 + minute * 60 + second))
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    private static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The inverse of `days(fromCivil:)`: (year, month, day). The event log's times use it too.
    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    // MARK: - Encoding

    /// RFC 3986 encoding as SigV4 wants it: unreserved characters (and "/" in paths) stay, every
    /// other byte becomes %XX in upper case.
    package static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where keepSlash:
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), upperHexDigits[Int(byte >> 4)], upperHexDigits[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let upperHexDigits = Array("0123456789ABCDEF".utf8)
    private static let lowerHexDigits = Array("0123456789abcdef".utf8)

    static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var out: [UInt8] = []
        for byte in bytes { out += [lowerHexDigits[Int(byte >> 4)], lowerHexDigits[Int(byte & 0x0F)]] }
        return String(decoding: out, as: UTF8.self)
    }

    static func hex<D: Digest>(_ digest: D) -> String { hex(Array(digest)) }

    static func hex(_ code: HashedAuthenticationCode<SHA256>) -> String { hex(Array(code)) }
}
