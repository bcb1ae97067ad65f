@testable import DocketAPI
import DocketCore
import XCTest

/// Every request is checked against botocore's model before Docket's own rules: one test per
/// rule class, on real operations' shapes, at depth.
final class ModelValidatorTests: XCTestCase {
    private func message(_ operation: String, _ input: JSONValue) -> String? {
        do {
            try ModelValidator.validate(operation: operation, input: input.objectValue ?? [:])
            return nil
        } catch {
            return error.message
        }
    }

    func testTheGeneratedModelHasEveryOperationWithItsURI() {
        let operations = ServiceModel.parsed.operations
        XCTAssertEqual(operations.count, 45)
        XCTAssertEqual(operations["SubmitJob"]?.uri, "/v1/submitjob")
        XCTAssertEqual(operations["UntagResource"]?.method, "DELETE")
        XCTAssertEqual(operations["ListTagsForResource"]?.uri, "/v1/tags/{resourceArn}")
        XCTAssertEqual(Set(APIRouter<FakeBackend>.table.keys), Set(operations.keys), "the router answers every operation of the model")
    }

    func testEachRuleClassNamesTheMemberAndTheRule() {
        let submit: [String: JSONValue] = ["jobName": "j", "jobQueue": "q", "jobDefinition": "d"]
        func with(_ key: String, _ value: JSONValue) -> JSONValue { .object(submit.merging([key: value]) { _, new in new }) }
        let cases: [(String, JSONValue, String)] = [
            ("SubmitJob", ["jobName": "j", "jobQueue": "q"], "jobDefinition is required."),
            ("SubmitJob", with("jobName", 5), "jobName must be a string."),
            ("SubmitJob", with("schedulingPriorityOverride", .number(1.5)), "schedulingPriorityOverride must be an integer."),
            ("SubmitJob", with("schedulingPriorityOverride", 3_000_000_000), "schedulingPriorityOverride is 3000000000; it is out of range for a 32-bit integer."),
            ("SubmitJob", with("propagateTags", "yes"), "propagateTags must be true or false."),
            ("SubmitJob", with("dependsOn", ["a"]), "dependsOn[0] must be an object."),
            ("SubmitJob", with("dependsOn", [["jobId": "a", "type": "LATER"]]), "dependsOn[0].type is 'LATER'; it must be one of N_TO_N, SEQUENTIAL."),
            ("SubmitJob", with("containerOverrides", ["environment": [["name": 1]]]), "containerOverrides.environment[0].name must be a string."),
            ("SubmitJob", with("tags", ["k": 1]), "tags.k must be a string."),
            ("SubmitJob", with("tags", .object(Dictionary(uniqueKeysWithValues: (0..<51).map { ("k\($0)", JSONValue.string("v")) }))),
             "tags has 51 entries; at most 50 are allowed."),
            ("SubmitJob", with("tags", [String(repeating: "k", count: 129): "v"]),
             "tags key '\(String(repeating: "k", count: 129))' is 129 characters long; it must be at most 128."),
            ("RegisterJobDefinition", ["jobDefinitionName": "d", "type": "container", "containerProperties": ["privileged": "yes"]],
             "containerProperties.privileged must be true or false."),
            ("CreateComputeEnvironment", ["computeEnvironmentName": "c", "type": "UNMANAGED", "state": "ON"],
             "state is 'ON'; it must be one of ENABLED, DISABLED."),
            ("UntagResource", ["resourceArn": "arn:x", "tagKeys": []], "tagKeys has 0 entries; at least 1 is required."),
            ("UpdateConsumableResource", ["consumableResource": "c", "clientToken": ""], "clientToken is 0 characters long; it must be at least 1."),
        ]
        for (operation, input, expected) in cases {
            XCTAssertEqual(message(operation, input), expected, "\(operation) \(input)")
        }
    }

    func testNullIsAbsentUnknownMembersAreIgnoredAndRetryActionsAreCaseInsensitive() {
        XCTAssertNil(message("SubmitJob", ["jobName": "j", "jobQueue": "q", "jobDefinition": "d", "timeout": .null, "fromTheFuture": 1]))
        XCTAssertEqual(message("SubmitJob", ["jobName": "j", "jobQueue": .null, "jobDefinition": "d"]), "jobQueue is required.")
        XCTAssertNil(message("RegisterJobDefinition", ["jobDefinitionName": "d", "type": "container",
                                                       "retryStrategy": ["attempts": 2, "evaluateOnExit": [["action": "exit", "onReason": "*"]]]]))
    }

    func testTheRouterAnswersAModelViolationAsAClientExceptionBeforeAnythingRuns() async {
        let backend = FakeBackend()
        let reply = await post(makeRouter(backend), "submitjob", ["jobName": "j", "jobQueue": "q", "jobDefinition": "d", "propagateTags": "yes"])
        assertClientException(reply, "propagateTags must be true or false.")
        let submissions = await backend.submissions
        XCTAssertTrue(submissions.isEmpty)
    }
}
