@testable import DocketAPI
import DocketCore
import XCTest

final class JobQueueWireTests: XCTestCase {
    func testCreateThenDescribeReturnsComputeEnvironmentARNsAndTheActions() async {
        let router = makeRouter()
        let actions: JSONValue = [["reason": "stuck", "state": "RUNNABLE", "maxTimeSeconds": 600, "action": "CANCEL"]]
        let created = await post(router, "createjobqueue", [
            "jobQueueName": "q", "priority": 5, "tags": ["team": "ml"], "jobStateTimeLimitActions": actions,
            "computeEnvironmentOrder": [["order": 2, "computeEnvironment": "arn:aws:batch:local:000000000000:compute-environment/b"],
                                        ["order": 1, "computeEnvironment": "a"]],
        ])
        XCTAssertEqual(created, .ok(["jobQueueName": "q", "jobQueueArn": "arn:aws:batch:local:000000000000:job-queue/q"]))
        let described = await post(router, "describejobqueues", "{}")
        XCTAssertEqual(described.body["jobQueues"], [[
            "jobQueueName": "q", "jobQueueArn": "arn:aws:batch:local:000000000000:job-queue/q", "state": "ENABLED",
            "status": "VALID", "statusReason": "JobQueue Healthy", "priority": 5, "jobQueueType": "ECS", "tags": ["team": "ml"],
            "computeEnvironmentOrder": [["order": 1, "computeEnvironment": "arn:aws:batch:local:000000000000:compute-environment/a"],
                                        ["order": 2, "computeEnvironment": "arn:aws:batch:local:000000000000:compute-environment/b"]],
            "jobStateTimeLimitActions": actions,
        ]])
    }

    func testRuleBreakingRequestsAreRefusedNamingTheMember() async {
        let order: JSONValue = [["order": 1, "computeEnvironment": "a"]]
        let cases: [(JSONValue, String)] = [
            (["jobQueueName": "q", "computeEnvironmentOrder": order], "priority is required."),
            (["jobQueueName": "q", "priority": "high", "computeEnvironmentOrder": order], "priority must be an integer."),
            (["jobQueueName": "q", "priority": 1], "computeEnvironmentOrder is required: 1 to 3 entries of {order, computeEnvironment}."),
            (["jobQueueName": "q", "priority": 1, "computeEnvironmentOrder": [["order": 1, "computeEnvironment": "a"], ["order": 2, "computeEnvironment": "b"],
                                                                              ["order": 3, "computeEnvironment": "c"], ["order": 4, "computeEnvironment": "d"]]],
             "computeEnvironmentOrder has 4 entries; at most 3 are allowed."),
            (["jobQueueName": "q", "priority": 1, "computeEnvironmentOrder": [["order": 1]]], "computeEnvironmentOrder[0].computeEnvironment is required."),
            (["jobQueueName": "q", "priority": 1, "computeEnvironmentOrder": [["order": 1, "computeEnvironment": "a"], ["order": 2, "computeEnvironment": "a"]]],
             "computeEnvironmentOrder[1].computeEnvironment 'a' is listed twice; list each compute environment once."),
            (["jobQueueName": "q", "priority": 1, "computeEnvironmentOrder": order,
              "jobStateTimeLimitActions": [["reason": "r", "state": "RUNNABLE", "maxTimeSeconds": 60, "action": "CANCEL"]]],
             "jobStateTimeLimitActions[0].maxTimeSeconds is 60; it must be between 600 and 86400."),
        ]
        for (body, expected) in cases {
            assertClientException(await post(makeRouter(), "createjobqueue", body), expected, "\(body)")
        }
    }
}
