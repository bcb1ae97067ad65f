import Foundation
import XCTest

final class CLITests: XCTestCase {
    func testMalformedConfigurationFailsAtStartWithTheLineAndTheFix() throws {
        let path = NSTemporaryDirectory() + "docket-bad-\(getpid()).yaml"
        try """
            server:
              listen: 127.0.0.1:0
              colour: blue
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerHarness.docketBinary)
        process.arguments = ["server", "--config", path, "--data-dir", NSTemporaryDirectory() + "docket-bad-\(getpid())"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 78)
        XCTAssertEqual(text, "error: \(path):3: unknown key 'colour' in server; the keys allowed there are listen, allow_unauthenticated_remote, allow_remote, access_keys, access_keys_file, data_dir, plugins_dir, region, account_id, default_executor, run_as_user, terminate_grace_seconds, minimum_timeout_seconds, minimum_time_limit_seconds, max_array_size, max_dependencies.\n")
    }

    func testPluginsListShowsTheShippedPlugins() throws {
        let server = try ServerHarness()
        try server.start()
        let list = try server.docket(["plugins", "list"]).stdout
        let rows = list.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        XCTAssertEqual(rows.first?.prefix(5), ["NAME", "KIND", "VERSION", "ABI", "ID"])
        XCTAssertTrue(rows.contains { $0.prefix(5) == ["process", "executor", "1.0.0", "1.1", "docket.executor.process"] }, list)
        XCTAssertTrue(rows.contains { $0.prefix(5) == ["fifo", "policy", "1.0.0", "1.1", "docket.policy.fifo"] }, list)
    }

    func testPluginsCheckRefusesATextFileNamingTheFile() throws {
        let path = NSTemporaryDirectory() + "docket-text-\(getpid()).so"
        try "not a plugin\n".write(toFile: path, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerHarness.docketBinary)
        process.arguments = ["plugins", "check", path]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 1)
        XCTAssertTrue(text.hasPrefix("error: plugin \(path): not a loadable shared object (\(path): file too short)"), text)
    }

    func testPluginsCheckAcceptsTheProcessExecutor() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerHarness.docketBinary)
        process.arguments = ["plugins", "check", ServerHarness.buildDirectory + "/libDocketExecutorProcess.so"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                       "ok: executor 'process' 1.0.0 (docket.executor.process), ABI 1.1\n")
    }

    func testUsageErrorsExit64AndPointToHelp() throws {
        let result = try ServerHarness.runDocket(["submit", "--vcpus", "abc", "--", "true"])
        XCTAssertEqual(result.status, 64)
        XCTAssertEqual(result.stderr, """
            Error: The value 'abc' is invalid for '--vcpus <vcpus>'
            Help:  --vcpus <vcpus>  vCPUs to reserve (overrides the definition).
            Usage: docket submit [--endpoint <endpoint>] [--queue <queue>] [--name <name>] [--definition <definition>] [--vcpus <vcpus>] [--memory <memory>] [--env <env> ...] [--attempts <attempts>] -- [<command> ...]
              See 'docket submit --help' for more information.

            """)
    }

    func testAnUnreachableServerExits69WithTheFix() throws {
        let result = try ServerHarness.runDocket(["jobs", "--endpoint", "http://127.0.0.1:1"])
        XCTAssertEqual(result.status, 69)
        XCTAssertTrue(result.stderr.hasPrefix("error: cannot reach the docket server at http://127.0.0.1:1 ("), result.stderr)
        XCTAssertTrue(result.stderr.hasSuffix("start it with `docket server` or set --endpoint / DOCKET_ENDPOINT.\n"), result.stderr)
    }
}
