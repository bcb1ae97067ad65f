import Foundation
import XCTest

/// Consumable resources through the real `aws batch` CLI against a real server running real
/// processes: a job waits RUNNABLE for a licence another job holds, naming it; quantities are
/// exact while jobs run and after they end; NON_REPLENISHABLE quantities are used up.
final class ConsumableResourceTests: XCTestCase {
    private func quantities(_ server: ServerHarness, _ name: String) throws -> (total: Int, inUse: Int, available: Int) {
        let result = try server.aws(["describe-consumable-resource", "--consumable-resource", name])
        XCTAssertEqual(result.status, 0, result.stderr)
        return (result.json["totalQuantity"] as? Int ?? -1, result.json["inUseQuantity"] as? Int ?? -1, result.json["availableQuantity"] as? Int ?? -1)
    }

    func testAJobWaitsForALicenceAnotherHoldsAndQuantitiesAreExact() throws {
        let server = try ServerHarness()
        try server.start()
        XCTAssertEqual(try server.aws(["create-consumable-resource", "--consumable-resource-name", "licence", "--total-quantity", "1"]).status, 0)
        XCTAssertEqual(try server.aws(["create-consumable-resource", "--consumable-resource-name", "tokens", "--total-quantity", "5",
                                       "--resource-type", "NON_REPLENISHABLE"]).status, 0)
        let registered = try server.aws(["register-job-definition", "--job-definition-name", "licensed", "--type", "container",
                                         "--container-properties", #"{"image":"busybox","command":["sleep","Ref::seconds"],"resourceRequirements":[{"type":"VCPU","value":"0.25"},{"type":"MEMORY","value":"32"}]}"#,
                                         "--parameters", "seconds=0.2", "--consumable-resource-properties", #"{"consumableResourceList":[{"consumableResource":"licence","quantity":1},{"consumableResource":"tokens","quantity":2}]}"#])
        XCTAssertEqual(registered.status, 0, registered.stderr)
        func submit(_ name: String, seconds: String = "0.2") throws -> String {
            let result = try server.aws(["submit-job", "--job-name", name, "--job-queue", "default", "--job-definition", "licensed",
                                         "--parameters", "seconds=\(seconds)"])
            XCTAssertEqual(result.status, 0, result.stderr)
            return try XCTUnwrap(result.json["jobId"] as? String)
        }
        // The first job holds the licence long enough for the second to be seen waiting.
        let first = try submit("first", seconds: "5")
        _ = try server.waitForStatus(first, ["RUNNING"])
        let second = try submit("second")
        Thread.sleep(forTimeInterval: 0.3)
        let waiting = try server.describe(second)
        XCTAssertEqual(waiting["status"] as? String, "RUNNABLE")
        XCTAssertEqual(waiting["statusReason"] as? String,
                       "RESOURCE:CONSUMABLE_RESOURCE_UNAVAILABLE - The job needs 1 of consumable resource 'licence'; 0 of 1 are available.")
        let held = try quantities(server, "licence")
        XCTAssertEqual([held.total, held.inUse, held.available], [1, 1, 0])

        XCTAssertEqual(try server.waitForStatus(second, ["SUCCEEDED", "FAILED"])["status"] as? String, "SUCCEEDED")
        XCTAssertEqual(try server.describe(first)["status"] as? String, "SUCCEEDED")
        let returned = try quantities(server, "licence")
        XCTAssertEqual([returned.total, returned.inUse, returned.available], [1, 0, 1], "REPLENISHABLE: returned when the jobs ended")
        let used = try quantities(server, "tokens")
        XCTAssertEqual([used.total, used.inUse, used.available], [1, 0, 1], "NON_REPLENISHABLE: two jobs took 2 each, for good")

        let listed = try server.aws(["list-jobs-by-consumable-resource", "--consumable-resource", "licence"])
        XCTAssertEqual((listed.json["jobs"] as? [[String: Any]])?.map { $0["jobName"] as? String }, ["first", "second"])

        // A third job needs 2 tokens; 1 is left: it waits, naming the resource, until more are added.
        let third = try submit("third")
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertEqual(try server.describe(third)["statusReason"] as? String,
                       "RESOURCE:CONSUMABLE_RESOURCE_UNAVAILABLE - The job needs 2 of consumable resource 'tokens'; 1 of 1 are available.")
        XCTAssertEqual(try server.aws(["update-consumable-resource", "--consumable-resource", "tokens", "--operation", "ADD", "--quantity", "1"]).status, 0)
        XCTAssertEqual(try server.waitForStatus(third, ["SUCCEEDED", "FAILED"])["status"] as? String, "SUCCEEDED")
    }

    func testAskingForAMissingResourceOrMoreThanItsTotalIsRefused() throws {
        let server = try ServerHarness()
        try server.start()
        XCTAssertEqual(try server.aws(["create-consumable-resource", "--consumable-resource-name", "gpu-slot", "--total-quantity", "2"]).status, 0)
        let missing = try server.aws(["submit-job", "--job-name", "j", "--job-queue", "default", "--job-definition", "default",
                                      "--container-overrides", #"{"command":["true"]}"#, "--consumable-resource-properties-override", #"{"consumableResourceList":[{"consumableResource":"nope","quantity":1}]}"#])
        XCTAssertEqual(missing.status, 255)
        XCTAssertTrue(missing.stderr.contains("names consumable resource 'nope', which does not exist"), missing.stderr)
        let tooMuch = try server.aws(["submit-job", "--job-name", "j", "--job-queue", "default", "--job-definition", "default",
                                      "--container-overrides", #"{"command":["true"]}"#, "--consumable-resource-properties-override", #"{"consumableResourceList":[{"consumableResource":"gpu-slot","quantity":3}]}"#])
        XCTAssertEqual(tooMuch.status, 255)
        XCTAssertTrue(tooMuch.stderr.contains("asks for 3 of consumable resource 'gpu-slot', whose total is 2"), tooMuch.stderr)
        let listed = try server.aws(["list-jobs", "--job-queue", "default", "--filters", "name=JOB_NAME,values=j"])
        XCTAssertEqual((listed.json["jobSummaryList"] as? [[String: Any]])?.count, 0, "nothing was stored")
    }
}
