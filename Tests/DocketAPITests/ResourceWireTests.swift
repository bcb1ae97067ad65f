@testable import DocketAPI
import DocketCore
import XCTest

/// Scheduling policies, consumable resources, quota shares, tags and the refused operations,
/// through the router as the HTTP layer calls it.
final class ResourceWireTests: XCTestCase {
    func testTagPathsRouteByMethodWithThePercentEncodedARNAndRepeatedTagKeys() async {
        let router = makeRouter()
        let arn = "arn:aws:batch:local:000000000000:job-queue/q"
        let encoded = "arn%3Aaws%3Abatch%3Alocal%3A000000000000%3Ajob-queue%2Fq"
        let tagged = await router.respond(APIRequest(method: "POST", rawPath: "/v1/tags/\(encoded)",
                                                     body: JSONValue.object(["tags": ["a": "1", "b": "2", "c": "3"]]).serialized()))
        XCTAssertEqual(tagged, .ok([:]))
        let untagged = await router.respond(APIRequest(method: "DELETE", rawPath: "/v1/tags/\(encoded)", rawQuery: "tagKeys=a&tagKeys=c"))
        XCTAssertEqual(untagged, .ok([:]))
        let listed = await router.respond(APIRequest(method: "GET", rawPath: "/v1/tags/\(encoded)"))
        XCTAssertEqual(listed, .ok(["tags": ["b": "2"]]))
        let stored = await router.backend.tagsByArn[arn]
        XCTAssertEqual(stored, ["b": "2"])
    }

