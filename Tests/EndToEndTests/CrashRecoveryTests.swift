import Foundation
import XCTest

/// kill -9 the daemon while jobs run and queue; a restart finds every job accounted for.
final class CrashRecoveryTests: XCTestCase {
    func testJobsSurviveSIGKILLOfTheServer() throws {
        let config = """
            compute_environments:
              - name: default
                executor: process
                settings: { vcpus: 2, memory_mib: 4096 }
            """
        let server = try ServerHarness(config: config)
        try server.start()
        let marker = server.dataDirectory + "/ran"
        try FileManager.default.createDirectory(atPath: marker, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: marker)
        // Two 3-second jobs take both vCPUs; three more queue behind them. Each job leaves a
        // file per run, so a job that ran twice would show.
        var ids: [String] = []
        for index in 0..<5 {
            let seconds = index < 2 ? 3 : 0
            ids.append(try server.submit(["--name", "job\(index)", "--",
                                          "sh", "-c", "sleep \(seconds); mktemp \(marker)/job\(index).XXXXXX >/dev/null"]))
        }
        _ = try server.waitForStatus(ids[0], ["RUNNING"])
        _ = try server.waitForStatus(ids[1], ["RUNNING"])
        XCTAssertEqual(try server.describe(ids[4])["status"] as? String, "RUNNABLE")

        server.stop(signal: SIGKILL)
        try server.start()

        for id in ids {
            let job = try server.waitForStatus(id, ["SUCCEEDED", "FAILED"], timeout: 30)
            XCTAssertEqual(job["status"] as? String, "SUCCEEDED", "\(id): \(job["statusReason"] ?? "")")
            XCTAssertEqual((job["attempts"] as? [Any])?.count, 1, "\(id) was re-adopted, not run again")
        }
        let runs = try FileManager.default.contentsOfDirectory(atPath: marker).map { String($0.prefix(4)) }.sorted()
        XCTAssertEqual(runs, ["job0", "job1", "job2", "job3", "job4"], "every job ran exactly once")
    }
}
