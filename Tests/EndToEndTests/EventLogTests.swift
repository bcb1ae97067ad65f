import Foundation
import XCTest

/// The job state change log through the real CLI (`docket events`, which reads
/// GET /docket/v1/events): every transition, in order, durable across SIGKILL, resumable by
/// cursor and followable live.
final class EventLogTests: XCTestCase {
    /// The events `docket events` printed, as (cursor, job id, status).
    private func events(_ server: ServerHarness, after cursor: Int = 0) throws -> [(cursor: Int, job: String, status: String, event: [String: Any])] {
        let result = try server.docket(["events", "--after", String(cursor)])
        XCTAssertEqual(result.status, 0, result.stderr)
        return try result.stdout.split(separator: "\n").map { line in
            let entry = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let event = try XCTUnwrap(entry["event"] as? [String: Any])
            let detail = try XCTUnwrap(event["detail"] as? [String: Any])
            return (try XCTUnwrap(entry["cursor"] as? Int), try XCTUnwrap(detail["jobId"] as? String),
                    try XCTUnwrap(detail["status"] as? String), event)
        }
    }

    func testEveryTransitionOfASucceedingAndAFailingJobIsLoggedInOrderInAWSShape() throws {
        let server = try ServerHarness()
        try server.start()
        let good = try server.submit(["--", "true"])
        let bad = try server.submit(["--", "false"])
        _ = try server.waitForStatus(good, ["SUCCEEDED"])
        _ = try server.waitForStatus(bad, ["FAILED"])

        let all = try events(server)
        XCTAssertEqual(all.filter { $0.job == good }.map(\.status), ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"])
        XCTAssertEqual(all.filter { $0.job == bad }.map(\.status), ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "FAILED"])
        XCTAssertEqual(all.map(\.cursor), all.map(\.cursor).sorted(), "cursors increase")
        XCTAssertEqual(Set(all.map(\.cursor)).count, all.count, "cursors are unique")

        let last = try XCTUnwrap(all.last { $0.job == bad }?.event)
        XCTAssertEqual(last["detail-type"] as? String, "Batch Job State Change")
        XCTAssertEqual(last["source"] as? String, "aws.batch")
        XCTAssertEqual(last["account"] as? String, "000000000000")
        XCTAssertEqual(last["resources"] as? [String], ["arn:aws:batch:local:000000000000:job/\(bad)"])
        XCTAssertNotNil((last["time"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) }, "time is ISO 8601")
        let detail = try XCTUnwrap(last["detail"] as? [String: Any])
        XCTAssertEqual((detail["container"] as? [String: Any])?["exitCode"] as? Int, 1)

        // Resuming after a cursor gives exactly the rest.
        let middle = all[all.count / 2].cursor
        XCTAssertEqual(try events(server, after: middle).map(\.cursor), all.map(\.cursor).filter { $0 > middle })
    }

    func testTheLogSurvivesSIGKILLAndFollowingPrintsNewEventsAsTheyHappen() throws {
        let server = try ServerHarness()
        try server.start()
        let first = try server.submit(["--", "true"])
        _ = try server.waitForStatus(first, ["SUCCEEDED"])
        let before = try events(server)
        server.stop(signal: SIGKILL)
        try server.start()
        XCTAssertEqual(try events(server).map(\.cursor), before.map(\.cursor), "every committed event is still there after SIGKILL")

        let follower = Process()
        follower.executableURL = URL(fileURLWithPath: ServerHarness.docketBinary)
        follower.arguments = ["events", "--follow", "--after", String(before.last?.cursor ?? 0)]
        var environment = ProcessInfo.processInfo.environment
        environment["DOCKET_ENDPOINT"] = server.endpoint
        follower.environment = environment
        let output = Pipe()
        follower.standardOutput = output
        try follower.run()
        defer { follower.terminate(); follower.waitUntilExit() }

        let second = try server.submit(["--", "true"])
        var seen = ""
        let deadline = Date().addingTimeInterval(30)
        while !seen.contains("\"SUCCEEDED\""), Date() < deadline {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        let statuses = seen.split(separator: "\n").compactMap { line -> String? in
            guard let entry = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let detail = (entry["event"] as? [String: Any])?["detail"] as? [String: Any], detail["jobId"] as? String == second
            else { return nil }
            return detail["status"] as? String
        }
        XCTAssertEqual(statuses, ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"])
    }
}
