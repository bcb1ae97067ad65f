import DocketFairShareCore
import XCTest

final class FairShareSettingsTests: XCTestCase {
    func testTheFullShapeIsRead() throws {
        let settings = try FairShareSettings(json: """
            {"shareDecaySeconds": 3600, "computeReservation": 50,
             "shareDistribution": [{"shareIdentifier": "teamA", "weightFactor": 0.5}, {"shareIdentifier": "ml*", "weightFactor": 2}],
             "capacityVcpuMillis": 16000}
            """)
        XCTAssertEqual(settings, FairShareSettings(
            shareDecaySeconds: 3600, computeReservation: 50,
            shareDistribution: [.init(shareIdentifier: "teamA", weightFactor: 0.5), .init(shareIdentifier: "ml*", weightFactor: 2)],
            capacityVCPUMillis: 16000))
    }

    func testEveryKeyIsOptionalAndZeroDecayMeansSixHundredSeconds() throws {
        let settings = try FairShareSettings(json: "{}")
        XCTAssertEqual(settings, FairShareSettings())
        XCTAssertEqual(settings.decaySeconds, 600)
        XCTAssertEqual(try FairShareSettings(json: #"{"shareDistribution": [{"shareIdentifier": "a"}]}"#).shareDistribution[0].weightFactor, 1)
    }

    func testRefusalsNameTheKeyPathTheValueAndTheFix() {
        let cases: [(json: String, field: String, message: String)] = [
            (#"{"shareDistribution": [{"shareIdentifier": "a"}, {"shareIdentifier": "b", "weightFactor": 0}]}"#,
             "shareDistribution[1].weightFactor",
             "shareDistribution[1].weightFactor: 0 is outside 0.0001–999.9999; give a weight in that range (lower gets more compute)."),
            (#"{"shareDistribution": [{"shareIdentifier": "a", "weightFactor": 1000}]}"#,
             "shareDistribution[0].weightFactor",
             "shareDistribution[0].weightFactor: 1000 is outside 0.0001–999.9999; give a weight in that range (lower gets more compute)."),
            (#"{"shareDecaySeconds": 604801}"#, "shareDecaySeconds",
             "shareDecaySeconds: 604801 is outside 0–604800; give the decay window in seconds, at most one week (0 means the 600 s minimum)."),
            (#"{"shareDecaySeconds": 60.5}"#, "shareDecaySeconds",
             "shareDecaySeconds: 60.5 is not a whole number; give the decay window in seconds, at most one week (0 means the 600 s minimum)."),
            (#"{"computeReservation": 100}"#, "computeReservation",
             "computeReservation: 100 is outside 0–99; give the percentage to reserve for inactive shares."),
            (#"{"computeReservation": "50"}"#, "computeReservation",
             "computeReservation: \"50\" is not a number; give the percentage to reserve for inactive shares."),
            (#"{"shareDistribution": [{"shareIdentifier": "UserA*"}, {"shareIdentifier": "UserA1"}]}"#,
             "shareDistribution[1].shareIdentifier",
             "shareDistribution[1].shareIdentifier: 'UserA1' overlaps 'UserA*' (shareDistribution[0]); identifiers and prefixes (ending in *) must not overlap."),
            (#"{"shareDistribution": [{"shareIdentifier": "ml*"}, {"shareIdentifier": "m*"}]}"#,
             "shareDistribution[1].shareIdentifier",
             "shareDistribution[1].shareIdentifier: 'm*' overlaps 'ml*' (shareDistribution[0]); identifiers and prefixes (ending in *) must not overlap."),
            (#"{"shareDistribution": [{"shareIdentifier": "a"}, {"shareIdentifier": "a"}]}"#,
             "shareDistribution[1].shareIdentifier",
             "shareDistribution[1].shareIdentifier: 'a' repeats shareDistribution[0]; give each identifier once."),
            ("{\"shareDistribution\": [{\"shareIdentifier\": \"\(String(repeating: "x", count: 256))\"}]}",
             "shareDistribution[0].shareIdentifier",
             "shareDistribution[0].shareIdentifier is 256 characters long; shorten it to at most 255."),
            (#"{"shareDistribution": [{"weightFactor": 2}]}"#, "shareDistribution[0].shareIdentifier",
             "shareDistribution[0].shareIdentifier is missing; every entry names the share it weighs."),
            (#"{"shareDistribution": [{"shareIdentifier": "a", "weight": 2}]}"#, "shareDistribution[0].weight",
             "shareDistribution[0].weight: unknown key; an entry has shareIdentifier and weightFactor."),
            (#"{"shareDecay": 60}"#, "shareDecay",
             "shareDecay: unknown key; the keys are shareDecaySeconds, computeReservation, shareDistribution and capacityVcpuMillis."),
            (#"{"capacityVcpuMillis": 0}"#, "capacityVcpuMillis",
             "capacityVcpuMillis: 0 is below 1; give the queue's total vCPUs in thousandths (16 vCPUs = 16000), or leave it out to use the vCPUs in use plus those free."),
            (#"{"shareDecaySeconds": 60"#, "",
             "settings are not JSON (expected '}' at byte 24); give an object such as {\"shareDecaySeconds\": 3600}."),
            ("[]", "", "settings are an array, not a JSON object; give an object such as {\"shareDecaySeconds\": 3600}."),
        ]
        for (json, field, message) in cases {
            do {
                _ = try FairShareSettings(json: json)
                XCTFail("accepted \(json)")
            } catch {
                XCTAssertEqual(error.message, message, json)
                XCTAssertEqual(error.field, field, json)
            }
        }
    }

    func testOverlapIsByPrefixOnly() {
        XCTAssertNoThrow(try FairShareSettings(json: #"{"shareDistribution": [{"shareIdentifier": "UserA*"}, {"shareIdentifier": "UserB1"}, {"shareIdentifier": "User"}]}"#))
    }
}
