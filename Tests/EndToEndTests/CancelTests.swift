import Foundation
import XCTest

/// CancelJob's rules that need time to show, through the real `aws batch` CLI against a real
/// server running real processes (reference §5.6).
final class CancelTests: XCTestCase {
    private func submit(_ server: ServerHarness, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try server.aws(["submit-job", "--job-queue", "default", "--job-definition", "default"] + arguments)
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        return try XCTUnwrap(result.json["jobId"] as? String, file: file, line: line)
    }

    /// AWS cancels a PENDING job only once its dependencies have completed: it stays PENDING
    /// (isCancelled true) while they run, then fails with the cancel reason and never runs.
    func testAPendingJobIsCancelledOnlyOnceItsDependenciesComplete() throws {
        let server = try ServerHarness()
        try server.start()
        let markers = server.dataDirectory + "/markers"
        try FileManager.default.createDirectory(atPath: markers, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: markers)
        let marker = markers + "/dependent-ran"
        // Long enough for the three CLI calls below (each starts a Python interpreter).
        let first = try submit(server, ["--job-name", "first", "--container-overrides", #"{"command":["sleep","5"]}"#])
        let dependent = try submit(server, ["--job-name", "dependent", "--depends-on", "jobId=\(first)",
                                            "--container-overrides", #"{"command":["touch","\#(marker)"]}"#])
        _ = try server.waitForStatus(dependent, ["PENDING"])
        let cancelled = try server.aws(["cancel-job", "--job-id", dependent, "--reason", "not needed"])
        XCTAssertEqual(cancelled.status, 0, cancelled.stderr)

        let waiting = try server.describe(dependent)
        XCTAssertEqual(waiting["status"] as? String, "PENDING", "cancelled only after its dependency completes")
        XCTAssertEqual(waiting["isCancelled"] as? Bool, true)
        XCTAssertEqual(try server.describe(first)["status"] as? String, "RUNNING")

        let ended = try server.waitForStatus(dependent, ["FAILED", "SUCCEEDED", "RUNNABLE", "RUNNING"])
        XCTAssertEqual(ended["status"] as? String, "FAILED")
        XCTAssertEqual(ended["statusReason"] as? String, "not needed")
        let firstDone = try server.describe(first)
        XCTAssertEqual(firstDone["status"] as? String, "SUCCEEDED")
        XCTAssertGreaterThanOrEqual(ended["stoppedAt"] as? Int ?? 0, firstDone["stoppedAt"] as? Int ?? .max,
                                    "the cancellation took effect after the dependency ended")
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "the cancelled job never ran")

        // Its own dependents fail in turn, without running.
        let later = try submit(server, ["--job-name", "later", "--depends-on", "jobId=\(dependent)",
                                        "--container-overrides", #"{"command":["touch","\#(marker)"]}"#])
        let laterEnded = try server.waitForStatus(later, ["FAILED", "SUCCEEDED"])
        XCTAssertEqual(laterEnded["statusReason"] as? String, "Dependent Job \(dependent) failed")
    }

    /// A cancel request survives a SIGKILL of the server while the dependency still runs.
    func testADeferredCancelSurvivesSIGKILL() throws {
        let server = try ServerHarness()
        try server.start()
        let first = try submit(server, ["--job-name", "first", "--container-overrides", #"{"command":["sleep","4"]}"#])
        let dependent = try submit(server, ["--job-name", "dependent", "--depends-on", "jobId=\(first)",
                                            "--container-overrides", #"{"command":["true"]}"#])
        _ = try server.waitForStatus(dependent, ["PENDING"])
        XCTAssertEqual(try server.aws(["cancel-job", "--job-id", dependent, "--reason", "stop it"]).status, 0)
        server.stop(signal: SIGKILL)
        try server.start()
        let ended = try server.waitForStatus(dependent, ["FAILED", "SUCCEEDED"])
        XCTAssertEqual(ended["statusReason"] as? String, "stop it")
        XCTAssertEqual(try server.describe(first)["status"] as? String, "SUCCEEDED")
    }
}
