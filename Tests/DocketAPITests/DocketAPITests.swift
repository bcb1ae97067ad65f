@testable import DocketAPI
import DocketCore
import Logging
import XCTest

/// Shared helpers: requests go through `APIRouter.respond`, the same path the HTTP layer takes
/// after reading the body, so routing, decoding, validation, encoding and error mapping are
/// tested together without a server.
extension XCTestCase {
    func makeRouter(_ backend: FakeBackend = FakeBackend()) -> APIRouter<FakeBackend> {
        APIRouter(backend: backend, logger: Logger(label: "docket.api.tests", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    func post(_ router: APIRouter<FakeBackend>, _ operation: String, _ body: String) async -> APIReply {
        await router.respond(APIRequest(method: "POST", rawPath: "/v1/\(operation)", body: Array(body.utf8)))
    }

    func post(_ router: APIRouter<FakeBackend>, _ operation: String, _ body: JSONValue) async -> APIReply {
        await router.respond(APIRequest(method: "POST", rawPath: "/v1/\(operation)", body: body.serialized()))
    }

    /// Asserts a 400 ClientException (with `expected` as its whole message, when given) and
    /// returns its message.
    @discardableResult
    func assertClientException(_ reply: APIReply, _ expected: String? = nil, _ note: String = "",
                               file: StaticString = #filePath, line: UInt = #line) -> String {
        XCTAssertEqual(reply.status, 400, "\(note) \(reply.body)", file: file, line: line)
        XCTAssertEqual(reply.errorType, "ClientException", note, file: file, line: line)
        XCTAssertEqual(reply.body["__type"], "ClientException", note, file: file, line: line)
        let message = reply.body["message"]?.stringValue ?? ""
        if let expected { XCTAssertEqual(message, expected, note, file: file, line: line) }
        return message
    }

    func assertReply(_ reply: APIReply, _ expected: APIReply, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(reply, expected, file: file, line: line)
    }
}

final class DocketAPITests: XCTestCase {
    func testMalformedJSONIsAClientExceptionNamingTheProblem() async {
        let message = assertClientException(await post(makeRouter(), "submitjob", "{not json"))
        XCTAssertEqual(message, "The request body is not valid JSON (expected a member name in quotes at byte 1); send a JSON object.")
    }

    func testABodyThatIsNotAnObjectIsRefused() async {
        let message = assertClientException(await post(makeRouter(), "describejobs", "[1, 2]"))
        XCTAssertEqual(message, "The request body must be a JSON object ({...}); it is an array.")
    }

    func testAnEmptyBodyReadsAsAnEmptyObject() async {
        let reply = await post(makeRouter(), "describecomputeenvironments", "")
        XCTAssertEqual(reply, .ok(["computeEnvironments": []]))
    }

    func testAnUnknownOperationIsA404ClientExceptionNamingThePath() async {
        let reply = await post(makeRouter(), "launchrockets", "{}")
        XCTAssertEqual(reply.status, 404)
        XCTAssertEqual(reply.errorType, "ClientException")
        XCTAssertTrue(reply.body["message"]?.stringValue?.hasPrefix("Unknown operation: POST /v1/launchrockets is not") == true)
    }

    func testAnUnknownPathIsA404ClientException() async {
        let reply = await makeRouter().respond(APIRequest(method: "GET", rawPath: "/v1/submitjob"))
        XCTAssertEqual(reply.status, 404)
        XCTAssertEqual(reply.errorType, "ClientException")
        XCTAssertTrue(reply.body["message"]?.stringValue?.contains("GET /v1/submitjob") == true)
    }

    func testOperationNamesInThePathAreCaseInsensitive() async {
        await assertReply(post(makeRouter(), "DescribeJobQueues", "{}"), .ok(["jobQueues": []]))
    }

    func testAClientDocketErrorIsA400ClientException() async {
        let backend = FakeBackend()
        await backend.fail(with: DocketError(.notFound, "jobQueue 'x' does not exist.", field: "jobQueue"))
        let message = assertClientException(await post(makeRouter(backend), "describejobqueues", "{}"))
        XCTAssertEqual(message, "jobQueue 'x' does not exist.")
    }

    func testAnInternalDocketErrorIsA500ServerException() async {
        let backend = FakeBackend()
        await backend.fail(with: DocketError(.unavailable, "the store is busy; retry."))
        let reply = await post(makeRouter(backend), "describejobqueues", "{}")
        XCTAssertEqual(reply, APIReply(status: 500, errorType: "ServerException",
                                       body: ["__type": "ServerException", "message": "the store is busy; retry."]))
    }

    func testAMemberOfTheWrongTypeIsNamedWithItsPath() async {
        let message = assertClientException(await post(makeRouter(), "submitjob", #"{"jobName":"j","jobQueue":"q","jobDefinition":"d","containerOverrides":{"command":"echo hi"}}"#))
        XCTAssertEqual(message, "containerOverrides.command must be a list.")
    }

    func testUnknownTopLevelMembersAreIgnored() async {
        let reply = await post(makeRouter(), "submitjob", #"{"jobName":"j","jobQueue":"q","jobDefinition":"d","futureMember":{"x":1}}"#)
        XCTAssertEqual(reply.status, 200)
    }

    func testPageTokensRoundTripAndMalformedOnesNameNextToken() throws {
        XCTAssertEqual(try PageToken.decode(PageToken.encode(42)), 42)
        XCTAssertThrowsError(try PageToken.decode("c2VxOng=")) { error in  // "seq:x"
            XCTAssertEqual((error as? DocketError)?.field, "nextToken")
        }
    }

    func testDescribeOperationsPageWithMaxResultsAndNextToken() async throws {
        let backend = FakeBackend()
        let router = makeRouter(backend)
        for name in ["a", "b", "c"] {
            _ = await post(router, "createcomputeenvironment", ["computeEnvironmentName": .string(name), "type": "UNMANAGED"])
        }
        let first = await post(router, "describecomputeenvironments", #"{"maxResults":2}"#)
        XCTAssertEqual(first.body["computeEnvironments"]?.arrayValue?.count, 2)
        let token = try XCTUnwrap(first.body["nextToken"])
        let second = await post(router, "describecomputeenvironments", ["maxResults": 2, "nextToken": token])
        XCTAssertEqual(second.body["computeEnvironments"]?.arrayValue?.compactMap { $0["computeEnvironmentName"]?.stringValue }, ["c"])
        XCTAssertNil(second.body["nextToken"])
    }

    func testDescribeMaxResultsAbove100IsRefused() async {
        let message = assertClientException(await post(makeRouter(), "describejobdefinitions", #"{"maxResults":101}"#))
        XCTAssertEqual(message, "maxResults is 101; it must be between 1 and 100.")
    }
}
