import DocketPluginHost
import Foundation
import Logging
import XCTest

final class PluginLoaderTests: XCTestCase {
    let logger = Logger(label: "test")

    private func refusal(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> PluginError? {
        do {
            _ = try PluginLoader.load(path: path, logger: logger)
            XCTFail("\(path) loaded but should have been refused", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    func testTextFileIsRefusedAsNotASharedObject() throws {
        let path = NSTemporaryDirectory() + "docket-not-a-plugin-\(getpid()).so"
        try "this is not an ELF file, just text that happens to end in .so\n".write(toFile: path, atomically: true, encoding: .utf8)
        let error = try XCTUnwrap(refusal(path))
        XCTAssertEqual(error.code, .notLoadable)
        XCTAssertEqual(error.path, path)
        XCTAssertTrue(error.reason.hasPrefix("not a loadable shared object (\(path): "), error.reason)
        XCTAssertTrue(error.reason.hasSuffix("build it with -shared -fPIC against include/docket."), error.reason)
    }

    func testSharedObjectWithoutEntrySymbolIsRefused() throws {
        let path = try FixtureBuilder.compile("Tests/DocketPluginHostTests/Fixtures/configurable.c", defines: ["FIXTURE_NO_ENTRY"], name: "noentry")
        let error = try XCTUnwrap(refusal(path))
        XCTAssertEqual(error.code, .missingEntry)
        XCTAssertEqual(error.reason, "it does not export docket_plugin_entry_v1; a Docket plugin must define `const docket_plugin_descriptor *docket_plugin_entry_v1(void)` with default visibility.")
    }

    func testOtherABIMajorIsRefusedWithBothVersions() throws {
        let path = try FixtureBuilder.compile("Tests/DocketPluginHostTests/Fixtures/configurable.c", defines: ["FIXTURE_MAJOR=2"], name: "major2")
        let error = try XCTUnwrap(refusal(path))
        XCTAssertEqual(error.code, .abiMismatch)
        XCTAssertEqual(error.reason, "built for plugin ABI 2.1; this docket provides ABI 1.1. Rebuild the plugin against this docket's include/docket headers.")
    }

    func testNewerABIMinorIsRefusedWithTheFix() throws {
        let path = try FixtureBuilder.compile("Tests/DocketPluginHostTests/Fixtures/configurable.c", defines: ["FIXTURE_MINOR=3"], name: "minor3")
        let error = try XCTUnwrap(refusal(path))
        XCTAssertEqual(error.code, .abiMismatch)
        XCTAssertEqual(error.reason, "needs plugin ABI 1.3; this docket provides 1.1. Upgrade docket or rebuild the plugin against 1.1.")
    }

    func testShortDescriptorIsRefused() throws {
        let path = try FixtureBuilder.compile("Tests/DocketPluginHostTests/Fixtures/configurable.c", defines: ["FIXTURE_SHORT"], name: "short")
        let error = try XCTUnwrap(refusal(path))
        XCTAssertEqual(error.code, .badStruct)
        XCTAssertTrue(error.reason.hasPrefix("its descriptor declares struct_size 16, smaller than the"), error.reason)
    }

    func testLongerDescriptorWithUnknownNonZeroTailIsRefused() throws {
        let path = try FixtureBuilder.compile("Tests/DocketPluginHostTests/Fixtures/configurable.c", defines: ["FIXTURE_LONG_TAIL"], name: "longtail")
        let error = try XCTUnwrap(refusal(path))
        XCTAssertEqual(error.code, .badStruct)
        XCTAssertTrue(error.reason.contains("with fields this docket (ABI 1.1"), error.reason)
    }

    func testMissingRequiredFunctionIsRefused() throws {
        let path = try FixtureBuilder.compile("Tests/DocketPluginHostTests/Fixtures/configurable.c", defines: ["FIXTURE_NO_START"], name: "nostart")
        let error = try XCTUnwrap(refusal(path))
        XCTAssertEqual(error.code, .badDescriptor)
        XCTAssertEqual(error.reason, "its executor table lacks the required function(s) start; every function not marked optional in executor.h must be set.")
    }

    func testFailingInitIsRefusedWithThePluginsMessage() throws {
        let path = try FixtureBuilder.compile("Tests/DocketPluginHostTests/Fixtures/configurable.c", defines: ["FIXTURE_FAIL_LOAD"], name: "failload")
        let error = try XCTUnwrap(refusal(path))
        XCTAssertEqual(error.code, .loadFailed)
        XCTAssertEqual(error.reason, "plugin init (on_load) failed with DOCKET_E_INVALID_CONFIG: license file /etc/fixture.lic is missing; install it")
    }

    func testDescriptorIsReadWithoutRunningInit() throws {
        let path = try FixtureBuilder.compile("Tests/DocketPluginHostTests/Fixtures/configurable.c", defines: ["FIXTURE_FAIL_LOAD"], name: "failload2")
        let plugin = try PluginLoader.load(path: path, runOnLoad: false, logger: logger)
        XCTAssertEqual(plugin.name, "fixture")
        XCTAssertEqual(plugin.kind, .executor)
        XCTAssertEqual(plugin.version, "0.0.1")
        XCTAssertEqual(plugin.abiVersion, "1.1")
    }

    func testShippedPluginsLoadWithTheirDescriptors() throws {
        let process = try PluginLoader.load(path: FixtureBuilder.builtPlugin("DocketExecutorProcess"), logger: logger)
        XCTAssertEqual(process.id, "docket.executor.process")
        XCTAssertEqual(process.name, "process")
        XCTAssertEqual(process.kind, .executor)
        let fifo = try PluginLoader.load(path: FixtureBuilder.builtPlugin("DocketPolicyFIFO"), logger: logger)
        XCTAssertEqual(fifo.id, "docket.policy.fifo")
        XCTAssertEqual(fifo.name, "fifo")
        XCTAssertEqual(fifo.kind, .policy)
        XCTAssertEqual(fifo.abiVersion, "1.1")
    }
}
