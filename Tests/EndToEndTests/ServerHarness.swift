import Foundation
import XCTest

/// A real `docket server` process on a free loopback port with its own data directory, and the
/// real `docket` CLI pointed at it. Both are the binaries `swift build` left beside the tests.
final class ServerHarness {
    let dataDirectory: String
    let configPath: String?
    private(set) var process: Process?
    private(set) var endpoint = ""
    private var output = Pipe()

    static var buildDirectory: String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var url = URL(fileURLWithPath: executable).deletingLastPathComponent()
        while !FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("docket").path), url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url.path
    }

    static var docketBinary: String { buildDirectory + "/docket" }

    init(config: String? = nil, dataDirectory: String? = nil) throws {
        self.dataDirectory = dataDirectory ?? NSTemporaryDirectory() + "docket-e2e-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: self.dataDirectory, withIntermediateDirectories: true)
        if let config {
            configPath = self.dataDirectory + ".yaml"
            try config.write(toFile: configPath!, atomically: true, encoding: .utf8)
        } else {
            configPath = nil
        }
    }

    /// Starts the server and waits for its ready line.
    func start(file: StaticString = #filePath, line: UInt = #line) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.docketBinary) else {
            throw NSError(domain: "e2e", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(Self.docketBinary) is missing; run `swift build` first"])
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.docketBinary)
        var arguments = ["server", "--data-dir", dataDirectory, "--listen", "127.0.0.1:0"]
        if let configPath { arguments += ["--config", configPath] }
        process.arguments = arguments
        // The conformance report counts the operations every test server answered.
        if let directory = ProcessInfo.processInfo.environment["DOCKET_OPERATION_LOG_DIR"], !directory.isEmpty {
            var environment = ProcessInfo.processInfo.environment
            environment["DOCKET_OPERATION_LOG"] = "\(directory)/swift-\(UUID().uuidString).tsv"
            process.environment = environment
        }
        output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        if ProcessInfo.processInfo.environment["DOCKET_TEST_SERVER_LOG"] != nil { process.standardError = FileHandle.standardError }
        try process.run()
        self.process = process
        let handle = output.fileHandleForReading
        var buffer = Data()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            let text = String(decoding: buffer, as: UTF8.self)
            if let range = text.range(of: "ready on "), let end = text[range.upperBound...].firstIndex(of: " ") {
                endpoint = String(text[range.upperBound..<end])
                return
            }
        }
        throw NSError(domain: "e2e", code: 2, userInfo: [NSLocalizedDescriptionKey: "docket server printed no ready line: \(String(decoding: buffer, as: UTF8.self))"])
    }

    /// Stops the server with `signal` (SIGTERM for a clean stop, SIGKILL for a crash) and waits.
    func stop(signal: Int32 = SIGTERM) {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
    }

    deinit { stop(signal: SIGKILL) }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs the real CLI against this server.
    @discardableResult
    func docket(_ arguments: [String]) throws -> Result {
        try Self.runDocket(arguments, endpoint: endpoint)
    }

    /// Runs the real CLI, with DOCKET_ENDPOINT set when `endpoint` is given, in this process's
    /// environment or exactly `environment` when given.
    static func runDocket(_ arguments: [String], endpoint: String? = nil, environment exact: [String: String]? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: docketBinary)
        process.arguments = arguments
        var environment = exact ?? ProcessInfo.processInfo.environment
        if endpoint != nil || exact == nil { environment["DOCKET_ENDPOINT"] = endpoint }
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// `docket submit ...` and the job id it printed.
    func submit(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try docket(["submit"] + arguments)
        XCTAssertEqual(result.status, 0, "submit failed: \(result.stderr)", file: file, line: line)
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// DescribeJobs' JSON for one job, through `docket describe --json`.
    func describe(_ jobID: String) throws -> [String: Any] {
        let result = try docket(["describe", jobID, "--json"])
        guard result.status == 0, let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw NSError(domain: "e2e", code: 3, userInfo: [NSLocalizedDescriptionKey: "describe \(jobID) failed: \(result.stderr)"])
        }
        return object
    }

    /// Polls until the job has `status` (or any terminal status when nil), up to `timeout` seconds.
    func waitForStatus(_ jobID: String, _ wanted: Set<String>, timeout: TimeInterval = 30) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String: Any] = [:]
        while Date() < deadline {
            last = try describe(jobID)
            if let status = last["status"] as? String, wanted.contains(status) { return last }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw NSError(domain: "e2e", code: 4, userInfo: [NSLocalizedDescriptionKey: "job \(jobID) did not reach \(wanted) in \(timeout)s; last: \(last["status"] ?? "?") \(last["statusReason"] ?? "")"])
    }
}

/// Whether a process with this pid exists (and is not a zombie).
func processIsAlive(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    let status = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    return !status.contains(") Z ")
}

/// Skips a test whose precondition this machine lacks (root, writable cgroups), except on CI
/// (CI=true), where the machine is known to have it: there a missing precondition fails the test.
func requireOutsideCI(_ condition: Bool, _ reason: String) throws {
    guard !condition else { return }
    if ProcessInfo.processInfo.environment["CI"] == "true" {
        throw NSError(domain: "e2e", code: 5, userInfo: [NSLocalizedDescriptionKey: "CI=true, but the machine lacks this test's precondition: \(reason)"])
    }
    throw XCTSkip(reason)
}
