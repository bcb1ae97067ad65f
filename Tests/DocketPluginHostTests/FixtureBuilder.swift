import Foundation
import XCTest

/// Builds test plugins with the system C compiler against the repository's include/ only, the
/// way a third party would, and finds the plugins `swift build` leaves beside the test binary.
enum FixtureBuilder {
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// The directory holding the test binary and the built plugin .so files.
    static var buildDirectory: String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var url = URL(fileURLWithPath: executable).deletingLastPathComponent()
        // xctest bundles run from <bin>/<name>.xctest; the plugins sit in <bin>.
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("libDocketPolicyFIFO.so").path), url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url.path
    }

    static func builtPlugin(_ product: String) throws -> String {
        let path = buildDirectory + "/lib\(product).so"
        guard FileManager.default.fileExists(atPath: path) else {
            throw NSError(domain: "fixture", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(path) is missing: `swift build` (or `swift test`, which builds every product) must run first"])
        }
        return path
    }

    /// Compiles `source` (relative to the repository) into a shared object with `defines`.
    static func compile(_ source: String, defines: [String] = [], name: String) throws -> String {
        let output = NSTemporaryDirectory() + "docket-fixture-\(name)-\(getpid()).so"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["cc", "-std=c11", "-shared", "-fPIC", "-fvisibility=hidden", "-Wall", "-Werror",
                             "-I", repositoryRoot + "/include", "-o", output, repositoryRoot + "/" + source]
            + defines.map { "-D" + $0 }
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw NSError(domain: "cc", code: Int(process.terminationStatus), userInfo: [NSLocalizedDescriptionKey: "cc failed for \(source): \(text)"])
        }
        return output
    }
}
