@testable import DocketAPI
import DocketCore
import XCTest

final class ComputeEnvironmentWireTests: XCTestCase {
    func testTheExecutorTagNamesTheExecutorAndOtherDocketTagsAreTypedSettings() async {
        let backend = FakeBackend()
        let reply = await post(makeRouter(backend), "createcomputeenvironment", [
            "computeEnvironmentName": "lab", "type": "UNMANAGED",
            "tags": ["docket:executor": "docker", "docket:vcpus": "4", "docket:gpu": "true", "docket:network": "host", "team": "ml"],
        ])
        XCTAssertEqual(reply, .ok(["computeEnvironmentName": "lab", "computeEnvironmentArn": "arn:aws:batch:local:000000000000:compute-environment/lab"]))
        let stored = await backend.environments.first
        XCTAssertEqual(stored?.executor, "docker")
        XCTAssertEqual(stored?.executorSettings, ["vcpus": .number(4), "gpu": .bool(true), "network": "host"])
        XCTAssertEqual(stored?.state, .enabled)
    }

    func testWithoutTheExecutorTagTheExecutorIsTheServerDefault() throws {
        let environment = try ComputeEnvironmentWire.decodeCreate(Members(["computeEnvironmentName": "lab", "type": "UNMANAGED"]))
        XCTAssertEqual(environment.executor, "")
    }

    func testMaxvCpusBecomesMillisAndComputeResourcesAreKept() throws {
        let resources: JSONValue = ["type": "EC2", "maxvCpus": 8, "subnets": [], "instanceTypes": ["optimal"]]
        let environment = try ComputeEnvironmentWire.decodeCreate(Members(["computeEnvironmentName": "big", "type": "MANAGED", "computeResources": resources]))
        XCTAssertEqual(environment.maxVCPUMillis, 8000)
        XCTAssertEqual(environment.computeResources, resources)
    }

    func testOtherRequestMembersAreReturnedAsSentByDescribe() async {
        let router = makeRouter()
        _ = await post(router, "createcomputeenvironment", [
            "computeEnvironmentName": "lab", "type": "UNMANAGED", "unmanagedvCpus": 16, "serviceRole": "arn:aws:iam::1:role/x",
            "context": "ctx", "eksConfiguration": ["eksClusterArn": "arn:e", "kubernetesNamespace": "ns"],
        ])
        let described = await post(router, "describecomputeenvironments", #"{"computeEnvironments":["lab"]}"#)
        XCTAssertEqual(described.body["computeEnvironments"], [[
            "computeEnvironmentName": "lab", "computeEnvironmentArn": "arn:aws:batch:local:000000000000:compute-environment/lab",
            "uuid": "uuid-lab", "type": "UNMANAGED", "state": "ENABLED", "status": "VALID", "statusReason": "ComputeEnvironment Healthy",
            "tags": [:], "containerOrchestrationType": "ECS",
            "unmanagedvCpus": 16, "serviceRole": "arn:aws:iam::1:role/x", "context": "ctx",
            "eksConfiguration": ["eksClusterArn": "arn:e", "kubernetesNamespace": "ns"],
        ]])
    }

    func testRuleBreakingRequestsAreRefusedNamingTheMember() async {
        let cases: [(JSONValue, String)] = [
            (["type": "UNMANAGED"], "computeEnvironmentName is required."),
            (["computeEnvironmentName": "lab"], "type is required; it must be one of MANAGED, UNMANAGED."),
            (["computeEnvironmentName": "lab", "type": "SELF"], "type is 'SELF'; it must be one of MANAGED, UNMANAGED."),
            (["computeEnvironmentName": "lab", "type": "UNMANAGED", "state": "ON"], "state is 'ON'; it must be one of ENABLED, DISABLED."),
            (["computeEnvironmentName": "l a b", "type": "UNMANAGED"], "Provided name l a b is not supported pattern[a-zA-Z_0-9-]{1,128}: computeEnvironmentName may contain only letters, digits, hyphens and underscores, and must start with a letter or digit."),
            (["computeEnvironmentName": "lab", "type": "MANAGED"], #"computeResources is required for a MANAGED compute environment (at least {"type": "EC2", "maxvCpus": N, "subnets": []}); or create it as UNMANAGED."#),
            (["computeEnvironmentName": "lab", "type": "MANAGED", "computeResources": ["type": "EC2", "subnets": []]], "computeResources.maxvCpus is required."),
            (["computeEnvironmentName": "lab", "type": "MANAGED", "computeResources": ["type": "EC2", "maxvCpus": 4]], "computeResources.subnets is required (AWS's rule); Docket ignores it, so send an empty list."),
            (["computeEnvironmentName": "lab", "type": "UNMANAGED", "computeResources": ["type": "EC2", "maxvCpus": 4, "subnets": []]], "computeResources must be omitted for an UNMANAGED compute environment; create it as MANAGED or drop computeResources."),
            (["computeEnvironmentName": "lab", "type": "UNMANAGED", "tags": ["k": 1]], "tags.k must be a string."),
        ]
        for (body, expected) in cases {
            assertClientException(await post(makeRouter(), "createcomputeenvironment", body), expected, "\(body)")
        }
    }

    func testMoreThan50TagsAreRefused() async {
        var tags: [String: JSONValue] = [:]
        for index in 0..<51 { tags["k\(index)"] = "v" }
        let message = assertClientException(await post(makeRouter(), "createcomputeenvironment", ["computeEnvironmentName": "lab", "type": "UNMANAGED", "tags": .object(tags)]))
        XCTAssertEqual(message, "tags has 51 entries; at most 50 are allowed.")
    }
}
