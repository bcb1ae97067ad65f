@testable import DocketAPI
import DocketCore
import XCTest

final class DocketExtensionsTests: XCTestCase {
    func get(_ path: String, _ query: [String: String] = [:]) async -> APIReply {
        let rawQuery = query.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
        return await makeRouter().respond(APIRequest(method: "GET", rawPath: path, rawQuery: rawQuery))
    }

    func testLogsAnswerTheSliceAsLossyUTF8() async {
        let reply = await get("/docket/v1/jobs/j1/logs", ["offset": "5"])
        XCTAssertEqual(reply, .ok(["attempt": 2, "data": "one\n\u{FFFD}tail", "nextOffset": 14, "complete": true]))
    }

    func testLogsPassAttemptOffsetAndLimit() async {
        let reply = await get("/docket/v1/jobs/j1/logs", ["attempt": "1", "offset": "0", "limit": "4"])
        XCTAssertEqual(reply, .ok(["attempt": 1, "data": "line", "nextOffset": 4, "complete": true]))
    }

    func testALogAttemptBelowOneIsRefused() async {
        assertClientException(await get("/docket/v1/jobs/j1/logs", ["attempt": "0"]), "attempt is '0'; it must be a whole number, 1 or more.")
    }

    func testPluginsListLoadedAndRefusedPlugins() async {
        let reply = await get("/docket/v1/plugins")
        XCTAssertEqual(reply, .ok(["plugins": [
            ["path": "/p/libexec.so", "id": "docket.executor.process", "name": "process", "kind": "executor", "version": "1.0.0", "abiVersion": "1.0"],
            ["path": "/p/broken.so", "error": "needs ABI 2.0"],
        ]]))
    }

    func testServerAnswersTheBackendsInfo() async {
        await assertReply(get("/docket/v1/server"), .ok(["version": "0.1.0", "region": "local"]))
    }

    func testAnUnknownExtensionIsA404() async {
        let reply = await get("/docket/v1/rockets")
        XCTAssertEqual(reply.status, 404)
        XCTAssertEqual(reply.errorType, "ClientException")
    }
}
