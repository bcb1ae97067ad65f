import CDocketPlugin
import Foundation

/// How an attempt ended, as the executor reports it (docket_attempt_exit).
struct ExitReport {
    var outcome: Int32
    var exitCode: Int32 = 0
    var signal: Int32 = 0
    var isOOMKilled = false
    var reason: String?
    var startedAtMillis: Int64 = 0
    var stoppedAtMillis: Int64 = 0

    static func launchFailed(_ reason: String) -> ExitReport { ExitReport(outcome: DOCKET_EXIT_LAUNCH_FAILED, reason: reason) }
    static func lost(_ reason: String) -> ExitReport { ExitReport(outcome: DOCKET_EXIT_LOST, reason: reason) }
}

/// The host's table, callable from any of the executor's threads until the instance is
/// destroyed, and never after: `close` waits for a callback in flight, and every later one is
/// dropped (the ABI forbids callbacks once destroy returns).
final class HostLink: @unchecked Sendable {
    // @unchecked: `api` is host-owned and valid until destroy; `isOpen` is guarded by `lock`.
    private let api: UnsafePointer<docket_host_api>
    private let lock = NSLock()
    private var isOpen = true

    init(_ api: UnsafePointer<docket_host_api>) { self.api = api }

    var isClosed: Bool { lock.withLock { !isOpen } }

    func close() { lock.withLock { isOpen = false } }

    private func withOpen(_ body: (docket_host_api) -> Void) {
        lock.withLock { if isOpen { body(api.pointee) } }
    }

    func log(_ level: Int32, _ message: String) {
        withOpen { table in table.log?(table.ctx, level, message) }
    }

    func setting(_ key: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let status = api.pointee.setting?(api.pointee.ctx, key, &buffer, buffer.count)
        guard status == DOCKET_OK else { return nil }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func running(_ attemptID: String, detail: String) {
        withOpen { table in table.attempt_running?(table.ctx, attemptID, detail) }
    }

    func exited(_ attemptID: String, _ report: ExitReport) {
        withOpen { table in
            var exit = docket_attempt_exit()
            exit.struct_size = UInt32(MemoryLayout<docket_attempt_exit>.size)
            exit.outcome = report.outcome
            exit.exit_code = report.exitCode
            exit.signal = report.signal
            exit.oom_killed = report.isOOMKilled ? 1 : 0
            exit.started_at_ms = report.startedAtMillis
            exit.stopped_at_ms = report.stoppedAtMillis
            if let reason = report.reason {
                // AWS caps attempts[].container.reason at 255 characters.
                let capped = String(reason.utf8.prefix(255)) ?? String(reason.prefix(255))
                capped.withCString { pointer in
                    exit.reason = pointer
                    table.attempt_exited?(table.ctx, attemptID, &exit)
                }
            } else {
                table.attempt_exited?(table.ctx, attemptID, &exit)
            }
        }
    }

    /// Appends the container's output (or, with DOCKET_STREAM_SYSTEM, the executor's own lines).
    func appendLog(_ attemptID: String, stream: Int32, _ bytes: ArraySlice<UInt8>) {
        withOpen { table in
            bytes.withUnsafeBytes { raw in
                table.append_attempt_log?(table.ctx, attemptID, stream, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
            }
        }
    }

    /// One "[docket] ..." line in the attempt's log.
    func note(_ attemptID: String, _ text: String) {
        appendLog(attemptID, stream: DOCKET_STREAM_SYSTEM, ArraySlice(Array("[docket] \(text)\n".utf8)))
    }
}
