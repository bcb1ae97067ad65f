import DocketCore
@testable import DocketSimulator
import Foundation
import XCTest

/// `docket simulate`, run as the built binary.
final class SimulateCommandTests: XCTestCase {
    func docket(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let directory = try directoryHolding("docket")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: directory + "/docket")
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    func workloadFile(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "docket-simulate-\(UUID().uuidString).json"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testJSONReportCountsEveryTracedJob() throws {
        let path = try workloadFile("""
            {"days": 1, "computeEnvironment": {"vcpus": 4},
             "jobs": [{"atSeconds": 0, "shareIdentifier": "a", "vcpus": 4, "durationSeconds": 600},
                      {"atSeconds": 60, "shareIdentifier": "b", "vcpus": 1, "durationSeconds": 300}]}
            """)
        let result = try docket(["simulate", "--workload", path, "--policy", "fifo", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try JSONParser.parse(Array(result.stdout.utf8))
        XCTAssertEqual(report["jobsSubmitted"]?.intValue, 2)
        XCTAssertEqual(report["jobsFinished"]?.intValue, 2)
        XCTAssertEqual(report["shares"]?.arrayValue?.compactMap { $0["shareIdentifier"]?.stringValue }, ["a", "b"])
        XCTAssertEqual(report["shares"]?.arrayValue?.last?["maxWaitSeconds"]?.doubleValue, 540)
    }

    func testPolicySettingsThatAreNotAnObjectAreAUsageError() throws {
        let path = try workloadFile(#"{"shares": [{"shareIdentifier": "a", "arrivalsPerHour": 1}]}"#)
        let result = try docket(["simulate", "--workload", path, "--policy-settings", "[1]"])
        XCTAssertEqual(result.status, 64)
        XCTAssertEqual(result.stdout, "")
        XCTAssertEqual(result.stderr, "error: --policy-settings is not a JSON object; give e.g. '{\"shareDecaySeconds\": 3600}'. See --help.\n")
    }

    func testInvalidWorkloadNamesTheFileAndTheField() throws {
        let path = try workloadFile(#"{"shares": [{"shareIdentifier": "a", "arrivalsPerHour": 1, "vcpus": 0}]}"#)
        let result = try docket(["simulate", "--workload", path])
        XCTAssertEqual(result.status, 65)
        XCTAssertEqual(result.stderr, "error: \(path): workload: shares[0].vcpus is 0; give a number above 0, {\"uniform\": [low, high]} with 0 < low <= high, {\"exponential\": mean} or {\"choice\": [values above 0]}.\n")
    }
}
