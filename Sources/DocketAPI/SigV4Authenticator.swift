import Foundation

extension APIFailure.ErrorType {
    /// The codes AWS's front end answers authentication failures with, all with HTTP 403;
    /// botocore reports them by name ("An error occurred (InvalidSignatureException) ...").
    package static let missingAuthenticationToken = Self(rawValue: "MissingAuthenticationTokenException")
    package static let incompleteSignature = Self(rawValue: "IncompleteSignatureException")
    package static let unrecognizedClient = Self(rawValue: "UnrecognizedClientException")
    package static let invalidSignature = Self(rawValue: "InvalidSignatureException")
}

/// Checks every request's AWS Signature Version 4 signature against the configured access
/// keys. A request without a valid signature from one of them is answered 403 with the error
/// code and message AWS's front end gives, and never reaches an operation.
///
/// What is checked, in order (the numbers match the code):
/// 1. an `Authorization` header with algorithm AWS4-HMAC-SHA256 and its Credential,
///    SignedHeaders and Signature parameters;
/// 2. the credential scope `KEY/DATE/REGION/SERVICE/aws4_request`;
/// 3. `X-Amz-Date`, else `Date`;
/// 4. the access key id is configured;
/// 5. the scope names this server's region, the service "batch", and the request's date;
/// 6. the request time is within the allowed skew of the server's clock (AWS: 5 minutes);
/// 7. `host` is signed;
/// 8. `X-Amz-Content-Sha256`, when sent, is the body's hash (the body is always covered);
/// 9. the signature, recomputed from the canonical request, matches in constant time.
///
/// It never logs, and no secret appears in any message. Presigned URLs (query-string
/// signatures) are refused: neither the aws CLI nor boto3 sends them to AWS Batch.
package struct SigV4Authenticator: RequestAuthenticator {
    /// Secret access keys by access key id.
    package let keys: [String: String]
    /// The region clients must sign for (the server's configured region).
    package let region: String
    package let service: String
    /// How far a request's time may be from the server's clock, either way, in seconds.
    package let allowedSkew: TimeInterval
    /// The server's clock; tests pass a fixed one.
    package let now: @Sendable () -> Date

    package init(keys: [String: String], region: String, service: String = "batch", allowedSkew: TimeInterval = 300,
                 now: @escaping @Sendable () -> Date = { Date() }) {
        self.keys = keys
        self.region = region
        self.service = service
        self.allowedSkew = allowedSkew
        self.now = now
    }

    package func authenticate(_ request: APIRequest) -> APIFailure? {
        // 1. The Authorization header and its three parameters.
        guard let authorization = request.header("authorization") else {
            if request.queryItems.contains(where: { $0.name == "X-Amz-Signature" || $0.name == "X-Amz-Algorithm" }) {
                return failure(.incompleteSignature, "Presigned URLs (X-Amz-Signature in the query string) are not accepted by this server; send the signature in the Authorization header, as the aws CLI and the AWS SDKs do.")
            }
            return failure(.missingAuthenticationToken, "Missing Authentication Token: this server only answers requests signed with AWS Signature Version 4 by one of its access keys. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (aws CLI, boto3) or DOCKET_ACCESS_KEY_ID and DOCKET_SECRET_ACCESS_KEY (docket CLI) to such a key.")
        }
        let trimmed = authorization.drop { $0 == " " }
        let algorithmEnd = trimmed.firstIndex(of: " ") ?? trimmed.endIndex
        guard trimmed[..<algorithmEnd] == SigV4.algorithm else {
            return failure(.incompleteSignature, "Authorization header must use \(SigV4.algorithm) (Signature Version 4); it uses '\(trimmed[..<algorithmEnd].prefix(40))'. Sign the request as the aws CLI and the AWS SDKs do.")
        }
        var parameters: [String: String] = [:]
        for part in trimmed[algorithmEnd...].split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { parameters[String(pair[0])] = String(pair[1]) }
        }
        guard let credential = parameters["Credential"], let signedList = parameters["SignedHeaders"],
              let givenSignature = parameters["Signature"] else {
            let missing = ["Credential", "SignedHeaders", "Signature"].filter { parameters[$0] == nil }
            return failure(.incompleteSignature, missing.map { "Authorization header requires '\($0)' parameter." }.joined(separator: " "))
        }

        // 2. The credential scope.
        let scope = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard scope.count == 5, !scope[0].isEmpty else {
            return failure(.incompleteSignature, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '\(credential)'.")
        }
        let (keyID, scopeDate, scopeRegion, scopeService, scopeTerminator) = (scope[0], scope[1], scope[2], scope[3], scope[4])

        // 3. The request's time: X-Amz-Date, else Date (botocore keeps a Date header it was given).
        let amzDate: String
        let sent: Date
        if let value = request.header("x-amz-date") {
            guard let parsed = SigV4.parseAmzDate(value) else {
                return failure(.incompleteSignature, "X-Amz-Date must be in ISO-8601 'basic format', e.g. 20261123T041500Z; got '\(value.prefix(40))'.")
            }
            (amzDate, sent) = (value, parsed)
        } else if let value = request.header("date") {
            guard let parsed = SigV4.parseHTTPDate(value) else {
                return failure(.incompleteSignature, "Date must be an HTTP date, e.g. 'Mon, 23 Nov 2026 04:15:00 GMT'; got '\(value.prefix(40))'. Or send X-Amz-Date.")
            }
            (amzDate, sent) = (SigV4.amzDateFormat(parsed), parsed)
        } else {
            return failure(.incompleteSignature, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
        }

        // 4. The key.
        guard let secret = keys[keyID] else {
            return failure(.unrecognizedClient, "The security token included in the request is invalid. Access key id '\(keyID)' is not one of this server's access keys; check AWS_ACCESS_KEY_ID (or DOCKET_ACCESS_KEY_ID) against server.access_keys.")
        }

        // 5. The scope names this server and the request's day.
        guard scopeTerminator == SigV4.terminator else {
            return failure(.invalidSignature, "Credential should be scoped with a valid terminator: '\(SigV4.terminator)', not '\(scopeTerminator)'.")
        }
        guard scopeService == service else {
            return failure(.invalidSignature, "Credential should be scoped to correct service: '\(service)', not '\(scopeService)'.")
        }
        guard scopeRegion == region else {
            return failure(.invalidSignature, "Credential should be scoped to a valid region, not '\(scopeRegion)'. This server's region is '\(region)': pass --region \(region) (or set AWS_REGION=\(region)).")
        }
        guard scopeDate == amzDate.prefix(8) else {
            return failure(.invalidSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '\(scopeDate)' != '\(amzDate.prefix(8))', from '\(amzDate)'.")
        }

        // 6. Clock skew, in AWS's words.
        let current = now()
        let minutes = Int(allowedSkew / 60)
        if sent < current.addingTimeInterval(-allowedSkew) {
            return failure(.invalidSignature, "Signature expired: \(amzDate) is now earlier than \(SigV4.amzDateFormat(current.addingTimeInterval(-allowedSkew))) (\(SigV4.amzDateFormat(current)) - \(minutes) min.) Check the client's clock, or send the request again.")
        }
        if sent > current.addingTimeInterval(allowedSkew) {
            return failure(.invalidSignature, "Signature not yet current: \(amzDate) is still later than \(SigV4.amzDateFormat(current.addingTimeInterval(allowedSkew))) (\(SigV4.amzDateFormat(current)) + \(minutes) min.) Check the client's clock.")
        }

        // 7. The signed headers must pin the host the request was meant for.
        let signedHeaders = signedList.split(separator: ";").map { $0.lowercased() }
        guard signedHeaders.contains("host") || signedHeaders.contains(":authority") else {
            return failure(.invalidSignature, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
        }

        // 8. The payload hash the client signed must be the body's: this server never accepts
        // an unsigned body (UNSIGNED-PAYLOAD, streaming), so a signature always covers it.
        let bodyHash = SigV4.payloadHash(request.body)
        if let declared = request.header("x-amz-content-sha256"), declared.lowercased() != bodyHash {
            guard declared.utf8.count == 64, declared.allSatisfy(\.isHexDigit) else {
                return failure(.invalidSignature, "X-Amz-Content-Sha256 '\(declared.prefix(40))' is not accepted: this server checks every body, so send the body's SHA-256 in hex (or leave the header out).")
            }
            return failure(.invalidSignature, "X-Amz-Content-Sha256 does not match the body that arrived (the body's SHA-256 is \(bodyHash)); the body was changed after it was signed.")
        }
        let payloadHash = request.header("x-amz-content-sha256") ?? bodyHash

        // 9. The signature.
        let canonical = SigV4.canonicalRequest(
            SigV4.Request(method: request.method, rawPath: request.rawPath, rawQuery: request.rawQuery,
                          headers: request.headers.filter { signedHeaders.contains($0.name.lowercased()) }, payloadHash: payloadHash),
            signedHeaders: signedHeaders)
        let stringToSign = SigV4.stringToSign(canonicalRequest: canonical, amzDate: amzDate,
                                              scope: SigV4.scope(date: scopeDate, region: scopeRegion, service: scopeService))
        let expected = SigV4.signature(secret: secret, date: scopeDate, region: scopeRegion, service: scopeService, stringToSign: stringToSign)
        guard Self.constantTimeEqual(expected, givenSignature) else {
            // AWS's message, with the canonical request and string to sign it computed, so a
            // hand-written client can see where it differs. Neither holds a secret.
            return failure(.invalidSignature, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.\n\nThe Canonical String for this request should have been\n'\(canonical)'\n\nThe String-to-Sign should have been\n'\(stringToSign)'\n")
        }
        return nil
    }

    /// Compares in time that depends only on the lengths, so the answer's timing says nothing
    /// about how much of a guessed signature is right.
    static func constantTimeEqual(_ expected: String, _ given: String) -> Bool {
        let (left, right) = (Array(expected.utf8), Array(given.utf8))
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }

    private func failure(_ type: APIFailure.ErrorType, _ message: String) -> APIFailure {
        APIFailure(status: 403, type: type, message: message)
    }
}
