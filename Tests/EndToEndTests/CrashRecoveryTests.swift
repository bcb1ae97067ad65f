import Foundation
import XCTest

/// kill -9 the daemon while jobs run and queue; a restart finds every job accounted for.
final class CrashRecoveryTests: XCTestCase {
    func testJobsSurviveSIGKILLOfTheServer() throws {
        let config = """
            compute_environments:
              - name: default
                executor: process
                settings: { vcpus: 2, memory_mib: 4096 }
            """
        let server = try ServerHarness(config: config)
        try server.start()
        let marker = server.dataDirectory + "/ran"
        try FileManager.default.createDirectory(atPath: marker, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: marker)
        // Two 3-second jobs take both vCPUs; three more queue behind them. Each job leaves a
        // file per run, so a job that ran twice would show.
        var ids: [String] = []
        for index in 0..<5 {
            let seconds = index < 2 ? 3 : 0
            ids.append(try server.submit(["--name", "job\(index)", "--",
                                          "sh", "-c", "sleep \(seconds); mktemp \(marker)/job\(index).XXXXXX >/dev/null"]))
        }
        _ = try server.waitForStatus(ids[0], ["RUNNING"])
        _ = try server.waitForStatus(ids[1], ["RUNNING"])
        XCTAssertEqual(try server.describe(ids[4])["status"] as? String, "RUNNABLE")

        server.stop(signal: SIGKILL)
        try server.start()

        for id in ids {
            let job = try server.waitForStatus(id, ["SUCCEEDED", "FAILED"], timeout: 30)
            XCTAssertEqual(job["status"] as? String, "SUCCEEDED", "\(id): \(job["statusReason"] ?? "")")
            XCTAssertEqual((job["attempts"] as? [Any])?.count, 1, "\(id) was re-adopted, not run again")
        }
        let runs = try FileManager.default.contentsOfDirectory(atPath: marker).map { String($0.prefix(4)) }.sorted()
        XCTAssertEqual(runs, ["job0", "job1", "job2", "job3", "job4"], "every job ran exactly once")
    }

    func testAnAttemptLostWithTheServerIsFailedWithTheReasonAndRetried() throws {
        let server = try ServerHarness(config: """
            server:
              terminate_grace_seconds: 1
            """)
        try server.start()
        let id = try server.submit(["--attempts", "2", "--", "sleep", "300"])
        _ = try server.waitForStatus(id, ["RUNNING"])
        var detail: String?
        let detailDeadline = Date().addingTimeInterval(5)
        repeat { detail = try job0Detail(server, id); if detail == nil { Thread.sleep(forTimeInterval: 0.05) } }
        while detail == nil && Date() < detailDeadline
        let jobPID = try XCTUnwrap(Int32(detail?.split(separator: " ").last ?? ""), "the attempt's taskArn names its pid")
        server.stop(signal: SIGKILL)
        // The machine "reboots": the compute environment's supervisor dies with the server, and
        // the job with it (its parent-death signal).
        let pidFile = server.dataDirectory + "/executors/default/supervisor.pid"
        let text = try String(contentsOfFile: pidFile, encoding: .utf8)
        let supervisor = try XCTUnwrap(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertEqual(kill(supervisor, SIGKILL), 0)
        let deadline0 = Date().addingTimeInterval(5)
        while processIsAlive(jobPID) && Date() < deadline0 { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertFalse(processIsAlive(jobPID), "the job died with its supervisor")
        try server.start()
        let deadline = Date().addingTimeInterval(20)
        var job: [String: Any] = [:]
        repeat {
            job = try server.describe(id)
            if (job["attempts"] as? [[String: Any]])?.count == 2 { break }
            Thread.sleep(forTimeInterval: 0.1)
        } while Date() < deadline
        let attempts = try XCTUnwrap(job["attempts"] as? [[String: Any]])
        XCTAssertEqual(attempts.count, 2, "the lost attempt was retried")
        let reason = attempts[0]["statusReason"] as? String ?? ""
        XCTAssertTrue(reason.hasPrefix("Host lost: the server restarted and the executor of compute environment 'default' no longer had attempt"), reason)
        _ = try server.waitForStatus(id, ["RUNNING"])
        XCTAssertEqual(try server.docket(["terminate", id, "--reason", "cleanup"]).status, 0)
        _ = try server.waitForStatus(id, ["FAILED"])
    }

    /// A job that ends while the server is down keeps its own exit code: the supervisor holds
    /// the exit, the restarted server's executor lists the attempt and reports it.
    func testAJobThatEndsWhileTheServerIsDownKeepsItsExitCode() throws {
        let server = try ServerHarness()
        try server.start()
        let id = try server.submit(["--attempts", "2", "--", "sh", "-c", "sleep 1; exit 3"])
        _ = try server.waitForStatus(id, ["RUNNING"])
        server.stop(signal: SIGKILL)
        Thread.sleep(forTimeInterval: 2)  // the job ends meanwhile
        try server.start()
        let job = try server.waitForStatus(id, ["FAILED", "SUCCEEDED"], timeout: 30)
        let attempts = try XCTUnwrap(job["attempts"] as? [[String: Any]])
        let first = try XCTUnwrap(attempts.first)
        XCTAssertEqual((first["container"] as? [String: Any])?["exitCode"] as? Int, 3, "the exit recorded while the server was down: \(first)")
        XCTAssertEqual(first["statusReason"] as? String, "Essential container in task exited")
    }

    /// The first attempt's taskDetail ("pid N"), which the process executor reports at RUNNING.
    private func job0Detail(_ server: ServerHarness, _ id: String) throws -> String? {
        let attempts = try server.describe(id)["attempts"] as? [[String: Any]]
        return ((attempts?.first?["container"] as? [String: Any])?["taskArn"] as? String)
    }

    func testAnArrayInFlightSurvivesSIGKILLAndEndsWithEveryChildAccountedFor() throws {
        let server = try ServerHarness()
        try server.start()
        let submitted = try server.aws(["submit-job", "--job-queue", "default", "--job-definition", "default", "--job-name", "survivor",
                                        "--array-properties", "size=6", "--container-overrides", #"{"command":["sleep","0.5"]}"#])
        let parent = try XCTUnwrap(submitted.json["jobId"] as? String, submitted.stderr)
        _ = try server.waitForStatus("\(parent):0", ["RUNNING", "SUCCEEDED"])
        server.stop(signal: SIGKILL)
        try server.start()
        let done = try server.waitForStatus(parent, ["SUCCEEDED", "FAILED"], timeout: 60)
        XCTAssertEqual(done["status"] as? String, "SUCCEEDED", "\(done)")
        let summary = (done["arrayProperties"] as? [String: Any])?["statusSummary"] as? [String: Int]
        XCTAssertEqual(summary?["SUCCEEDED"], 6)
        XCTAssertEqual(summary?.values.reduce(0, +), 6)
    }
}
