@testable import DocketAPI
import DocketCore
import XCTest

final class JobWireTests: XCTestCase {
    func testSubmitDecodesEveryMemberIntoTheSubmission() async throws {
        let backend = FakeBackend()
        let reply = await post(makeRouter(backend), "submitjob", [
            "jobName": "train", "jobQueue": "q", "jobDefinition": "train:3", "parameters": ["epochs": "2"],
            "containerOverrides": ["command": ["python", "train.py"], "environment": [["name": "SEED", "value": "7"]],
                                   "resourceRequirements": [["type": "VCPU", "value": "0.5"], ["type": "GPU", "value": "1"]], "memory": 512],
            "retryStrategy": ["attempts": 2], "timeout": ["attemptDurationSeconds": 60],
            "dependsOn": [["jobId": "arn:aws:batch:local:000000000000:job/abc"]], "tags": ["k": "v"],
            "shareIdentifier": "teamA", "schedulingPriorityOverride": 9,
        ])
        XCTAssertEqual(reply, .ok(["jobArn": "arn:aws:batch:local:000000000000:job/job-1", "jobName": "train", "jobId": "job-1"]))
        let submissions = await backend.submissions
        let submission = try XCTUnwrap(submissions.first)
        XCTAssertEqual(submission, JobSubmission(
            jobName: "train", jobQueue: "q", jobDefinition: "train:3", parameters: ["epochs": "2"],
            commandOverride: ["python", "train.py"], environmentOverride: [EnvironmentVariable(name: "SEED", value: "7")],
            resourceOverride: {
                var resources = ResourceOverride(vcpuMillis: 500, memoryMiB: 512, gpus: 1)
                resources.deprecatedMembers = ["memory"]
                return resources
            }(), retryStrategy: RetryStrategy(attempts: 2),
            timeoutSeconds: 60, dependsOn: [JobDependency(jobID: "abc", type: nil)], tags: ["k": "v"],
            shareIdentifier: "teamA", schedulingPriorityOverride: 9))
    }

    func testDeprecatedVcpusOverrideIsAcceptedAndRemembered() throws {
        let submission = try JobWire.decodeSubmit(Members(["jobName": "j", "jobQueue": "q", "jobDefinition": "d", "containerOverrides": ["vcpus": 2]]))
        XCTAssertEqual(submission.resourceOverride.vcpuMillis, 2000)
        XCTAssertEqual(submission.resourceOverride.deprecatedMembers, ["vcpus"])
    }

    func testRuleBreakingSubmissionsAreRefusedNamingTheMember() async {
        func body(_ changes: [String: JSONValue]) -> JSONValue {
            var members: [String: JSONValue] = ["jobName": "j", "jobQueue": "q", "jobDefinition": "d"]
            for (key, value) in changes { members[key] = value }
            return .object(members)
        }
        let cases: [(JSONValue, String)] = [
            (body(["jobQueue": .null]), "jobQueue is required."),
            (body(["jobDefinition": "d:x"]), "jobDefinition 'd:x' is not a job definition name, name:revision or ARN; use e.g. 'my-definition' or 'my-definition:3'."),
            (body(["containerOverrides": ["environment": [["name": "AWS_BATCH_CE_NAME", "value": "x"]]]]),
             "containerOverrides.environment[0].name 'AWS_BATCH_CE_NAME': names starting with AWS_BATCH are reserved for the variables Batch sets; rename it."),
            (body(["arrayProperties": ["size": 1]]), "arrayProperties.size is 1; an array job has 2 to 10000 children; submit a single job instead of an array of 1."),
            (body(["arrayProperties": ["size": 10_001]]), "arrayProperties.size is 10001; an array job has 2 to 10000 children (the server's max_array_size; AWS's is 10,000)."),
            (body(["arrayProperties": [:]]), "arrayProperties.size is required for an array job: the number of children, 2 to 10000."),
            (body(["dependsOn": [["type": "SEQUENTIAL"]]]),
             "dependsOn[0].type SEQUENTIAL without a jobId runs an array's children one after another; it needs arrayProperties.size."),
            (body(["arrayProperties": ["size": 2], "dependsOn": [["type": "N_TO_N"]]]),
             "dependsOn[0].jobId is required with N_TO_N: the array job whose child i each child i waits for."),
            (body(["dependsOn": [["jobId": "x", "type": "N_TO_N"]]]),
             "dependsOn[0].type N_TO_N pairs the children of two arrays; this job needs arrayProperties.size."),
            (body(["dependsOn": .array(Array(repeating: ["jobId": "x"], count: 21))]), "dependsOn has 21 entries; at most 20 are allowed."),
            (body(["dependsOn": .array(Array(repeating: ["jobId": "a"], count: 21))]), "dependsOn has 21 entries; at most 20 are allowed."),
            (body(["schedulingPriorityOverride": -1]), "schedulingPriorityOverride is -1; it must be between 0 and 9999."),
            (body(["retryStrategy": ["evaluateOnExit": [["action": "RETRY"]]]]), "retryStrategy.attempts is required when evaluateOnExit is given (1 to 10)."),
            (body(["containerOverrides": ["resourceRequirements": [["type": "DISK", "value": "1"]]]]),
             "containerOverrides.resourceRequirements[0].type is 'DISK'; it must be one of GPU, VCPU, MEMORY."),
            (body(["parameters": ["n": 1]]), "parameters.n must be a string."),
        ]
        for (request, expected) in cases {
            assertClientException(await post(makeRouter(), "submitjob", request), expected, "\(request)")
        }
    }

