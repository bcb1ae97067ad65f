@testable import DocketAPI
import DocketCore
import Foundation
import XCTest

/// Signature Version 4: AWS's published test-suite vectors, signatures produced by real
/// botocore, and every way a request is refused.
final class SigV4Tests: XCTestCase {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

    /// aws-sig-v4-test-suite "get-vanilla" and "get-vanilla-query-order-key-case" (service
    /// "service", region us-east-1, 20150830T123600Z).
    func testAWSTestSuiteVectors() {
        for (query, expected) in [("", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
                                  ("Param2=value2&Param1=value1", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")] {
            let request = SigV4.Request(method: "GET", rawPath: "/", rawQuery: query,
                                        headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
                                        payloadHash: SigV4.payloadHash([]))
            let canonical = SigV4.canonicalRequest(request, signedHeaders: ["host", "x-amz-date"])
            let toSign = SigV4.stringToSign(canonicalRequest: canonical, amzDate: "20150830T123600Z",
                                            scope: SigV4.scope(date: "20150830", region: "us-east-1", service: "service"))
            XCTAssertEqual(SigV4.signature(secret: Self.secret, date: "20150830", region: "us-east-1", service: "service", stringToSign: toSign),
                           expected, query)
        }
    }

    /// Requests exactly as botocore 1.43 signed them (generated once with
    /// botocore.auth.SigV4Auth, the clock fixed at 2026-11-23 04:15:00 UTC): a POST with a body,
    /// and a DELETE on a tag path whose ARN is percent-encoded, with repeated query keys.
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
    ]

    func authenticator(at time: String = "20261123T041700Z", keys: [String: String] = ["AKIDEXAMPLE": secret]) -> SigV4Authenticator {
        let now = SigV4.parseAmzDate(time)!
        return SigV4Authenticator(keys: keys, region: "local", now: { now })
    }

    func testRequestsBotocoreSignedAreAccepted() {
        for request in Self.botocoreRequests {
            XCTAssertNil(authenticator().authenticate(request), request.rawPath)
        }
    }

    func testTheCLIsOwnSignatureIsAccepted() {
        var request = APIRequest(method: "POST", rawPath: "/v1/submitjob", headers: [("host", "127.0.0.1:8400"), ("content-type", "application/json")],
                                 body: Array(#"{"jobName":"j"}"#.utf8))
        request.headers += SigV4.sign(method: request.method, rawPath: request.rawPath, rawQuery: "", headers: request.headers,
                                      body: request.body, accessKeyID: "AKIDEXAMPLE", secret: Self.secret, region: "local",
                                      now: SigV4.parseAmzDate("20261123T041600Z")!)
        XCTAssertNil(authenticator().authenticate(request))
    }

    private func assertRefused(_ request: APIRequest, _ type: String, _ messagePrefix: String, authenticator: SigV4Authenticator? = nil,
                               file: StaticString = #filePath, line: UInt = #line) {
        let failure = (authenticator ?? self.authenticator()).authenticate(request)
        XCTAssertEqual(failure?.status, 403, file: file, line: line)
        XCTAssertEqual(failure?.type.rawValue, type, file: file, line: line)
        XCTAssertTrue(failure?.message.hasPrefix(messagePrefix) == true, "\(failure?.message ?? "accepted")", file: file, line: line)
    }

    private func replacing(_ name: String, with value: String?, in request: APIRequest) -> APIRequest {
        var changed = request
        changed.headers.removeAll { $0.name.lowercased() == name.lowercased() }
        if let value { changed.headers.append((name, value)) }
        return changed
    }

    func testEveryWayARequestIsRefused() {
        let good = Self.botocoreRequests[0]
        assertRefused(replacing("Authorization", with: nil, in: good), "MissingAuthenticationTokenException", "Missing Authentication Token")
        assertRefused(replacing("Authorization", with: "Basic abc", in: good), "IncompleteSignatureException", "Authorization header must use AWS4-HMAC-SHA256")
        assertRefused(replacing("Authorization", with: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/local/batch/aws4_request", in: good),
                      "IncompleteSignatureException", "Authorization header requires SignedHeaders, Signature")
        assertRefused(good, "UnrecognizedClientException", "The security token included in the request is invalid",
                      authenticator: authenticator(keys: ["OTHER": Self.secret]))
        assertRefused(good, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided.",
                      authenticator: authenticator(keys: ["AKIDEXAMPLE": "wrong-secret"]))
        var tampered = good
        tampered.body = Array(#"{"maxResults": 6}"#.utf8)
        assertRefused(tampered, "InvalidSignatureException", "The request signature we calculated does not match")
        var otherPath = good
        otherPath.rawPath = "/v1/describecomputeenvironments"
        assertRefused(otherPath, "InvalidSignatureException", "The request signature we calculated does not match")
        assertRefused(good, "InvalidSignatureException", "Signature expired: 20261123T041500Z is now earlier than 20261123T041600Z",
                      authenticator: authenticator(at: "20261123T042100Z"))
        assertRefused(good, "InvalidSignatureException", "Signature expired", authenticator: authenticator(at: "20261123T040900Z"))
        assertRefused(good, "InvalidSignatureException", "Credential should be scoped to a valid region",
                      authenticator: SigV4Authenticator(keys: ["AKIDEXAMPLE": Self.secret], region: "eu-west-1",
                                                        now: { SigV4.parseAmzDate("20261123T041500Z")! }))
        assertRefused(replacing("X-Amz-Date", with: nil, in: good), "IncompleteSignatureException", "The request must carry an X-Amz-Date header")
        assertRefused(replacing("X-Amz-Content-Sha256", with: String(repeating: "0", count: 64), in: good),
                      "InvalidSignatureException", "X-Amz-Content-Sha256 does not match the body")
    }

    func testTheRouterAnswersARefusalIn403WithAWSsShapeAndRunsNoOperation() async {
        let backend = FakeBackend()
        let router = APIRouter(backend: backend, logger: .init(label: "test"), authenticator: authenticator())
        let reply = await router.respond(replacing("Authorization", with: nil, in: Self.botocoreRequests[0]))
        XCTAssertEqual(reply.status, 403)
        XCTAssertEqual(reply.errorType, "MissingAuthenticationTokenException")
        XCTAssertEqual(reply.body["__type"], "MissingAuthenticationTokenException")
        let accepted = await router.respond(Self.botocoreRequests[0])
        XCTAssertEqual(accepted.status, 200)
    }
}
