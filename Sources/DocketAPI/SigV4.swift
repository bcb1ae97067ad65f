import Crypto
import Foundation

/// AWS Signature Version 4 as the aws CLI, boto3 and every AWS SDK sign requests: the
/// canonical request, the string to sign and the derived key. The server's authenticator
/// verifies with it and the `docket` CLI signs with it, so both sides agree by construction.
package enum SigV4 {
    package static let algorithm = "AWS4-HMAC-SHA256"

    /// One request's signature inputs. `rawPath` and `rawQuery` are as sent on the wire.
    package struct Request: Sendable {
        package var method: String
        package var rawPath: String
        package var rawQuery: String
        /// Header names (any case) and values of the headers to sign.
        package var headers: [(name: String, value: String)]
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
        "\(date)/\(region)/\(service)/aws4_request"
    }

    /// The canonical request. The path is URI-encoded once more, as botocore does for every
    /// service but S3 (so "%3A" in an ARN becomes "%253A"); query pairs are decoded, re-encoded
    /// and sorted; header values are trimmed with inner runs of spaces folded.
    package static func canonicalRequest(_ request: Request, signedHeaders: [String]) -> String {
        var lines = [request.method, uriEncode(request.rawPath.isEmpty ? "/" : request.rawPath, keepSlash: true)]
        var pairs: [(name: String, value: String)] = []
        for pair in request.rawQuery.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name: String = APIRequest.percentDecoded(String(parts[0]), plusIsSpace: true)
            let value: String = parts.count > 1 ? APIRequest.percentDecoded(String(parts[1]), plusIsSpace: true) : ""
            pairs.append((uriEncode(name, keepSlash: false), uriEncode(value, keepSlash: false)))
        }
        pairs.sort { (first: (name: String, value: String), second: (name: String, value: String)) -> Bool in
            first.name == second.name ? first.value < second.value : first.name < second.name
        }
        let query: [String] = pairs.map { "\($0.name)=\($0.value)" }
        lines.append(query.joined(separator: "&"))
        var values: [String: [String]] = [:]
        for header in request.headers {
            let folded = header.value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            values[header.name.lowercased(), default: []].append(folded.trimmingCharacters(in: .whitespaces))
        }
        for name in signedHeaders { lines.append("\(name):\((values[name] ?? []).joined(separator: ","))") }
        lines.append("")
        lines.append(signedHeaders.joined(separator: ";"))
        lines.append(request.payloadHash)
        return lines.joined(separator: "\n")
    }

    package static func stringToSign(canonicalRequest: String, amzDate: String, scope: String) -> String {
        [algorithm, amzDate, scope, hex(SHA256.hash(data: Data(canonicalRequest.utf8)))].joined(separator: "\n")
    }

    /// The signature of `stringToSign` with the key derived from the secret for `scope`'s date,
    /// region and service.
    package static func signature(secret: String, date: String, region: String, service: String, stringToSign: String) -> String {
        var key = SymmetricKey(data: Data("AWS4\(secret)".utf8))
        for part in [date, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
    }

    package static func payloadHash(_ body: [UInt8]) -> String { hex(SHA256.hash(data: body)) }

    /// The headers to add to a request so that it carries a valid signature (what the CLI sends).
    /// `headers` must include `host`; the result adds `x-amz-date` and `authorization`.
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

    /// "20261123T041500Z".
    package static func amzDateFormat(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!, parts.second!)
    }

    /// Parses "20261123T041500Z" (nil when malformed).
    package static func parseAmzDate(_ text: String) -> Date? {
        guard text.count == 16, text.hasSuffix("Z") else { return nil }
        let digits = text.filter(\.isNumber)
        guard digits.count == 14 else { return nil }
        func number(_ from: Int, _ length: Int) -> Int { Int(digits.dropFirst(from).prefix(length))! }
        var components = DateComponents(year: number(0, 4), month: number(4, 2), day: number(6, 2),
                                        hour: number(8, 2), minute: number(10, 2), second: number(12, 2))
        components.timeZone = TimeZone(identifier: "UTC")
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: components)
    }

    /// RFC 3986 encoding as SigV4 wants it: unreserved characters (and "/" in paths) stay, every
    /// other byte becomes %XX in upper case.
    package static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    static func hex<D: Digest>(_ digest: D) -> String { hex(Array(digest)) }

    static func hex(_ code: HashedAuthenticationCode<SHA256>) -> String { hex(Array(code)) }
}

