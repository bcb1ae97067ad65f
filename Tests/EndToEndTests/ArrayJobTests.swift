import Foundation
import XCTest

/// Array jobs through the real `aws batch` CLI against a real server running real processes:
/// children addressed as PARENT:INDEX with their index in the environment, the parent's status
/// and statusSummary, ListJobs by arrayJobId, SEQUENTIAL and N_TO_N dependencies, a failing
/// child failing the parent and its dependents, and cancelling a parent.
final class ArrayJobTests: XCTestCase {
    private func submit(_ server: ServerHarness, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try server.aws(["submit-job", "--job-queue", "default", "--job-definition", "default"] + arguments)
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        return try XCTUnwrap(result.json["jobId"] as? String, file: file, line: line)
    }

    private func children(_ server: ServerHarness, _ parent: String, status: String) throws -> [[String: Any]] {
        let result = try server.aws(["list-jobs", "--array-job-id", parent, "--job-status", status])
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.json["jobSummaryList"] as? [[String: Any]] ?? []
    }

    func testChildrenRunWithTheirIndexAndTheParentSummarisesThem() throws {
        let server = try ServerHarness()
        try server.start()
        let parent = try submit(server, ["--job-name", "render", "--array-properties", "size=4", "--container-overrides",
                                         #"{"command":["sh","-c","echo frame $AWS_BATCH_JOB_ARRAY_INDEX of $AWS_BATCH_JOB_ARRAY_SIZE"]}"#])
        let done = try server.waitForStatus(parent, ["SUCCEEDED", "FAILED"])
        XCTAssertEqual(done["status"] as? String, "SUCCEEDED")
        let array = try XCTUnwrap(done["arrayProperties"] as? [String: Any])
        XCTAssertEqual(array["size"] as? Int, 4)
        XCTAssertEqual((array["statusSummary"] as? [String: Int])?["SUCCEEDED"], 4)
        XCTAssertEqual((array["statusSummary"] as? [String: Int])?["FAILED"], 0)

        let listed = try children(server, parent, status: "SUCCEEDED")
        XCTAssertEqual(listed.map { $0["jobId"] as? String }, (0..<4).map { "\(parent):\($0)" })
        XCTAssertEqual(listed.map { ($0["arrayProperties"] as? [String: Any])?["index"] as? Int }, [0, 1, 2, 3])
        for index in 0..<4 {
            XCTAssertTrue(try server.docket(["logs", "\(parent):\(index)"]).stdout.hasSuffix("frame \(index) of 4\n"), "child \(index) saw its index")
        }
        let child = try server.aws(["describe-jobs", "--jobs", "arn:aws:batch:local:000000000000:job/\(parent):2"])
        let detail = try XCTUnwrap((child.json["jobs"] as? [[String: Any]])?.first)
        XCTAssertEqual(detail["jobArn"] as? String, "arn:aws:batch:local:000000000000:job/\(parent):2")
        XCTAssertEqual((detail["arrayProperties"] as? [String: Any])?["index"] as? Int, 2)

        let queue = try server.aws(["list-jobs", "--job-queue", "default", "--job-status", "SUCCEEDED"])
        XCTAssertEqual((queue.json["jobSummaryList"] as? [[String: Any]])?.map { $0["jobId"] as? String }, [parent],
                       "the queue lists the parent; its children are listed through arrayJobId")
    }

    func testSequentialChildrenRunOneAfterAnotherAndNToNPairsChildren() throws {
        let server = try ServerHarness()
        try server.start()
        let first = try submit(server, ["--job-name", "steps", "--array-properties", "size=3", "--depends-on", "type=SEQUENTIAL",
                                        "--container-overrides", #"{"command":["sh","-c","sleep 0.3"]}"#])
        let paired = try submit(server, ["--job-name", "paired", "--array-properties", "size=3", "--depends-on", "jobId=\(first),type=N_TO_N",
                                         "--container-overrides", #"{"command":["true"]}"#])
        XCTAssertEqual(try server.waitForStatus(first, ["SUCCEEDED", "FAILED"], timeout: 60)["status"] as? String, "SUCCEEDED")
        XCTAssertEqual(try server.waitForStatus(paired, ["SUCCEEDED", "FAILED"], timeout: 60)["status"] as? String, "SUCCEEDED")
        let steps = try children(server, first, status: "SUCCEEDED")
        let pairs = try children(server, paired, status: "SUCCEEDED")
        for index in 1..<3 {
            let previousStop = try XCTUnwrap(steps[index - 1]["stoppedAt"] as? Int)
            XCTAssertGreaterThanOrEqual(try XCTUnwrap(steps[index]["startedAt"] as? Int), previousStop, "child \(index) started after child \(index - 1) ended")
        }
        for index in 0..<3 {
            XCTAssertGreaterThanOrEqual(try XCTUnwrap(pairs[index]["startedAt"] as? Int), try XCTUnwrap(steps[index]["stoppedAt"] as? Int),
                                        "N_TO_N child \(index) started after its pair ended")
        }
    }

    func testAFailingChildFailsTheParentAndTheArraysDependentsWithoutRunningThem() throws {
        let server = try ServerHarness()
        try server.start()
        let parent = try submit(server, ["--job-name", "flaky", "--array-properties", "size=3", "--container-overrides",
                                         #"{"command":["sh","-c","test $AWS_BATCH_JOB_ARRAY_INDEX -ne 1"]}"#])
        let marker = server.dataDirectory + "/dependent-ran"
        let dependent = try submit(server, ["--job-name", "after", "--depends-on", "jobId=\(parent)", "--container-overrides",
                                            "{\"command\":[\"touch\",\"\(marker)\"]}"])
        let failed = try server.waitForStatus(parent, ["SUCCEEDED", "FAILED"])
        XCTAssertEqual(failed["status"] as? String, "FAILED")
        XCTAssertEqual(((failed["arrayProperties"] as? [String: Any])?["statusSummary"] as? [String: Int])?["FAILED"], 1)
        XCTAssertEqual(try children(server, parent, status: "FAILED").map { $0["jobId"] as? String }, ["\(parent):1"])
        let after = try server.waitForStatus(dependent, ["SUCCEEDED", "FAILED"])
        XCTAssertEqual(after["status"] as? String, "FAILED")
        XCTAssertEqual(after["statusReason"] as? String, "Dependent Job \(parent) failed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "the dependent never ran")
    }

    func testCancellingTheParentCancelsEveryChildThatHasNotStarted() throws {
        let server = try ServerHarness(config: """
            compute_environments:
              - name: default
                executor: process
                state: DISABLED
            """)
        try server.start()
        let parent = try submit(server, ["--job-name", "never", "--array-properties", "size=5", "--container-overrides", #"{"command":["true"]}"#])
        XCTAssertEqual(try children(server, parent, status: "RUNNABLE").count, 5)
        let cancelled = try server.aws(["cancel-job", "--job-id", parent, "--reason", "not needed"])
        XCTAssertEqual(cancelled.status, 0, cancelled.stderr)
        let done = try server.waitForStatus(parent, ["SUCCEEDED", "FAILED"])
        XCTAssertEqual(done["status"] as? String, "FAILED")
        let failed = try children(server, parent, status: "FAILED")
        XCTAssertEqual(failed.count, 5)
        XCTAssertEqual(Set(failed.map { $0["statusReason"] as? String }), ["not needed"])
    }

    func testArraySizesOutsideTheLimitsAreRefusedAndNothingIsStored() throws {
        let server = try ServerHarness()
        try server.start()
        for size in ["1", "10001"] {
            let result = try server.aws(["submit-job", "--job-queue", "default", "--job-definition", "default", "--job-name", "bad",
                                         "--array-properties", "size=\(size)"])
            XCTAssertEqual(result.status, 255)
            XCTAssertTrue(result.stderr.contains("(ClientException)") && result.stderr.contains("arrayProperties.size is \(size)"), result.stderr)
        }
        let listed = try server.aws(["list-jobs", "--job-queue", "default", "--filters", "name=JOB_NAME,values=bad"])
        XCTAssertEqual((listed.json["jobSummaryList"] as? [[String: Any]])?.count, 0)
    }
}

/// Deleting a compute environment that still runs a job, as AWS does it: the environment is
/// DELETING while the attempt is stopped, the attempt fails like one on a terminated host, and
/// the job is retried on its queue's other compute environment.
final class ComputeEnvironmentDeletionTests: XCTestCase {
    func testDeletingAnEnvironmentStopsItsAttemptsWhichRetryElsewhereThenItIsGone() throws {
        let server = try ServerHarness(config: "server:\n  terminate_grace_seconds: 1\n")
        try server.start()
        XCTAssertEqual(try server.aws(["create-compute-environment", "--compute-environment-name", "temp", "--type", "UNMANAGED"]).status, 0)
        XCTAssertEqual(try server.aws(["create-job-queue", "--job-queue-name", "moving", "--priority", "1",
                                       "--compute-environment-order", "order=1,computeEnvironment=temp"]).status, 0)
        let submitted = try server.aws(["submit-job", "--job-name", "mover", "--job-queue", "moving", "--job-definition", "default",
                                        "--retry-strategy", "attempts=2", "--container-overrides",
                                        #"{"command":["sh","-c","if [ $AWS_BATCH_JOB_ATTEMPT = 1 ]; then sleep 60; fi"]}"#])
        let id = try XCTUnwrap(submitted.json["jobId"] as? String, submitted.stderr)
        _ = try server.waitForStatus(id, ["RUNNING"])
        XCTAssertEqual(try server.aws(["update-job-queue", "--job-queue", "moving", "--compute-environment-order", "order=1,computeEnvironment=default"]).status, 0)
        XCTAssertEqual(try server.aws(["update-compute-environment", "--compute-environment", "temp", "--state", "DISABLED"]).status, 0)
        let deleted = try server.aws(["delete-compute-environment", "--compute-environment", "temp"])
        XCTAssertEqual(deleted.status, 0, deleted.stderr)

        let done = try server.waitForStatus(id, ["SUCCEEDED", "FAILED"], timeout: 60)
        XCTAssertEqual(done["status"] as? String, "SUCCEEDED", "\(done)")
        let attempts = try XCTUnwrap(done["attempts"] as? [[String: Any]])
        XCTAssertEqual(attempts.count, 2)
        XCTAssertEqual(attempts.first?["statusReason"] as? String, "Host terminated: compute environment 'temp' was deleted")
        XCTAssertEqual((attempts.last?["container"] as? [String: Any])?["exitCode"] as? Int, 0)
        let deadline = Date().addingTimeInterval(15)
        var names: [String] = []
        repeat {
            let environments = try server.aws(["describe-compute-environments"])
            names = (environments.json["computeEnvironments"] as? [[String: Any]])?.compactMap { $0["computeEnvironmentName"] as? String } ?? []
            if !names.contains("temp") { break }
            Thread.sleep(forTimeInterval: 0.2)
        } while Date() < deadline
        XCTAssertEqual(names, ["default"], "the environment is gone once nothing runs there")
    }
}
