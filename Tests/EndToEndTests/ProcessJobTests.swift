import Foundation
import XCTest

/// The real daemon, the real CLI, real processes: what a user sees after cloning.
final class ProcessJobTests: XCTestCase {
    static let config = """
        server:
          terminate_grace_seconds: 2
        compute_environments:
          - name: default
            executor: process
            settings: { vcpus: 2, memory_mib: 4096 }
        """

    private func attempts(_ job: [String: Any]) -> [[String: Any]] { job["attempts"] as? [[String: Any]] ?? [] }
    private func exitCode(_ attempt: [String: Any]) -> Int? { (attempt["container"] as? [String: Any])?["exitCode"] as? Int }

    func testEchoRunsAsARealProcessAndItsOutputIsInTheLogs() throws {
        let server = try ServerHarness(config: Self.config)
        try server.start()
        let id = try server.submit(["--name", "hello", "--", "echo", "hello from docket"])
        let wait = try server.docket(["wait", id])
        XCTAssertEqual(wait.status, 0, wait.stdout + wait.stderr)
        XCTAssertEqual(wait.stdout, "SUCCEEDED\n")
        let logs = try server.docket(["logs", id])
        XCTAssertTrue(logs.stdout.contains("hello from docket\n"), logs.stdout)
        let job = try server.describe(id)
        XCTAssertEqual(job["status"] as? String, "SUCCEEDED")
        XCTAssertEqual(attempts(job).count, 1)
        XCTAssertEqual(exitCode(attempts(job)[0]), 0)
        let started = try XCTUnwrap(job["startedAt"] as? Int)
        let stopped = try XCTUnwrap(job["stoppedAt"] as? Int)
        XCTAssertGreaterThanOrEqual(stopped, started)
        XCTAssertGreaterThan(started, 1_600_000_000_000, "times are epoch milliseconds")
    }

    func testFailingCommandFailsWithItsExitCode() throws {
        let server = try ServerHarness(config: Self.config)
        try server.start()
        let id = try server.submit(["--", "sh", "-c", "echo about to fail; exit 3"])
        let wait = try server.docket(["wait", id])
        XCTAssertEqual(wait.status, 1)
        XCTAssertTrue(wait.stdout.hasPrefix("FAILED: "), wait.stdout)
        let job = try server.describe(id)
        XCTAssertEqual(job["status"] as? String, "FAILED")
        XCTAssertEqual(exitCode(attempts(job)[0]), 3)
        XCTAssertEqual((job["container"] as? [String: Any])?["exitCode"] as? Int, 3)
        XCTAssertTrue(try server.docket(["logs", id]).stdout.contains("about to fail"))
    }