/// Checks every request's SigV4 signature against the configured access keys. A request
/// without a valid signature from one of them is answered 403 with the error code AWS's front
/// end gives, and never reaches an operation.
package struct SigV4Authenticator: RequestAuthenticator {
    /// Secret access keys by access key id.
    package let keys: [String: String]
    /// The region clients must sign for (the server's configured region).
    package let region: String
    package let service: String
    /// How far a request's X-Amz-Date may be from the server's clock (AWS: 5 minutes).
    package let allowedSkew: TimeInterval
    package let now: @Sendable () -> Date

    package init(keys: [String: String], region: String, service: String = "batch", allowedSkew: TimeInterval = 300,
                 now: @escaping @Sendable () -> Date = { Date() }) {
        self.keys = keys
        self.region = region
        self.service = service
        self.allowedSkew = allowedSkew
        self.now = now
    }

    private func failure(_ type: String, _ message: String) -> APIFailure {
        APIFailure(status: 403, type: APIFailure.ErrorType(rawValue: type), message: message)
    }

    package func authenticate(_ request: APIRequest) -> APIFailure? {
        guard let authorization = request.header("authorization") else {
            return failure("MissingAuthenticationTokenException", "Missing Authentication Token: this server requires requests signed with AWS Signature Version 4; configure an access key the server knows (aws configure, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).")
        }
        guard authorization.hasPrefix(SigV4.algorithm + " ") else {
            return failure("IncompleteSignatureException", "Authorization header must use \(SigV4.algorithm) (Signature Version 4).")
        }
        var fields: [String: String] = [:]
        for part in authorization.dropFirst(SigV4.algorithm.count + 1).split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        guard let credential = fields["Credential"], let signedList = fields["SignedHeaders"], let given = fields["Signature"] else {
            let missing = ["Credential", "SignedHeaders", "Signature"].filter { fields[$0] == nil }
            return failure("IncompleteSignatureException", "Authorization header requires \(missing.joined(separator: ", ")); sign the request with Signature Version 4.")
        }
        let scope = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard scope.count == 5, scope[4] == "aws4_request" else {
            return failure("IncompleteSignatureException", "Credential '\(credential)' is not ACCESS_KEY_ID/DATE/REGION/SERVICE/aws4_request.")
        }
        let (keyID, date, scopeRegion, scopeService) = (scope[0], scope[1], scope[2], scope[3])
        guard let secret = keys[keyID] else {
            return failure("UnrecognizedClientException", "The security token included in the request is invalid: access key '\(keyID)' is not configured on this server.")
        }
        guard let amzDate = request.header("x-amz-date"), let sent = SigV4.parseAmzDate(amzDate) else {
            return failure("IncompleteSignatureException", "The request must carry an X-Amz-Date header of the form 20261123T041500Z.")
        }
        guard amzDate.hasPrefix(date) else {
            return failure("InvalidSignatureException", "Credential date \(date) does not match X-Amz-Date \(amzDate).")
        }
        let current = now()
        guard abs(sent.timeIntervalSince(current)) <= allowedSkew else {
            return failure("InvalidSignatureException", "Signature expired: \(amzDate) is now earlier than \(SigV4.amzDateFormat(current.addingTimeInterval(-allowedSkew))) (\(SigV4.amzDateFormat(current)) - \(Int(allowedSkew / 60)) min.) Check the client's clock.")
        }
        guard scopeRegion == region else {
            return failure("InvalidSignatureException", "Credential should be scoped to a valid region: this server's region is '\(region)', the request was signed for '\(scopeRegion)'; pass --region \(region).")
        }
        guard scopeService == service else {
            return failure("InvalidSignatureException", "Credential should be scoped to correct service: '\(service)', not '\(scopeService)'.")
        }
        let signedHeaders = signedList.split(separator: ";").map(String.init)
        guard signedHeaders.contains("host") else {
            return failure("InvalidSignatureException", "SignedHeaders must include host.")
        }
        let payloadHash = SigV4.payloadHash(request.body)
        if let declared = request.header("x-amz-content-sha256"), declared != "UNSIGNED-PAYLOAD", declared != payloadHash {
            return failure("InvalidSignatureException", "X-Amz-Content-Sha256 does not match the body that arrived.")
        }
        let canonical = SigV4.canonicalRequest(
            SigV4.Request(method: request.method, rawPath: request.rawPath, rawQuery: request.rawQuery,
                          headers: request.headers.filter { signedHeaders.contains($0.name.lowercased()) }, payloadHash: payloadHash),
            signedHeaders: signedHeaders)
        let expected = SigV4.signature(secret: secret, date: date, region: scopeRegion, service: scopeService,
                                       stringToSign: SigV4.stringToSign(canonicalRequest: canonical, amzDate: amzDate,
                                                                        scope: SigV4.scope(date: date, region: scopeRegion, service: scopeService)))
        // Compared in constant time, so the answer's timing says nothing about the signature.
        guard expected.utf8.count == given.utf8.count, zip(expected.utf8, given.utf8).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else {
            return failure("InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
        }
        return nil
    }
}