    func testDescribeJobsAnswersTheJobDetailShape() async {
        let backend = FakeBackend()
        var job = FakeBackend.job(id: "j1", name: "train", sequence: 1, status: .failed, createdAt: 100)
        job.startedAt = 110
        job.stoppedAt = 120
        job.statusReason = "Essential container in task exited"
        job.retryStrategy = RetryStrategy(attempts: 1)
        job.timeoutSeconds = 600
        var attempt = Attempt(number: 1, computeEnvironment: "lab", logStreamName: "train/default/j1-1")
        attempt.startedAt = 110
        attempt.stoppedAt = 120
        attempt.exitCode = 3
        attempt.reason = "bad input"
        attempt.statusReason = "Essential container in task exited"
        attempt.taskDetail = "pid 7"
        job.attempts = [attempt]
        await backend.add(job)
        let reply = await post(makeRouter(backend), "describejobs", #"{"jobs":["arn:aws:batch:local:000000000000:job/j1","missing"]}"#)
        let attemptContainer: JSONValue = ["exitCode": 3, "reason": "bad input", "logStreamName": "train/default/j1-1", "taskArn": "pid 7"]
        XCTAssertEqual(reply.body["jobs"], [[
            "jobArn": "arn:aws:batch:local:000000000000:job/j1", "jobName": "train", "jobId": "j1",
            "jobQueue": "arn:aws:batch:local:000000000000:job-queue/q", "status": "FAILED",
            "statusReason": "Essential container in task exited", "createdAt": 100, "startedAt": 110, "stoppedAt": 120,
            "attempts": [["container": attemptContainer, "startedAt": 110, "stoppedAt": 120, "statusReason": "Essential container in task exited"]],
            "dependsOn": [], "jobDefinition": "arn:aws:batch:local:000000000000:job-definition/train:1", "parameters": [:],
            "container": ["image": "busybox", "command": ["true"], "exitCode": 3, "reason": "bad input",
                          "logStreamName": "train/default/j1-1", "taskArn": "pid 7"],
            "timeout": ["attemptDurationSeconds": 600], "retryStrategy": ["attempts": 1], "tags": [:],
            "platformCapabilities": ["EC2"], "isCancelled": false, "isTerminated": false,
        ]])
    }

    func testDescribeJobsOmitsStatusReasonWhenThereIsNone() {
        let detail = JobWire.encodeDetail(FakeBackend.job(id: "j", name: "n", sequence: 1), arns: ARNBuilder())
        XCTAssertNil(detail["statusReason"])
        XCTAssertNil(detail["startedAt"])
    }

    func testDescribeJobsTakesAtMost100Ids() async {
        let ids = JSONValue.array((0...100).map { .string("j\($0)") })
        assertClientException(await post(makeRouter(), "describejobs", ["jobs": ids]), "jobs has 101 entries; at most 100 are allowed.")
        assertClientException(await post(makeRouter(), "describejobs", "{}"), "jobs is required: a list of 1 to 100 job ids or ARNs.")
    }

    func testCancelAndTerminateNeedAReasonAndAnswerAnEmptyObject() async {
        let backend = FakeBackend()
        let router = makeRouter(backend)
        assertClientException(await post(router, "canceljob", #"{"jobId":"j"}"#), "reason is required.")
        await assertReply(post(router, "canceljob", #"{"jobId":"j","reason":"no longer needed"}"#), .ok([:]))
        await assertReply(post(router, "terminatejob", #"{"jobId":"j","reason":"stop"}"#), .ok([:]))
        let stopped = await backend.stopped.map { "\($0.job) \($0.reason) \($0.isTermination)" }
        XCTAssertEqual(stopped, ["j no longer needed false", "j stop true"])
    }
}
