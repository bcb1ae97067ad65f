@testable import DocketAPI
import DocketCore
import XCTest

final class JobDefinitionWireTests: XCTestCase {
    static let container: JSONValue = ["image": "busybox", "command": ["echo", "Ref::word"],
                                       "resourceRequirements": [["type": "VCPU", "value": "1"], ["type": "MEMORY", "value": "64"]]]

    func testRegisterAnswersTheRevisionAndDescribeReturnsEveryMember() async {
        let router = makeRouter()
        let registered = await post(router, "registerjobdefinition", [
            "jobDefinitionName": "greet", "type": "container", "containerProperties": Self.container, "parameters": ["word": "hi"],
            "retryStrategy": ["attempts": 3, "evaluateOnExit": [["action": "exit", "onExitCode": "1*"]]],
            "timeout": ["attemptDurationSeconds": 120], "schedulingPriority": 7, "platformCapabilities": ["EC2"],
            "propagateTags": true, "tags": ["team": "ml"], "consumableResourceProperties": ["consumableResourceList": []],
        ])
        XCTAssertEqual(registered, .ok(["jobDefinitionName": "greet", "jobDefinitionArn": "arn:aws:batch:local:000000000000:job-definition/greet:1", "revision": 1]))
        let described = await post(router, "describejobdefinitions", #"{"jobDefinitionName":"greet","status":"ACTIVE"}"#)
        XCTAssertEqual(described.body["jobDefinitions"], [[
            "jobDefinitionName": "greet", "jobDefinitionArn": "arn:aws:batch:local:000000000000:job-definition/greet:1", "revision": 1,
            "status": "ACTIVE", "type": "container", "containerProperties": Self.container, "parameters": ["word": "hi"],
            "retryStrategy": ["attempts": 3, "evaluateOnExit": [["action": "EXIT", "onExitCode": "1*"]]],
            "timeout": ["attemptDurationSeconds": 120], "schedulingPriority": 7, "platformCapabilities": ["EC2"],
            "propagateTags": true, "tags": ["team": "ml"], "containerOrchestrationType": "ECS",
            "consumableResourceProperties": ["consumableResourceList": []],
        ]])
    }

    func testRuleBreakingRequestsAreRefusedNamingTheMember() async {
        func body(_ changes: [String: JSONValue]) -> JSONValue {
            var members: [String: JSONValue] = ["jobDefinitionName": "d", "type": "container", "containerProperties": Self.container]
            for (key, value) in changes { members[key] = value }
            return .object(members)
        }
        let cases: [(JSONValue, String)] = [
            (body(["type": "multinode"]), "type multinode: Docket does not run multi-node parallel jobs yet; register a container job definition."),
            (body(["type": "batch"]), "type is 'batch'; it must be one of container, multinode."),
            (body(["containerProperties": .null]), "containerProperties is required for a container job definition."),
            (body(["containerProperties": ["command": ["true"]]]), "containerProperties.image is required: AWS Batch requires an image on every container job definition (the process executor ignores it)."),
            (body(["retryStrategy": ["attempts": 11]]), "retryStrategy.attempts is 11; it must be between 1 and 10."),
            (body(["retryStrategy": ["attempts": 2, "evaluateOnExit": .array(Array(repeating: ["action": "RETRY"], count: 6))]]),
             "retryStrategy.evaluateOnExit has 6 entries; at most 5 are allowed."),
            (body(["retryStrategy": ["attempts": 2, "evaluateOnExit": [["action": "MAYBE"]]]]), "retryStrategy.evaluateOnExit[0].action is 'MAYBE'; it must be one of RETRY, EXIT."),
            (body(["timeout": ["attemptDurationSeconds": 59]]), "timeout.attemptDurationSeconds is 59; the minimum is 60 seconds."),
            (body(["schedulingPriority": 10_000]), "schedulingPriority is 10000; it must be between 0 and 9999."),
            (body(["platformCapabilities": ["MARS"]]), "platformCapabilities[0] is 'MARS'; it must be one of EC2, FARGATE."),
            (body(["containerProperties": ["image": "i", "environment": [["name": "AWS_BATCH_JOB_ID", "value": "x"]]]]),
             "containerProperties.environment[0].name 'AWS_BATCH_JOB_ID': names starting with AWS_BATCH are reserved for the variables Batch sets; rename it."),
            (body(["containerProperties": ["image": "i", "resourceRequirements": [["type": "VCPU", "value": "0"]]]]),
             "containerProperties.resourceRequirements[0].value is '0'; a VCPU value is a positive number: 1 or more, or a fraction such as 0.5."),
        ]
        for (request, expected) in cases {
            assertClientException(await post(makeRouter(), "registerjobdefinition", request), expected, "\(request)")
        }
    }
}
