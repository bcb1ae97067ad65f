import CDocketPlugin
import Synchronization

/// How an attempt ended, as the executor reports it (docket_attempt_exit).
public struct ExitReport {
    public var outcome: Int32
    public var exitCode: Int32 = 0
    public var signal: Int32 = 0
    public var isOOMKilled = false
    public var reason: String?
    public var startedAtMillis: Int64 = 0
    public var stoppedAtMillis: Int64 = 0

    public init(outcome: Int32, exitCode: Int32 = 0, signal: Int32 = 0, isOOMKilled: Bool = false, reason: String? = nil,
                startedAtMillis: Int64 = 0, stoppedAtMillis: Int64 = 0) {
        self.outcome = outcome
        self.exitCode = exitCode
        self.signal = signal
        self.isOOMKilled = isOOMKilled
        self.reason = reason
        self.startedAtMillis = startedAtMillis
        self.stoppedAtMillis = stoppedAtMillis
    }

    public static func launchFailed(_ reason: String) -> ExitReport { ExitReport(outcome: DOCKET_EXIT_LAUNCH_FAILED, reason: reason) }
    public static func lost(_ reason: String) -> ExitReport { ExitReport(outcome: DOCKET_EXIT_LOST, reason: reason) }
}

/// The host's table, callable from any of the executor's threads until the instance is
/// destroyed, and never after: `close` waits for a callback in flight, and every later one is
/// dropped (the ABI forbids callbacks once destroy returns).
public final class HostLink: @unchecked Sendable {
    // @unchecked: `api` is host-owned and valid until destroy.
    private let api: UnsafePointer<docket_host_api>
    private let isOpen = Mutex(true)

    public init(_ api: UnsafePointer<docket_host_api>) { self.api = api }

    public var isClosed: Bool { isOpen.withLock { !$0 } }

    public func close() { isOpen.withLock { $0 = false } }

    private func withOpen(_ body: (docket_host_api) -> Void) {
        isOpen.withLock { open in if open { body(api.pointee) } }
    }

    public func log(_ level: Int32, _ message: String) {
        withOpen { table in table.log?(table.ctx, level, message) }
    }

    public func setting(_ key: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let status = api.pointee.setting?(api.pointee.ctx, key, &buffer, buffer.count)
        guard status == DOCKET_OK else { return nil }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func running(_ attemptID: String, detail: String) {
        withOpen { table in table.attempt_running?(table.ctx, attemptID, detail) }
    }

    public func exited(_ attemptID: String, _ report: ExitReport) {
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
    public func appendLog(_ attemptID: String, stream: Int32, _ bytes: ArraySlice<UInt8>) {
        withOpen { table in
            bytes.withUnsafeBytes { raw in
                table.append_attempt_log?(table.ctx, attemptID, stream, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
            }
        }
    }

    /// Passes on, unchanged, an exit that an executor this one drives reported (the GPU
    /// executor's runners).
    public func forwardExit(_ attemptID: UnsafePointer<CChar>, _ exit: UnsafePointer<docket_attempt_exit>) {
        withOpen { table in table.attempt_exited?(table.ctx, attemptID, exit) }
    }

    /// Passes on, unchanged, output that an executor this one drives streamed.
    public func forwardLog(_ attemptID: UnsafePointer<CChar>, stream: Int32, _ data: UnsafePointer<CChar>?, _ length: Int) {
        withOpen { table in table.append_attempt_log?(table.ctx, attemptID, stream, data, length) }
    }

    /// The host's clock in epoch milliseconds.
    public func nowMillis() -> Int64 { api.pointee.now_ms?(api.pointee.ctx) ?? 0 }

    /// The host's optional service `id`, or nil.
    public func service(_ id: UnsafePointer<CChar>) -> UnsafeRawPointer? {
        api.pointee.get_service?(api.pointee.ctx, id)
    }

    /// One "[docket] ..." line in the attempt's log.
    public func note(_ attemptID: String, _ text: String) {
        appendLog(attemptID, stream: DOCKET_STREAM_SYSTEM, ArraySlice(Array("[docket] \(text)\n".utf8)))
    }
}
