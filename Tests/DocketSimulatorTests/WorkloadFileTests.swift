import DocketCore
@testable import DocketSimulator
import XCTest

/// The workload file format (Workload's comment and `docket simulate --help`).
final class WorkloadFileTests: XCTestCase {
    func parse(_ text: String) throws(SimulationError) -> Workload { try Workload.parse(Array(text.utf8)) }

    func testDocumentedExampleParses() throws {
        let workload = try parse("""
            {"seed": 42, "days": 7, "windowSeconds": 3600,
             "computeEnvironment": {"vcpus": 64, "memoryMiB": 262144, "gpus": 0},
             "policy": {"name": "fairshare", "settings": {"shareDecaySeconds": 3600, "computeReservation": 0,
                        "shareDistribution": [{"shareIdentifier": "a", "weightFactor": 0.5}]}},
             "shares": [
               {"shareIdentifier": "a", "backlogged": true, "vcpus": 2, "durationSeconds": {"uniform": [300, 900]}},
               {"shareIdentifier": "b", "arrivalsPerHour": 40, "vcpus": {"choice": [1, 2, 4]}, "memoryMiB": 2048,
                "durationSeconds": {"exponential": 600}, "schedulingPriority": 0, "startHours": 24, "stopHours": 96}],
             "jobs": [{"atSeconds": 0, "shareIdentifier": "c", "vcpus": 8, "durationSeconds": 3600}]}
            """)
        XCTAssertEqual(workload.seed, 42)
        XCTAssertEqual(workload.policy?.name, "fairshare")
        XCTAssertEqual(workload.shares.map(\.shareIdentifier), ["a", "b"])
        XCTAssertEqual(workload.shares[0].durationSeconds, .uniform(300, 900))
        XCTAssertEqual(workload.shares[1].vcpus, .choice([1, 2, 4]))
        XCTAssertEqual(workload.shares[1].durationSeconds, .exponential(mean: 600))
        XCTAssertEqual(workload.shares[1].stopHours, 96)
        XCTAssertEqual(workload.jobs.first?.vcpus, 8)
    }

    func testUnknownKeyIsRefusedWithTheKeysThatExist() {
        XCTAssertThrowsError(try parse(#"{"shares": [{"shareIdentifier": "a", "backloged": true}]}"#)) { error in
            let error = error as! SimulationError
            XCTAssertEqual(error.code, .invalidWorkload)
            XCTAssertEqual(error.field, "shares[0].backloged")
            XCTAssertEqual(error.message, "workload: shares[0] has the unknown key \"backloged\"; the keys are arrivalsPerHour, backlogDepth, backlogged, durationSeconds, gpus, memoryMiB, schedulingPriority, shareIdentifier, startHours, stopHours, vcpus.")
        }
    }

    func testJobLargerThanTheComputeEnvironmentIsRefused() {
        XCTAssertThrowsError(try parse(#"{"computeEnvironment": {"vcpus": 4}, "shares": [{"shareIdentifier": "a", "arrivalsPerHour": 1, "vcpus": {"choice": [2, 8]}}]}"#)) { error in
            XCTAssertEqual((error as! SimulationError).message, "workload: share 'a' asks up to 8.0 vCPUs, 16384 MiB and 0 GPUs; the compute environment has 4.0 vCPUs, 16384 MiB and 0 GPUs. Make the jobs smaller or the compute environment larger.")
        }
    }

    func testShareWithoutWorkIsRefused() {
        XCTAssertThrowsError(try parse(#"{"shares": [{"shareIdentifier": "a"}]}"#)) { error in
            XCTAssertEqual((error as! SimulationError).message, "workload: share 'a' has no work; set \"backlogged\": true or \"arrivalsPerHour\" above 0.")
        }
    }

    func testUnknownPolicyNamesTheChoices() async {
        let workload = Workload(days: 1, shares: [ShareWorkload("a", arrivalsPerHour: 1)])
        let simulation = Simulation(workload: workload, policy: PolicyChoice(name: "lottery"), logger: .init(label: "test"))
        do {
            _ = try await simulation.run()
            XCTFail("a policy that does not exist ran")
        } catch {
            XCTAssertEqual(error.code, .policyUnavailable)
            XCTAssertTrue(error.message.hasPrefix("no policy plugin named 'lottery' in "), error.message)
            XCTAssertTrue(error.message.hasSuffix("; use one of fairshare, fifo, quota (built by `swift build`), give --plugins-dir, or give the path of the plugin's .so file."), error.message)
        }
    }
}
