import DocketCore
import Foundation
import XCTest

/// The store's hand-written job document must read what Codable wrote (documents stored before
/// it) and write what Codable reads, member for member.
final class JobDocumentTests: XCTestCase {
    private func everyMemberSet() -> Job {
        let properties: JSONValue = .object(["ulimits": .array([.object(["name": .string("nofile"), "softLimit": .number(1024),
                                                                         "hardLimit": .number(4096)])]),
                                             "privileged": .bool(false), "shm": .number(0.5), "none": .null])
        let container = ContainerSpec(image: "busybox", command: ["sh", "-c", "echo \"quoted\"\n\ttab \\ é"],
                                      environment: [EnvironmentVariable(name: "A", value: "1"), EnvironmentVariable(name: "B", value: "")],
                                      resources: Resources(vcpuMillis: 1500, memoryMiB: 2048, gpus: 1), user: "nobody", properties: properties)
        var job = Job(id: "parent:3", name: "name", arn: "arn:aws:batch:local:0:job/parent:3", queue: "q",
                      jobDefinitionArn: "arn:aws:batch:local:0:job-definition/d:2", jobDefinitionName: "d", sequence: 9_007_199,
                      createdAt: 1_795_000_000_123, container: container, parameters: ["p": "v"],
                      retryStrategy: RetryStrategy(attempts: 3, evaluateOnExit: [.init(action: "retry", onExitCode: "1*"),
                                                                                 .init(action: "EXIT", onStatusReason: "Host*", onReason: "*")]),
                      timeoutSeconds: 60, dependsOn: [JobDependency(jobID: "parent:2", type: "SEQUENTIAL"), JobDependency(jobID: "x", type: nil)],
                      tags: ["k": "v"], shareIdentifier: "blue", schedulingPriority: 7, platformCapabilities: ["EC2"])
        try? job.move(to: .runnable, reason: "waiting", at: 1_795_000_000_200)
        var attempt = Attempt(number: 1, computeEnvironment: "ce", logStreamName: "d/default/parent:3-1")
        attempt.startedAt = 1_795_000_000_300
        attempt.stoppedAt = 1_795_000_000_400
        attempt.exitCode = -1
        attempt.reason = "OutOfMemoryError: Container killed due to memory usage"
        attempt.statusReason = "Essential container in task exited"
        attempt.taskDetail = "pid 42"
        job.attempts = [attempt, Attempt(number: 2, computeEnvironment: "ce", logStreamName: "d/default/parent:3-2")]
        job.startedAt = 1_795_000_000_300
        job.isCancelled = true
        job.cancelReason = "not needed"
        job.isRetry = true
        job.propagateTags = true
        job.consumableResources = [ConsumableResourceUse(resource: "licence", quantity: 2)]
        job.arraySize = 10
        job.arrayIndex = 3
        return job
    }

    func testADocumentReadsBackEqualAndAgreesWithCodableBothWays() throws {
        let job = everyMemberSet()
        XCTAssertEqual(try Job(documentJSON: job.documentJSON()), job)
        XCTAssertEqual(try Job(documentJSON: [UInt8](JSONEncoder().encode(job))), job, "documents Codable wrote still decode")
        XCTAssertEqual(try JSONDecoder().decode(Job.self, from: Data(job.documentJSON())), job, "Codable reads what the store writes")
    }

    func testAJobWithOnlyTheRequiredMembersRoundTrips() throws {
        let job = Job(id: "j", name: "n", arn: "a", queue: "q", jobDefinitionArn: "d", jobDefinitionName: "d", sequence: 1, createdAt: 2,
                      container: ContainerSpec(image: nil, command: [], environment: [], resources: .zero, user: nil, properties: .object([:])))
        XCTAssertEqual(try Job(documentJSON: job.documentJSON()), job)
        XCTAssertEqual(try Job(documentJSON: [UInt8](JSONEncoder().encode(job))), job)
    }

    func testAMalformedDocumentIsAnErrorNamingTheMember() {
        var text = String(decoding: everyMemberSet().documentJSON(), as: UTF8.self)
        text = text.replacingOccurrences(of: "\"sequence\":9007199", with: "\"sequence\":\"x\"")
        XCTAssertThrowsError(try Job(documentJSON: Array(text.utf8))) { error in
            XCTAssertTrue("\(error)".contains("job.sequence"), "\(error)")
        }
        XCTAssertThrowsError(try Job(documentJSON: Array("{".utf8)))
    }
}
