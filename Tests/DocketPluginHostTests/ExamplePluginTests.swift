import DocketCore
import DocketPluginHost
import Foundation
import Logging
import Synchronization
import XCTest

/// The C example plugin, built by a bare C compiler from include/ alone, runs a real job.
final class ExamplePluginTests: XCTestCase {
    func testHeadersCompileAloneAsPedanticC99AndAsCPlusPlus() throws {
        let root = FixtureBuilder.repositoryRoot
        let source = NSTemporaryDirectory() + "docket-header-\(getpid())"
        try "#include <docket/plugin.h>\n#include <docket/executor.h>\n#include <docket/policy.h>\nint docket_header_check;\n"
            .write(toFile: source + ".c", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: source + ".c", toPath: source + ".cpp")
        for (compiler, flags, file) in [("cc", ["-std=c99"], source + ".c"), ("c++", ["-std=c++11"], source + ".cpp")] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [compiler] + flags + ["-pedantic", "-Wall", "-Wextra", "-Werror", "-I", root + "/include", "-c", "-o", "/dev/null", file]
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
    }

    func testCExampleExecutorRunsAJobAndStreamsItsOutput() throws {
        let path = try FixtureBuilder.compile("examples/c-executor/inline_executor.c", name: "inline")
        let plugin = try PluginLoader.load(path: path, logger: Logger(label: "test"))
        XCTAssertEqual(plugin.id, "org.example.executor.inline")

        final class Collected: AttemptLogWriter {
            let output = Mutex<String>("")
            func append(attemptID: String, stream: Int32, bytes: UnsafeRawBufferPointer) {
                output.withLock { $0 += String(decoding: bytes, as: UTF8.self) }
            }
        }
        let log = Collected()
        let events = Mutex<[ExecutorEvent]>([])
        let done = expectation(description: "exit reported")
        let instance = try ExecutorInstance(plugin: plugin, name: "example", configJSON: "{\"vcpus\": 3}", settings: [:],
                                            logger: Logger(label: "test"), clock: { 42 }, logWriter: log,
                                            sink: { event in
                                                events.withLock { $0.append(event) }
                                                if case .exited = event { done.fulfill() }
                                            })
        defer { instance.destroy() }
        XCTAssertEqual(try instance.capacity().total.vcpuMillis, 3000)
        let work = NSTemporaryDirectory() + "docket-inline-work-\(getpid())"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let spec = AttemptSpec(attemptID: "job1-1", attemptNumber: 1, jobID: "job1", jobName: "example", jobQueue: "q",
                               computeEnvironment: "example", argv: ["sh", "-c", "echo inline says $GREETING; exit 4"],
                               environment: ["GREETING=hi", "PATH=/usr/bin:/bin"], workDirectory: work,
                               logPath: work + "/unused.log", resources: Resources(vcpuMillis: 1000, memoryMiB: 64))
        if case .failure(let refusal) = instance.start(spec) { XCTFail(refusal.message) }
        wait(for: [done], timeout: 10)
        XCTAssertEqual(log.output.withLock { $0 }, "inline says hi\n")
        let exits = events.withLock { $0 }.compactMap { event -> AttemptExit? in
            if case .exited(let id, let exit, _) = event, id == "job1-1" { return exit }
            return nil
        }
        XCTAssertEqual(exits.first?.outcome, .exitCode)
        XCTAssertEqual(exits.first?.exitCode, 4)
    }
}
