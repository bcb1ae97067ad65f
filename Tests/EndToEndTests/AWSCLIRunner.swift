import Foundation
import XCTest

/// What one run of the real `aws batch` CLI gave: exit status, stdout as JSON, stderr.
struct AWSResult {
    var status: Int32
    var json: [String: Any]
    var stderr: String
}

extension ServerHarness {
    /// Runs the real `aws batch` CLI (awscli from PyPI) against this server with dummy keys
    /// (the server checks none unless configured to). awscli 1.x exits 255 on any error.
    func aws(_ arguments: [String], environment extra: [String: String] = [:]) throws -> AWSResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["aws", "batch", "--endpoint-url", endpoint, "--region", "local", "--output", "json"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["AWS_ACCESS_KEY_ID"] = "docket"
        environment["AWS_SECRET_ACCESS_KEY"] = "docket"
        environment["AWS_PAGER"] = ""
        environment["AWS_EC2_METADATA_DISABLED"] = "true"
        environment.merge(extra) { _, new in new }
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch {
            throw NSError(domain: "aws", code: 1, userInfo: [NSLocalizedDescriptionKey: "the aws CLI is missing: pip install awscli (\(error))"])
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let json = (try? JSONSerialization.jsonObject(with: outData)) as? [String: Any] ?? [:]
        return AWSResult(status: process.terminationStatus, json: json, stderr: String(decoding: errData, as: UTF8.self))
    }
}
