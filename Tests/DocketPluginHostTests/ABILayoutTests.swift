import CDocketPlugin
import XCTest

/// Freezes the ABI 1.1 layout (LP64): a field that moves breaks every plugin built before, so
/// a change here must be a new major version, never an edit of these numbers.
final class ABILayoutTests: XCTestCase {
    func testDescriptorLayoutIsFrozen() {
        XCTAssertEqual(MemoryLayout<docket_plugin_descriptor>.offset(of: \.struct_size), 0)
        XCTAssertEqual(MemoryLayout<docket_plugin_descriptor>.offset(of: \.abi_major), 4)
        XCTAssertEqual(MemoryLayout<docket_plugin_descriptor>.offset(of: \.abi_minor), 8)
        XCTAssertEqual(MemoryLayout<docket_plugin_descriptor>.offset(of: \.kind), 12)
        XCTAssertEqual(MemoryLayout<docket_plugin_descriptor>.offset(of: \.id), 16)
        XCTAssertEqual(MemoryLayout<docket_plugin_descriptor>.offset(of: \.on_load), 48)
        XCTAssertEqual(MemoryLayout<docket_plugin_descriptor>.offset(of: \.executor), 56)
        XCTAssertEqual(MemoryLayout<docket_plugin_descriptor>.offset(of: \.policy), 64)
        XCTAssertEqual(MemoryLayout<docket_plugin_descriptor>.size, 72)
    }

    func testHostTableLayoutIsFrozen() {
        XCTAssertEqual(MemoryLayout<docket_host_api>.offset(of: \.ctx), 16)
        XCTAssertEqual(MemoryLayout<docket_host_api>.offset(of: \.log), 24)
        XCTAssertEqual(MemoryLayout<docket_host_api>.offset(of: \.now_ms), 32)
        XCTAssertEqual(MemoryLayout<docket_host_api>.offset(of: \.setting), 40)
        XCTAssertEqual(MemoryLayout<docket_host_api>.offset(of: \.get_service), 48)
        XCTAssertEqual(MemoryLayout<docket_host_api>.offset(of: \.attempt_running), 56)
        XCTAssertEqual(MemoryLayout<docket_host_api>.offset(of: \.attempt_exited), 64)
        XCTAssertEqual(MemoryLayout<docket_host_api>.offset(of: \.append_attempt_log), 72)
        XCTAssertEqual(MemoryLayout<docket_host_api>.size, 80)
    }

    func testExecutorStructLayoutsAreFrozen() {
        XCTAssertEqual(MemoryLayout<docket_executor_v1>.offset(of: \.create), 8)
        XCTAssertEqual(MemoryLayout<docket_executor_v1>.offset(of: \.start), 32)
        XCTAssertEqual(MemoryLayout<docket_executor_v1>.offset(of: \.list_running), 56)
        XCTAssertEqual(MemoryLayout<docket_executor_v1>.offset(of: \.get_capability), 64)
        XCTAssertEqual(MemoryLayout<docket_executor_v1>.size, 72)
        XCTAssertEqual(MemoryLayout<docket_executor_capacity>.offset(of: \.vcpu_millis), 8)
        XCTAssertEqual(MemoryLayout<docket_executor_capacity>.offset(of: \.devices), 40)
        XCTAssertEqual(MemoryLayout<docket_executor_capacity>.offset(of: \.notice), 56, "appended in 1.1")
        XCTAssertEqual(MemoryLayout<docket_executor_capacity>.size, 64)
        XCTAssertEqual(MemoryLayout<docket_attempt_spec>.offset(of: \.attempt_id), 8)
        XCTAssertEqual(MemoryLayout<docket_attempt_spec>.offset(of: \.argv), 48)
        XCTAssertEqual(MemoryLayout<docket_attempt_spec>.offset(of: \.env), 64)
        XCTAssertEqual(MemoryLayout<docket_attempt_spec>.offset(of: \.vcpu_millis), 88)
        XCTAssertEqual(MemoryLayout<docket_attempt_spec>.offset(of: \.container_properties_json), 144)
        XCTAssertEqual(MemoryLayout<docket_attempt_spec>.size, 152)
        XCTAssertEqual(MemoryLayout<docket_attempt_exit>.offset(of: \.reason), 24)
        XCTAssertEqual(MemoryLayout<docket_attempt_exit>.size, 48)
    }

    func testPolicyStructLayoutsAreFrozen() {
        XCTAssertEqual(MemoryLayout<docket_policy_v1>.offset(of: \.pick), 56)
        XCTAssertEqual(MemoryLayout<docket_policy_v1>.size, 72)
        XCTAssertEqual(MemoryLayout<docket_policy_job>.offset(of: \.job_key), 8)
        XCTAssertEqual(MemoryLayout<docket_policy_job>.offset(of: \.share_key), 72)
        XCTAssertEqual(MemoryLayout<docket_policy_job>.size, 88)
        XCTAssertEqual(MemoryLayout<docket_policy_usage>.size, 48)
        XCTAssertEqual(MemoryLayout<docket_policy_free>.size, 32)
    }
}
