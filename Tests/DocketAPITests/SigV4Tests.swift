@testable import DocketAPI
import DocketCore
import Foundation
import XCTest

/// Signature Version 4: AWS's published test-suite vectors, signatures produced by real
/// botocore, and every way a request is refused.
final class SigV4Tests: XCTestCase {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

    // MARK: - AWS's test suite

    /// Cases of AWS's SigV4 test suite (aws-sig-v4-test-suite, as kept in awslabs/aws-c-auth
    /// tests/aws-signing-test-suite/v4/<name>/header-signed-request.txt): AKIDEXAMPLE, service
    /// "service", region us-east-1, 20150830T123600Z. Each is the whole signed request.
    static let suite: [(name: String, request: APIRequest)] = [
        ("get-vanilla", APIRequest(method: "GET", rawPath: "/", headers: [
            ("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        ])),
        ("get-vanilla-query-order-key-case", APIRequest(method: "GET", rawPath: "/", rawQuery: "Param2=value2&Param1=value1", headers: [
            ("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        ])),
        ("post-x-www-form-urlencoded", APIRequest(method: "POST", rawPath: "/", headers: [
            ("Content-Type", "application/x-www-form-urlencoded"), ("Host", "example.amazonaws.com"), ("Content-Length", "13"),
            ("X-Amz-Date", "20150830T123600Z"),
            ("x-amz-content-sha256", "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, Signature=d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"),
        ], body: Array("Param1=value1".utf8))),
        ("post-header-value-case", APIRequest(method: "POST", rawPath: "/", headers: [
            ("Host", "example.amazonaws.com"), ("My-Header1", "VALUE1"), ("X-Amz-Date", "20150830T123600Z"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"),
        ])),
        ("get-header-value-trim", APIRequest(method: "GET", rawPath: "/", headers: [
            ("Host", "example.amazonaws.com"), ("My-Header1", " value1"), ("My-Header2", #" "a   b   c""#), ("X-Amz-Date", "20150830T123600Z"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;my-header2;x-amz-date, Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
        ])),
        ("get-slash-dot-slash-normalized", APIRequest(method: "GET", rawPath: "/./", headers: [
            ("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        ])),
        ("get-utf8", APIRequest(method: "GET", rawPath: "/ሴ", headers: [
            ("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
        ])),
        ("get-vanilla-utf8-query", APIRequest(method: "GET", rawPath: "/", rawQuery: "ሴ=bar", headers: [
            ("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"),
        ])),
    ]

    static let suiteAuthenticator = SigV4Authenticator(keys: ["AKIDEXAMPLE": secret], region: "us-east-1", service: "service",
                                                       now: { SigV4.parseAmzDate("20150830T123600Z")! })

    func testAWSTestSuiteRequestsAreAccepted() {
        for (name, request) in Self.suite {
            let failure = Self.suiteAuthenticator.authenticate(request)
            XCTAssertNil(failure, "\(name): \(failure?.message ?? "")")
        }
    }

    func testCanonicalRequestsAndStringToSignMatchTheSuite() {
        // post-x-www-form-urlencoded/header-canonical-request.txt and header-string-to-sign.txt.
        let post = SigV4.Request(method: "POST", rawPath: "/", rawQuery: "", headers: Self.suite[2].request.headers,
                                 payloadHash: SigV4.payloadHash(Array("Param1=value1".utf8)))
        let canonical = SigV4.canonicalRequest(post, signedHeaders: ["content-length", "content-type", "host", "x-amz-content-sha256", "x-amz-date"])
        XCTAssertEqual(canonical, """
            POST
            /

            content-length:13
            content-type:application/x-www-form-urlencoded
            host:example.amazonaws.com
            x-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e
            x-amz-date:20150830T123600Z

            content-length;content-type;host;x-amz-content-sha256;x-amz-date
            9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e
            """)
        XCTAssertEqual(SigV4.stringToSign(canonicalRequest: canonical, amzDate: "20150830T123600Z",
                                          scope: SigV4.scope(date: "20150830", region: "us-east-1", service: "service")), """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            b1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb
            """)
        // get-vanilla-query-order-key-case/header-canonical-request.txt: the query sorted.
        let query = SigV4.Request(method: "GET", rawPath: "/", rawQuery: "Param2=value2&Param1=value1",
                                  headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")], payloadHash: SigV4.payloadHash([]))
        XCTAssertEqual(SigV4.canonicalRequest(query, signedHeaders: ["host", "x-amz-date"]).split(separator: "\n", omittingEmptySubsequences: false)[2],
                       "Param1=value1&Param2=value2")
    }

    // MARK: - botocore

    /// Requests exactly as botocore 1.43.11 signed them, generated once with
    /// `botocore.auth.SigV4Auth(Credentials("AKIDEXAMPLE", secret), "batch", "local").add_auth(AWSRequest(...))`
    /// with `botocore.auth.get_current_datetime` patched to 2026-11-23 04:15:00 UTC:
    /// 1. a POST with a JSON body;
    /// 2. a DELETE on a tag path whose ARN botocore percent-encodes (and signs encoded twice),
    ///    with repeated query keys out of order;
    /// 3. a POST given a Date header, which botocore keeps instead of X-Amz-Date, and a header
    ///    whose value needs trimming;
    /// 4. a POST carrying X-Amz-Content-SHA256.
    static let botocoreRequests: [APIRequest] = [
        APIRequest(method: "POST", rawPath: "/v1/describejobqueues", headers: [
            ("Host", "127.0.0.1:8400"), ("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Date", "20261123T041500Z"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/local/batch/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=b087544e96c24801fa7c06c7c3e96176b62a9a3736ccf7a8ce1ea98e1675afb3"),
        ], body: Array(#"{"maxResults": 5}"#.utf8)),
        APIRequest(method: "DELETE", rawPath: "/v1/tags/arn%3Aaws%3Abatch%3Alocal%3A000000000000%3Ajob-queue%2Fq",
                   rawQuery: "tagKeys=b&tagKeys=a", headers: [
                       ("Host", "127.0.0.1:8400"), ("X-Amz-Date", "20261123T041500Z"),
                       ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/local/batch/aws4_request, SignedHeaders=host;x-amz-date, Signature=ba57b05e6ff1aca4e2d6f9259072ce8825b5fb8fd9a8939d81d9b0eb47c9fa62"),
                   ]),
        APIRequest(method: "POST", rawPath: "/v1/submitjob", headers: [
            ("Host", "127.0.0.1:8400"), ("Content-Type", "application/x-amz-json-1.1"), ("X-Custom", "  a   b  "),
            ("Date", "Mon, 23 Nov 2026 04:15:00 -0000"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/local/batch/aws4_request, SignedHeaders=content-type;date;host;x-custom, Signature=8681e17289b9aab54cef4a1b2d2d8529be8a303b7f10ebb545eb3582ed4d84f0"),
        ], body: Array(#"{"jobName": "j", "jobQueue": "default", "jobDefinition": "default"}"#.utf8)),
        APIRequest(method: "POST", rawPath: "/v1/submitjob", headers: [
            ("Host", "127.0.0.1:8400"), ("X-Amz-Content-SHA256", "98a37166e7f4c53c73d957022a66fc211462a28399703e779325056d42c66d08"),
            ("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Date", "20261123T041500Z"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/local/batch/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=a1162c882ed803e807e4c0b520beac3f457eca8d31fa711096cfd854778ff1eb"),
        ], body: Array(#"{"jobName": "j", "jobQueue": "default", "jobDefinition": "default"}"#.utf8)),
    ]

    func authenticator(at time: String = "20261123T041700Z", keys: [String: String] = ["AKIDEXAMPLE": secret],
                       region: String = "local") -> SigV4Authenticator {
        let now = SigV4.parseAmzDate(time)!
        return SigV4Authenticator(keys: keys, region: region, now: { now })
    }

    func testRequestsBotocoreSignedAreAccepted() {
        for (index, request) in Self.botocoreRequests.enumerated() {
            let failure = authenticator().authenticate(request)
            XCTAssertNil(failure, "botocore request \(index + 1): \(failure?.message ?? "")")
        }
    }

    func testTheCLIsOwnSignaturesAreAccepted() {
        let requests = [
            APIRequest(method: "POST", rawPath: "/v1/submitjob", headers: [("host", "127.0.0.1:8400"), ("content-type", "application/json")],
                       body: Array(#"{"jobName":"j"}"#.utf8)),
            APIRequest(method: "GET", rawPath: "/docket/v1/jobs/abc/logs", rawQuery: "attempt=0&stream=stderr", headers: [("host", "[::1]:8400")]),
            APIRequest(method: "DELETE", rawPath: "/v1/tags/arn%3Aaws%3Abatch%3Alocal%3A000000000000%3Ajob-queue%2Fq",
                       rawQuery: "tagKeys=a%20b&tagKeys=c", headers: [("host", "localhost:8400")]),
        ]
        for var request in requests {
            request.headers += SigV4.sign(method: request.method, rawPath: request.rawPath, rawQuery: request.rawQuery, headers: request.headers,
                                          body: request.body, accessKeyID: "AKIDEXAMPLE", secret: Self.secret, region: "local",
                                          now: SigV4.parseAmzDate("20261123T041600Z")!)
            XCTAssertNil(authenticator().authenticate(request), request.rawPath)
        }
    }

    // MARK: - Refusals

    private func assertRefused(_ request: APIRequest, _ type: APIFailure.ErrorType, _ messagePrefix: String,
                               by authenticator: SigV4Authenticator? = nil, file: StaticString = #filePath, line: UInt = #line) {
        let failure = (authenticator ?? self.authenticator()).authenticate(request)
        XCTAssertEqual(failure?.status, 403, file: file, line: line)
        XCTAssertEqual(failure?.type, type, file: file, line: line)
        XCTAssertTrue(failure?.message.hasPrefix(messagePrefix) == true, "\(failure?.message ?? "accepted")", file: file, line: line)
    }

    private func replacing(_ name: String, with value: String?, in request: APIRequest = botocoreRequests[0]) -> APIRequest {
        var changed = request
        changed.headers.removeAll { $0.name.lowercased() == name.lowercased() }
        if let value { changed.headers.append((name, value)) }
        return changed
    }

    private func withAuthorization(_ value: String) -> APIRequest { replacing("Authorization", with: value) }

    func testAnUnsignedRequestIsMissingAuthenticationToken() {
        assertRefused(replacing("Authorization", with: nil), .missingAuthenticationToken, "Missing Authentication Token")
        var presigned = replacing("Authorization", with: nil)
        presigned.rawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00"
        assertRefused(presigned, .incompleteSignature, "Presigned URLs (X-Amz-Signature in the query string) are not accepted")
    }

    func testAMalformedAuthorizationIsAnIncompleteSignatureNamingWhatIsMissing() {
        assertRefused(withAuthorization("Basic abc"), .incompleteSignature, "Authorization header must use AWS4-HMAC-SHA256")
        assertRefused(withAuthorization("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/local/batch/aws4_request"), .incompleteSignature,
                      "Authorization header requires 'SignedHeaders' parameter. Authorization header requires 'Signature' parameter.")
        assertRefused(withAuthorization("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/local, SignedHeaders=host;x-amz-date, Signature=00"),
                      .incompleteSignature, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKIDEXAMPLE/20261123/local'.")
        assertRefused(replacing("X-Amz-Date", with: nil), .incompleteSignature,
                      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
        assertRefused(replacing("X-Amz-Date", with: "2026-11-23T04:15:00Z"), .incompleteSignature, "X-Amz-Date must be in ISO-8601 'basic format'")
    }

    func testAnUnknownAccessKeyIsAnUnrecognizedClient() {
        assertRefused(Self.botocoreRequests[0], .unrecognizedClient, "The security token included in the request is invalid.",
                      by: authenticator(keys: ["OTHER": Self.secret]))
    }

    func testAWrongSecretOrAChangedRequestIsAnInvalidSignature() {
        let mismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."
        let good = Self.botocoreRequests[0]
        assertRefused(good, .invalidSignature, mismatch, by: authenticator(keys: ["AKIDEXAMPLE": "wrong-secret"]))
        var tampered = good
        tampered.body = Array(#"{"maxResults": 6}"#.utf8)
        assertRefused(tampered, .invalidSignature, mismatch)
        var otherPath = good
        otherPath.rawPath = "/v1/describecomputeenvironments"
        assertRefused(otherPath, .invalidSignature, mismatch)
        var otherQuery = Self.botocoreRequests[1]
        otherQuery.rawQuery = "tagKeys=b&tagKeys=c"
        assertRefused(otherQuery, .invalidSignature, mismatch)
        assertRefused(replacing("Content-Type", with: "application/json"), .invalidSignature, mismatch)
        // AWS's message goes on with what it computed, which holds no secret.
        let message = authenticator().authenticate(tampered)?.message ?? ""
        XCTAssertTrue(message.contains("The Canonical String for this request should have been\n'POST\n/v1/describejobqueues\n"), message)
        XCTAssertFalse(message.contains(Self.secret))
    }

    func testARequestOutsideTheClockSkewIsRefusedInAWSsWords() {
        assertRefused(Self.botocoreRequests[0], .invalidSignature,
                      "Signature expired: 20261123T041500Z is now earlier than 20261123T041600Z (20261123T042100Z - 5 min.)",
                      by: authenticator(at: "20261123T042100Z"))
        assertRefused(Self.botocoreRequests[0], .invalidSignature,
                      "Signature not yet current: 20261123T041500Z is still later than 20261123T041400Z (20261123T040900Z + 5 min.)",
                      by: authenticator(at: "20261123T040900Z"))
        XCTAssertNil(authenticator(at: "20261123T042000Z").authenticate(Self.botocoreRequests[0]), "exactly 5 minutes is allowed")
        assertRefused(Self.botocoreRequests[2], .invalidSignature, "Signature expired: 20261123T041500Z", by: authenticator(at: "20261123T043000Z"))
    }

    func testAScopeForAnotherRegionServiceOrDayIsRefusedNamingTheExpectedOne() {
        assertRefused(Self.botocoreRequests[0], .invalidSignature,
                      "Credential should be scoped to a valid region, not 'local'. This server's region is 'eu-west-1': pass --region eu-west-1",
                      by: authenticator(region: "eu-west-1"))
        var otherService = APIRequest(method: "POST", rawPath: "/v1/describejobqueues", headers: [("host", "127.0.0.1:8400")])
        otherService.headers += SigV4.sign(method: "POST", rawPath: otherService.rawPath, rawQuery: "", headers: otherService.headers, body: [],
                                           accessKeyID: "AKIDEXAMPLE", secret: Self.secret, region: "local", service: "ecs",
                                           now: SigV4.parseAmzDate("20261123T041600Z")!)
        assertRefused(otherService, .invalidSignature, "Credential should be scoped to correct service: 'batch', not 'ecs'.")
        assertRefused(withAuthorization("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/local/batch/aws5_request, SignedHeaders=content-type;host;x-amz-date, Signature=00"),
                      .invalidSignature, "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'.")
        assertRefused(withAuthorization("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/local/batch/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=00"),
                      .invalidSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261122' != '20261123', from '20261123T041500Z'.")
    }

    func testTheHostAndTheBodyMustBeCovered() {
        assertRefused(withAuthorization("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/local/batch/aws4_request, SignedHeaders=content-type;x-amz-date, Signature=00"),
                      .invalidSignature, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
        assertRefused(replacing("X-Amz-Content-Sha256", with: String(repeating: "0", count: 64), in: Self.botocoreRequests[3]),
                      .invalidSignature, "X-Amz-Content-Sha256 does not match the body that arrived")
        assertRefused(replacing("X-Amz-Content-Sha256", with: "UNSIGNED-PAYLOAD"), .invalidSignature,
                      "X-Amz-Content-Sha256 'UNSIGNED-PAYLOAD' is not accepted: this server checks every body")
    }

    func testTheRouterAnswersARefusalIn403WithAWSsShapeAndRunsNoOperation() async {
        let backend = FakeBackend()
        let router = APIRouter(backend: backend, logger: .init(label: "test"), authenticator: authenticator())
        let reply = await router.respond(replacing("Authorization", with: nil))
        XCTAssertEqual(reply.status, 403)
        XCTAssertEqual(reply.errorType, "MissingAuthenticationTokenException")
        XCTAssertEqual(reply.body["__type"], "MissingAuthenticationTokenException")
        XCTAssertTrue(reply.body["message"]?.stringValue?.hasPrefix("Missing Authentication Token") == true)
        let accepted = await router.respond(Self.botocoreRequests[0])
        XCTAssertEqual(accepted.status, 200)
    }

    // MARK: - Pieces

    func testDatesRoundTripAndImpossibleOnesAreRefused() {
        for text in ["20150830T123600Z", "20261123T041500Z", "20240229T235959Z", "19700101T000000Z"] {
            XCTAssertEqual(SigV4.parseAmzDate(text).map(SigV4.amzDateFormat), text)
        }
        for text in ["20261131T000000Z", "20250229T000000Z", "20261123T246000Z", "20261123 041500Z", "2026112T041500Z"] {
            XCTAssertNil(SigV4.parseAmzDate(text), text)
        }
        XCTAssertEqual(SigV4.parseHTTPDate("Mon, 23 Nov 2026 04:15:00 GMT"), SigV4.parseAmzDate("20261123T041500Z"))
        XCTAssertEqual(SigV4.parseHTTPDate("Mon, 23 Nov 2026 04:15:00 -0000"), SigV4.parseAmzDate("20261123T041500Z"))
        XCTAssertNil(SigV4.parseHTTPDate("Mon, 23 Nov 2026 04:15:00 +0100"))
    }

    func testCanonicalURIsEncodeOnceMoreAndDropDotSegments() {
        XCTAssertEqual(SigV4.canonicalURI("/v1/tags/arn%3Aaws%3Abatch%3Alocal%3A000000000000%3Ajob-queue%2Fq"),
                       "/v1/tags/arn%253Aaws%253Abatch%253Alocal%253A000000000000%253Ajob-queue%252Fq")
        XCTAssertEqual(SigV4.canonicalURI("/a/./b/../c//d/"), "/a/c/d/")
        XCTAssertEqual(SigV4.canonicalURI(""), "/")
        XCTAssertEqual(SigV4.canonicalURI("/example space/~x"), "/example%20space/~x")
    }

    func testSignaturesAreComparedWholly() {
        XCTAssertTrue(SigV4Authenticator.constantTimeEqual("abc", "abc"))
        XCTAssertFalse(SigV4Authenticator.constantTimeEqual("abc", "abd"))
        XCTAssertFalse(SigV4Authenticator.constantTimeEqual("abc", "ab"))
    }
}
