import XCTest
import DocketQuotaCore

/// Reading and refusing settings; messages are compared whole.
final class QuotaSettingsTests: XCTestCase {
    func refusal(_ json: String) -> String? {
        do {
            _ = try QuotaSettings(json: json)
            return nil
        } catch {
            return error.message
        }
    }

    func shares(_ entries: String...) -> String { "{\"quotaShares\": [\(entries.joined(separator: ", "))]}" }

    func testReadsTheExampleConfiguration() throws {
        let settings = try QuotaSettings(json: """
            {"quotaShares": [{"name": "teamA", "state": "ENABLED", "capacityLimits": [{"capacityUnit": "VCPU", "maxCapacity": 8}, \
            {"capacityUnit": "MEMORY", "maxCapacity": 16384}, {"capacityUnit": "GPU", "maxCapacity": 2}, {"capacityUnit": "JOBS", "maxCapacity": 10}], \
            "resourceSharingConfiguration": {"strategy": "LEND_AND_BORROW", "borrowLimit": 100}, \
            "preemptionConfiguration": {"inSharePreemption": "DISABLED"}}], "capacity": {"vcpuMillis": 16000, "memoryMiB": 65536, "gpus": 4}}
            """)
        XCTAssertEqual(settings.shares.count, 1)
        let share = settings.shares[0]
        XCTAssertEqual(share.limits, QuotaAmounts(8000, 16384, 2, 10))
        XCTAssertEqual(share.strategy, .lendAndBorrow)
        XCTAssertEqual(share.borrowLimit, 100)
        XCTAssertEqual(share.ceiling, QuotaAmounts(16000, 32768, 4, 20))
        XCTAssertFalse(share.inSharePreemption)
        XCTAssertEqual(settings.capacity?[0], 16000)
    }

    func testShipsAValidExampleConfig() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../plugins/policy-quota/example-config.json").standardized.path
        let settings = try QuotaSettings(json: try String(contentsOfFile: path, encoding: .utf8))
        XCTAssertFalse(settings.shares.isEmpty)
    }

    func testFractionalVCPUsBecomeThousandths() throws {
        let settings = try QuotaSettings(json: shares(shareJSON("a", [("VCPU", "1.25")])))
        XCTAssertEqual(settings.shares[0].limits[0], 1250)
        XCTAssertEqual(refusal(shares(shareJSON("a", [("VCPU", "0.0005")]))),
                       "quotaShares[0].capacityLimits[0].maxCapacity: 0.0005 is not a number of vCPUs with at most three decimals; give e.g. 8 or 0.5.")
    }

    func testUnlistedUnitIsUnlimitedAndDefaultBorrowLimitIsUnlimited() throws {
        let share = try QuotaSettings(json: shares(shareJSON("a", [("GPU", "1")], "LEND_AND_BORROW"))).shares[0]
        XCTAssertEqual(share.limits[0], QuotaSettings.unlimited)
        XCTAssertEqual(share.borrowLimit, -1)
        XCTAssertEqual(share.ceiling[2], QuotaSettings.unlimited)
    }

    func testRefusesAnUnknownUnit() {
        XCTAssertEqual(refusal(shares(vcpuShare("a", 1), shareJSON("b", [("CPU", "4")]))),
                       "quotaShares[1].capacityLimits[0].capacityUnit: 'CPU' is not VCPU, MEMORY, GPU or JOBS; use one of them.")
    }

    func testRefusesAUnitGivenTwice() {
        XCTAssertEqual(refusal(shares(shareJSON("a", [("VCPU", "4"), ("GPU", "1"), ("VCPU", "8")]))),
                       "quotaShares[0].capacityLimits[2].capacityUnit: 'VCPU' is also limited by quotaShares[0].capacityLimits[0]; give each unit once.")
    }

    func testRefusesMaxCapacityBelowOne() {
        XCTAssertEqual(refusal(shares(shareJSON("a", [("JOBS", "0")]))),
                       "quotaShares[0].capacityLimits[0].maxCapacity: 0 is less than 1; give at least 1, or leave the unit out for no limit.")
        XCTAssertEqual(refusal(shares(shareJSON("a", [("VCPU", "0.5")]))),
                       "quotaShares[0].capacityLimits[0].maxCapacity: 0.5 is less than 1; give at least 1, or leave the unit out for no limit.")
        XCTAssertEqual(refusal(shares(shareJSON("a", [("MEMORY", "1.5")]))),
                       "quotaShares[0].capacityLimits[0].maxCapacity: 1.5 is not a whole number; MEMORY limits are counted in whole units.")
    }

    func testRefusesAnUnknownStrategy() {
        XCTAssertEqual(refusal(shares(vcpuShare("a", 4, "SHARE"))),
                       "quotaShares[0].resourceSharingConfiguration.strategy: 'SHARE' is not RESERVE, LEND or LEND_AND_BORROW.")
    }

    func testRefusesBorrowLimitWithoutLendAndBorrow() {
        XCTAssertEqual(refusal(shares(vcpuShare("a", 4, "LEND", borrowLimit: 100))),
                       "quotaShares[0].resourceSharingConfiguration.borrowLimit: given with strategy LEND; only LEND_AND_BORROW borrows, so remove borrowLimit or change the strategy.")
    }

    func testRefusesBorrowLimitBelowMinusOne() {
        XCTAssertEqual(refusal(shares(vcpuShare("a", 4, "LEND_AND_BORROW", borrowLimit: -2))),
                       "quotaShares[0].resourceSharingConfiguration.borrowLimit: -2 is less than -1; give -1 (no limit) or a percentage of 0 or more.")
    }

    func testRefusesDuplicateShareNames() {
        XCTAssertEqual(refusal(shares(vcpuShare("teamA", 4), vcpuShare("teamB", 4), vcpuShare("teamA", 2))),
                       "quotaShares[2].name: 'teamA' is also the name of quotaShares[0]; give each quota share its own name.")
    }

    func testRefusesUnknownKeysAndBadCapacity() {
        XCTAssertEqual(refusal("{\"quotaShare\": []}"),
                       "quotaShare: unknown key; the keys are quotaShares, capacity and idleResourceAssignmentStrategy.")
        XCTAssertEqual(refusal("{\"capacity\": {\"vcpuMillis\": -1}}"),
                       "capacity.vcpuMillis: -1 is not a whole number of 0 or more; give the queue's total, e.g. 16000 for 16 vCPUs.")
        XCTAssertEqual(refusal("[]"), "settings are an array, not a JSON object; give an object such as {\"quotaShares\": [...]}.")
    }

    func testRefusesAShareWithoutLimits() {
        XCTAssertEqual(refusal(shares("{\"name\": \"a\"}")),
                       "quotaShares[0].capacityLimits: missing; give 1 to 4 limits such as [{\"capacityUnit\": \"VCPU\", \"maxCapacity\": 8}].")
    }
}
