import Foundation
import XCTest

/// Timeouts through the real aws CLI on a server whose minimum timeout is lowered for tests:
/// the attempt is stopped once attemptDurationSeconds have passed since RUNNING, the job fails
/// with AWS's statusReason and is not retried, and the process is really gone.
final class TimeoutTests: XCTestCase {
    func testAnAttemptPastItsTimeoutIsStoppedAndTheJobFailsWithoutARetry() throws {
        let server = try ServerHarness(config: "server:\n  minimum_timeout_seconds: 1\n  terminate_grace_seconds: 1\n")
        try server.start()
        let submitted = try server.aws(["submit-job", "--job-name", "slow", "--job-queue", "default", "--job-definition", "default",
                                        "--timeout", "attemptDurationSeconds=2", "--retry-strategy", "attempts=3",
                                        "--container-overrides", #"{"command":["sh","-c","echo pid=$$; exec sleep 60"]}"#])
        let id = try XCTUnwrap(submitted.json["jobId"] as? String, submitted.stderr)
        let done = try server.waitForStatus(id, ["SUCCEEDED", "FAILED"], timeout: 20)
        let attempt = try XCTUnwrap((done["attempts"] as? [[String: Any]])?.first)
        let elapsed = Double(try XCTUnwrap(attempt["stoppedAt"] as? Int) - (try XCTUnwrap(attempt["startedAt"] as? Int))) / 1000
        XCTAssertEqual(done["status"] as? String, "FAILED")
        XCTAssertEqual(done["statusReason"] as? String, "Job attempt duration exceeded timeout")
        XCTAssertEqual((done["attempts"] as? [[String: Any]])?.count, 1, "a timed-out attempt is not retried")
        XCTAssertGreaterThanOrEqual(elapsed, 2, "not before attemptDurationSeconds, counted from RUNNING")
        XCTAssertLessThan(elapsed, 10, "SIGTERM at the timeout, the job gone well before its 60 s sleep")
        let log = try server.docket(["logs", id]).stdout
        let pid = log.split(separator: "\n").first { $0.hasPrefix("pid=") }.flatMap { Int32($0.dropFirst(4)) }
        XCTAssertFalse(processIsAlive(try XCTUnwrap(pid, log)), "the job's process was stopped")

        let tooShort = try server.aws(["submit-job", "--job-name", "short", "--job-queue", "default", "--job-definition", "default",
                                       "--timeout", "attemptDurationSeconds=0"])
        XCTAssertEqual(tooShort.status, 255)
        XCTAssertTrue(tooShort.stderr.contains("timeout.attemptDurationSeconds is 0; the minimum is 1 seconds."), tooShort.stderr)
    }
}