    func testJobSeesItsEnvironmentAndAFreshWorkingDirectory() throws {
        let server = try ServerHarness(config: Self.config)
        try server.start()
        let id = try server.submit(["--env", "GREETING=hi there", "--",
                                    "sh", "-c", "echo \"$GREETING|$AWS_BATCH_JOB_ID|$AWS_BATCH_JOB_ATTEMPT|$AWS_BATCH_JQ_NAME|$AWS_BATCH_CE_NAME|$(ls -A | wc -l)\""])
        XCTAssertEqual(try server.docket(["wait", id]).status, 0)
        let logs = try server.docket(["logs", id]).stdout
        XCTAssertTrue(logs.contains("hi there|\(id)|1|default|default|0\n"), logs)
        // The attempt's working directory is removed once it ends; its log stays.
        let work = server.dataDirectory + "/work/\(id)-1"
        let deadline = Date().addingTimeInterval(5)
        while FileManager.default.fileExists(atPath: work) && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: work), "the attempt's working directory is removed")
        XCTAssertTrue(FileManager.default.fileExists(atPath: server.dataDirectory + "/logs/\(id)-1.log"))
    }

    func testTerminateStopsARunningJobAndItsChildren() throws {
        let server = try ServerHarness(config: Self.config)
        try server.start()
        let id = try server.submit(["--", "sh", "-c", "sleep 300 & echo child=$!; sleep 300"])
        _ = try server.waitForStatus(id, ["RUNNING"])
        var childPID: Int32?
        let deadline = Date().addingTimeInterval(10)
        while childPID == nil, Date() < deadline {
            let logs = try server.docket(["logs", id]).stdout
            if let range = logs.range(of: "child=") {
                childPID = Int32(logs[range.upperBound...].prefix { $0.isNumber })
            } else {
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        let child = try XCTUnwrap(childPID, "the job never printed its child's pid")
        XCTAssertTrue(processIsAlive(child))
        XCTAssertEqual(try server.docket(["terminate", id, "--reason", "stopped by the test"]).status, 0)
        let job = try server.waitForStatus(id, ["FAILED"], timeout: 20)
        XCTAssertEqual(job["statusReason"] as? String, "stopped by the test")
        XCTAssertEqual(job["isTerminated"] as? Bool, true)
        let deadlineDead = Date().addingTimeInterval(5)
        while processIsAlive(child), Date() < deadlineDead { Thread.sleep(forTimeInterval: 0.1) }
        XCTAssertFalse(processIsAlive(child), "the job's child \(child) survived terminate")
    }

    func testCancelFailsARunnableJobThatNeverRuns() throws {
        let server = try ServerHarness(config: Self.config)
        try server.start()
        // Two long jobs fill both vCPUs, so the third waits RUNNABLE.
        let blockers = try (0..<2).map { _ in try server.submit(["--", "sleep", "30"]) }
        for blocker in blockers { _ = try server.waitForStatus(blocker, ["RUNNING"]) }
        let waiting = try server.submit(["--", "sh", "-c", "echo should-not-run"])
        _ = try server.waitForStatus(waiting, ["RUNNABLE"])
        XCTAssertEqual(try server.docket(["cancel", waiting, "--reason", "not needed"]).status, 0)
        let job = try server.describe(waiting)
        XCTAssertEqual(job["status"] as? String, "FAILED")
        XCTAssertEqual(job["statusReason"] as? String, "not needed")
        XCTAssertEqual(attempts(job).count, 0)
        for blocker in blockers { try server.docket(["terminate", blocker, "--reason", "cleanup"]) }
    }

    func testJobAskingMoreThanAnyComputeEnvironmentWaitsWithTheReason() throws {
        let server = try ServerHarness(config: Self.config)
        try server.start()
        let id = try server.submit(["--vcpus", "64", "--", "true"])
        let job = try server.waitForStatus(id, ["RUNNABLE"])
        XCTAssertEqual(job["statusReason"] as? String,
                       "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job asks for 64 vCPUs; the largest compute environment of job queue 'default' offers 2 vCPUs.")
    }

    func testUnknownQueueIsRefusedNamingTheField() throws {
        let server = try ServerHarness(config: Self.config)
        try server.start()
        let result = try server.docket(["submit", "--queue", "nope", "--", "true"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("ClientException"), result.stderr)
        XCTAssertTrue(result.stderr.contains("jobQueue 'nope' does not exist"), result.stderr)
        XCTAssertEqual(try server.docket(["jobs"]).stdout.split(separator: "\n").count, 1, "nothing was stored")
    }

    func testFirstRunDefaultsNeedNoConfiguration() throws {
        let server = try ServerHarness()
        try server.start()
        let id = try server.submit(["--", "echo", "hello"])
        XCTAssertEqual(try server.docket(["wait", id]).status, 0)
        let logs = try server.docket(["logs", id]).stdout
        XCTAssertTrue(logs.hasSuffix("hello\n"), logs)
        XCTAssertTrue(logs.contains("ignores the image"), "the process executor says once that it ignores the image: \(logs)")
    }

    func testJobsOfARootServerRunAsTheUnprivilegedUser() throws {
        try requireOutsideCI(geteuid() == 0, "only a root server switches users; CI runs the suite as root")
        let server = try ServerHarness(config: Self.config)
        try server.start()
        let id = try server.submit(["--", "id", "-un"])
        XCTAssertEqual(try server.docket(["wait", id]).status, 0)
        XCTAssertTrue(try server.docket(["logs", id]).stdout.hasSuffix("nobody\n"))
    }

    func testMemoryLimitIsEnforcedAndReportedAsAnOutOfMemoryKill() throws {
        try requireOutsideCI(FileManager.default.isWritableFile(atPath: "/sys/fs/cgroup/memory") || FileManager.default.isWritableFile(atPath: "/sys/fs/cgroup/cgroup.controllers"),
                             "this machine gives no writable cgroup, so limits are documented as not enforced; CI machines have one")
        let server = try ServerHarness(config: Self.config)
        try server.start()
        // 20 MiB limit; the job holds 200 MB in a shell variable.
        let id = try server.submit(["--memory", "20", "--", "sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived ${#x}"])
        let job = try server.waitForStatus(id, ["FAILED", "SUCCEEDED"], timeout: 60)
        XCTAssertEqual(job["status"] as? String, "FAILED")
        let container = job["container"] as? [String: Any]
        XCTAssertEqual(container?["reason"] as? String, "OutOfMemoryError: Container killed due to memory usage")
        XCTAssertFalse(try server.docket(["logs", id]).stdout.contains("survived"))
    }

    func testSIGTERMStopsTheServerCleanlyAndJobsKeepTheirState() throws {
        let server = try ServerHarness(config: Self.config)
        try server.start()
        let id = try server.submit(["--", "echo", "before stop"])
        XCTAssertEqual(try server.docket(["wait", id]).status, 0)
        server.stop(signal: SIGTERM)
        XCTAssertEqual(server.process?.terminationReason, .exit)
        XCTAssertEqual(server.process?.terminationStatus, 0)
        try server.start()
        XCTAssertEqual(try server.describe(id)["status"] as? String, "SUCCEEDED")
    }

    func testLogsFollowPrintsOutputAsItComesAndReturnsWhenTheJobEnds() throws {
        let server = try ServerHarness(config: Self.config)
        try server.start()
        let id = try server.submit(["--", "sh", "-c", "echo first; sleep 1; echo second"])
        _ = try server.waitForStatus(id, ["RUNNING"])
        let started = Date()
        let follow = try server.docket(["logs", id, "--follow"])
        XCTAssertEqual(follow.status, 0, follow.stderr)
        XCTAssertTrue(follow.stdout.hasSuffix("first\nsecond\n"), follow.stdout)
        XCTAssertGreaterThan(Date().timeIntervalSince(started), 0.3, "it waited for the second line")
        XCTAssertEqual(try server.describe(id)["status"] as? String, "SUCCEEDED")
    }
}