    func testTaggingRefusesTheReservedPrefixAndAnUntagWithoutKeys() async {
        let router = makeRouter()
        let path = "/v1/tags/arn%3Aaws%3Abatch%3Alocal%3A000000000000%3Ajob-queue%2Fq"
        let reserved = await router.respond(APIRequest(method: "POST", rawPath: path, body: Array(#"{"tags":{"AWS:owner":"x"}}"#.utf8)))
        assertClientException(reserved, "tags: tag key 'AWS:owner' uses the reserved prefix aws:; choose another key.")
        let noKeys = await router.respond(APIRequest(method: "DELETE", rawPath: path))
        assertClientException(noKeys, "tagKeys is required: give 1 to 50 keys as ?tagKeys=KEY&tagKeys=KEY2.")
        let notAnARN = await router.respond(APIRequest(method: "GET", rawPath: "/v1/tags/q"))
        XCTAssertTrue(assertClientException(notAnARN).hasPrefix("resourceArn 'q' is not an ARN"))
    }

    func testFairSharePoliciesAreCheckedAgainstAWSRanges() async {
        let router = makeRouter()
        let cases: [(JSONValue, String)] = [
            (["name": "p"], "a scheduling policy needs fairsharePolicy or quotaSharePolicy; give one of them."),
            (["name": "p", "fairsharePolicy": [:], "quotaSharePolicy": ["idleResourceAssignmentStrategy": "FIFO"]],
             "a scheduling policy holds either fairsharePolicy or quotaSharePolicy, not both; send one."),
            (["name": "p", "fairsharePolicy": ["computeReservation": 100]],
             "fairsharePolicy.computeReservation is 100; it must be between 0 and 99."),
            (["name": "p", "fairsharePolicy": ["shareDistribution": [["shareIdentifier": "a", "weightFactor": 0]]]],
             "fairsharePolicy.shareDistribution[0].weightFactor must be a number from 0.0001 to 999.9999 (lower gets more compute)."),
            (["name": "p", "fairsharePolicy": ["shareDistribution": [["shareIdentifier": "UserA*"], ["shareIdentifier": "UserA1"]]]],
             "fairsharePolicy.shareDistribution[1].shareIdentifier 'UserA1' overlaps 'UserA*'; share identifiers and prefixes (ending in *) must be unique and must not overlap."),
        ]
        for (body, message) in cases {
            assertClientException(await post(router, "createschedulingpolicy", body), message, "\(body)")
        }
        let policies = await router.backend.policies
        XCTAssertEqual(policies, [])
        let created = await post(router, "createschedulingpolicy", [
            "name": "fair", "fairsharePolicy": ["shareDecaySeconds": 600, "shareDistribution": [["shareIdentifier": "A*", "weightFactor": .number(0.5)]]],
        ])
        XCTAssertEqual(created, .ok(["name": "fair", "arn": "arn:aws:batch:local:000000000000:scheduling-policy/fair"]))
        let listed = await post(router, "listschedulingpolicies", "{}")
        XCTAssertEqual(listed, .ok(["schedulingPolicies": [["arn": "arn:aws:batch:local:000000000000:scheduling-policy/fair"]]]))
    }

    func testQuotaSharesNeedTheirThreeConfigurationsAndBorrowLimitOnlyWithBorrowing() async {
        let router = makeRouter()
        let valid: [String: JSONValue] = [
            "quotaShareName": "team-a", "jobQueue": "q",
            "capacityLimits": [["capacityUnit": "VCPU", "maxCapacity": 8]],
            "resourceSharingConfiguration": ["strategy": "LEND_AND_BORROW", "borrowLimit": 100],
            "preemptionConfiguration": ["inSharePreemption": "ENABLED"],
        ]
        var lending = valid
        lending["resourceSharingConfiguration"] = ["strategy": "LEND", "borrowLimit": 50]
        assertClientException(await post(router, "createquotashare", .object(lending)),
                              "resourceSharingConfiguration.borrowLimit applies only to the LEND_AND_BORROW strategy; drop it or change the strategy.")
        var twice = valid
        twice["capacityLimits"] = [["capacityUnit": "VCPU", "maxCapacity": 8], ["capacityUnit": "VCPU", "maxCapacity": 2]]
        assertClientException(await post(router, "createquotashare", .object(twice)),
                              "capacityLimits[1].capacityUnit 'VCPU' is listed twice; give each capacity unit once.")
        let created = await post(router, "createquotashare", .object(valid))
        XCTAssertEqual(created, .ok(["quotaShareName": "team-a",
                                     "quotaShareArn": "arn:aws:batch:local:000000000000:job-queue/q/quota-share/team-a"]))
        let listed = await post(router, "listquotashares", ["jobQueue": "q"])
        XCTAssertEqual(listed.body["quotaShares"]?.arrayValue?.first?["jobQueueArn"], "arn:aws:batch:local:000000000000:job-queue/q")
    }

    func testConsumableResourcesDefaultToReplenishableAndUpdatesCarryTheOperation() async {
        let router = makeRouter()
        _ = await post(router, "createconsumableresource", ["consumableResourceName": "licence", "totalQuantity": 4])
        let described = await post(router, "describeconsumableresource", ["consumableResource": "licence"])
        XCTAssertEqual(described.body["resourceType"], "REPLENISHABLE")
        XCTAssertEqual(described.body["availableQuantity"], 4)
        assertClientException(await post(router, "createconsumableresource", ["consumableResourceName": "x", "resourceType": "ONCE"]),
                              "resourceType is 'ONCE'; it must be one of REPLENISHABLE, NON_REPLENISHABLE.")
        _ = await post(router, "updateconsumableresource", ["consumableResource": "arn:aws:batch:local:000000000000:consumable-resource/licence",
                                                            "operation": "ADD", "quantity": 2])
        let updates = await router.backend.consumableUpdates
        XCTAssertEqual(updates.map { "\($0.reference) \($0.operation) \($0.quantity)" }, ["licence ADD 2"])
        let filtered = await post(router, "listconsumableresources", ["filters": [["name": "CONSUMABLE_RESOURCE_NAME", "values": ["LIC*"]]]])
        XCTAssertEqual(filtered.body["consumableResources"]?.arrayValue?.count, 1)
    }

    func testServiceEnvironmentsAndServiceJobsAreRefusedSayingWhy() async {
        for operation in ["createserviceenvironment", "describeserviceenvironments", "submitservicejob", "listservicejobs"] {
            let message = assertClientException(await post(makeRouter(), operation, "{}"), nil, operation)
            XCTAssertTrue(message.contains("Docket does not run SageMaker service environments or service jobs"), "\(operation): \(message)")
        }
    }

    func testDeregisteringNeedsARevision() async {
        assertClientException(await post(makeRouter(), "deregisterjobdefinition", ["jobDefinition": "train"]),
                              "jobDefinition 'train' names no revision; deregister one revision at a time as name:revision or its ARN.")
    }
}
