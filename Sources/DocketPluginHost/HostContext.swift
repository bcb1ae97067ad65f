import CDocketPlugin
import DocketCore
import Foundation
import Logging
import Synchronization

/// What an executor instance reports, delivered to the host from plugin threads.
package enum ExecutorEvent: Sendable {
    case running(attemptID: String, detail: String, at: Int64)
    case exited(attemptID: String, exit: AttemptExit, at: Int64)
}

/// docket_attempt_exit in Swift.
package struct AttemptExit: Sendable, Hashable {
    package enum Outcome: Sendable, Hashable { case exitCode, signal, launchFailed, lost }
    package var outcome: Outcome
    package var exitCode: Int32
    package var signal: Int32
    package var isOOMKilled: Bool
    package var reason: String?
    package var startedAt: Int64?
    package var stoppedAt: Int64?

    package init(outcome: Outcome, exitCode: Int32 = 0, signal: Int32 = 0, isOOMKilled: Bool = false,
                 reason: String? = nil, startedAt: Int64? = nil, stoppedAt: Int64? = nil) {
        self.outcome = outcome
        self.exitCode = exitCode
        self.signal = signal
        self.isOOMKilled = isOOMKilled
        self.reason = reason
        self.startedAt = startedAt
        self.stoppedAt = stoppedAt
    }
}

/// Where an instance's reports go, as a reference the Mutex hands out unchanged.
private final class SinkBox: Sendable {
    let deliver: @Sendable (ExecutorEvent) -> Void
    init(_ deliver: @escaping @Sendable (ExecutorEvent) -> Void) { self.deliver = deliver }
}

/// The host side of one instance's docket_host_api: its identity, settings, clock and where
/// its reports go. Passed to C as the table's `ctx` (unretained: the owner keeps it alive
/// until after the instance's destroy).
final class HostContext: @unchecked Sendable {
    // @unchecked: every stored property is immutable except `sink`, which is guarded by a Mutex.
    let pluginName: String
    let instanceName: String
    let settings: [String: String]
    let logger: Logger
    let clock: @Sendable () -> Int64
    /// Boxed: a bare closure kept in a generic Mutex is reabstracted on every `withLock`
    /// access and written back wrapped in one more thunk, so each report walked a chain as long
    /// as the reports before it (found by perf in the array benchmark).
    private let sink: Mutex<SinkBox?>
    private let logWriter: Mutex<AttemptLogWriter?>
    /// A policy's preemption requests (docket.preempt/1), until the scheduler takes them.
    private let preemptions = Mutex<[(key: UInt64, reason: String)]>([])
    /// Whether the instance is a policy (only policies are offered docket.preempt/1).
    fileprivate var isPolicy = false
    private let preemptionLookedUp = Atomic<Bool>(false)
    /// Whether the instance looked up docket.preempt/1.
    var offeredPreemption: Bool { preemptionLookedUp.load(ordering: .relaxed) }
    fileprivate func notePreemptionLookup() { preemptionLookedUp.store(true, ordering: .relaxed) }

    init(pluginName: String, instanceName: String, settings: [String: String], logger: Logger,
         clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) },
         sink: (@Sendable (ExecutorEvent) -> Void)? = nil, logWriter: AttemptLogWriter? = nil) {
        self.pluginName = pluginName
        self.instanceName = instanceName
        self.settings = settings
        self.logger = logger
        self.clock = clock
        self.sink = Mutex(sink.map(SinkBox.init))
        self.logWriter = Mutex(logWriter)
    }

    func deliver(_ event: ExecutorEvent) {
        let target = sink.withLock { $0 }
        target?.deliver(event)
    }

    /// Stops deliveries: after an instance's destroy no report may reach the scheduler.
    func disconnect() { sink.withLock { $0 = nil } }

    fileprivate func requestPreemption(key: UInt64, reason: String) {
        preemptions.withLock { $0.append((key, reason)) }
    }

    /// The preemptions the policy asked for since the last call.
    func takePreemptionRequests() -> [(key: UInt64, reason: String)] {
        preemptions.withLock { requests in
            defer { requests.removeAll() }
            return requests
        }
    }

    func appendLog(attemptID: String, stream: Int32, bytes: UnsafeRawBufferPointer) {
        logWriter.withLock { $0 }?.append(attemptID: attemptID, stream: stream, bytes: bytes)
    }

    /// Builds the C table for this context and calls `body` with it. The table lives only for
    /// the call; `withStableHostAPI` keeps one for an instance's lifetime.
    func withHostAPI<R>(forExecutor: Bool, _ body: (UnsafePointer<docket_host_api>) -> R) -> R {
        var api = makeHostAPI(forExecutor: forExecutor)
        return withUnsafePointer(to: &api) { body($0) }
    }

    /// A heap copy of the table that lives until `release` (an instance keeps `host` until destroy).
    func makeStableHostAPI(forExecutor: Bool) -> UnsafeMutablePointer<docket_host_api> {
        let pointer = UnsafeMutablePointer<docket_host_api>.allocate(capacity: 1)
        pointer.initialize(to: makeHostAPI(forExecutor: forExecutor))
        return pointer
    }

    private func makeHostAPI(forExecutor: Bool) -> docket_host_api {
        var api = docket_host_api()
        api.struct_size = UInt32(MemoryLayout<docket_host_api>.size)
        api.abi_major = HostABI.major
        api.abi_minor = HostABI.minor
        api.ctx = Unmanaged.passUnretained(self).toOpaque()
        isPolicy = !forExecutor
        api.log = hostLog
        api.now_ms = hostNow
        api.setting = hostSetting
        api.get_service = hostGetService
        if forExecutor {
            api.attempt_running = hostAttemptRunning
            api.attempt_exited = hostAttemptExited
            api.append_attempt_log = hostAppendLog
        }
        return api
    }
}

/// Where append_attempt_log output goes: the host maps an attempt id to its log file.
package protocol AttemptLogWriter: Sendable {
    func append(attemptID: String, stream: Int32, bytes: UnsafeRawBufferPointer)
}

// The callbacks are global functions, never closures formed in main/@MainActor code: Swift 6's
// dynamic isolation check traps when a plugin thread calls such a closure
// (shared/reference/swift-plugins-on-linux.md §3).

private func context(_ ctx: UnsafeMutableRawPointer?) -> HostContext {
    Unmanaged<HostContext>.fromOpaque(ctx!).takeUnretainedValue()
}

private func hostLog(_ ctx: UnsafeMutableRawPointer?, _ level: Int32, _ message: UnsafePointer<CChar>?) {
    let host = context(ctx)
    let text = message.map { String(cString: $0) } ?? ""
    let swiftLevel: Logger.Level = switch level {
    case ..<DOCKET_LOG_INFO: .debug
    case ..<DOCKET_LOG_WARNING: .info
    case ..<DOCKET_LOG_ERROR: .warning
    default: .error
    }
    host.logger.log(level: swiftLevel, "\(text)", metadata: ["plugin": "\(host.pluginName)", "instance": "\(host.instanceName)"])
}

private func hostNow(_ ctx: UnsafeMutableRawPointer?) -> Int64 { context(ctx).clock() }

private func hostSetting(_ ctx: UnsafeMutableRawPointer?, _ key: UnsafePointer<CChar>?, _ buffer: UnsafeMutablePointer<CChar>?,
                         _ size: Int) -> docket_status {
    guard let key else { return DOCKET_E_INVALID_ARGUMENT }
    guard let value = context(ctx).settings[String(cString: key)] else { return DOCKET_E_NOT_FOUND }
    let bytes = Array(value.utf8)
    guard let buffer, bytes.count + 1 <= size else { return DOCKET_E_BUFFER_TOO_SMALL }
    bytes.withUnsafeBufferPointer { source in
        UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress!, byteCount: bytes.count)
    }
    buffer[bytes.count] = 0
    return DOCKET_OK
}

/// The services this host offers: docket.preempt/1 to policies (policy.h).
private func hostGetService(_ ctx: UnsafeMutableRawPointer?, _ id: UnsafePointer<CChar>?) -> UnsafeRawPointer? {
    guard let id, context(ctx).isPolicy, String(cString: id) == DOCKET_SERVICE_PREEMPT_V1 else { return nil }
    context(ctx).notePreemptionLookup()
    return UnsafeRawPointer(preemptService)
}

/// Static and never freed: policies may keep the pointer until their destroy.
nonisolated(unsafe) private let preemptService: UnsafeMutablePointer<docket_preempt_service_v1> = {
    let pointer = UnsafeMutablePointer<docket_preempt_service_v1>.allocate(capacity: 1)
    var service = docket_preempt_service_v1()
    service.struct_size = UInt32(MemoryLayout<docket_preempt_service_v1>.size)
    service.request_preemption = { ctx, key, reason in
        guard ctx != nil else { return DOCKET_E_INVALID_ARGUMENT }
        context(ctx).requestPreemption(key: key, reason: reason.map { String(cString: $0) } ?? "the policy asked for it")
        return DOCKET_OK
    }
    pointer.initialize(to: service)
    return pointer
}()

private func hostAttemptRunning(_ ctx: UnsafeMutableRawPointer?, _ attemptID: UnsafePointer<CChar>?, _ detail: UnsafePointer<CChar>?) {
    guard let attemptID else { return }
    let host = context(ctx)
    host.deliver(.running(attemptID: String(cString: attemptID), detail: detail.map { String(cString: $0) } ?? "",
                          at: host.clock()))
}

private func hostAttemptExited(_ ctx: UnsafeMutableRawPointer?, _ attemptID: UnsafePointer<CChar>?,
                               _ info: UnsafePointer<docket_attempt_exit>?) {
    guard let attemptID else { return }
    let host = context(ctx)
    var exit = AttemptExit(outcome: .lost, reason: "the executor reported an exit without details")
    if let info, case .success(let value) = HostABI.readVersioned(UnsafeRawPointer(info), as: docket_attempt_exit.self,
                                                                  minimumSize: 8, name: "attempt exit") {
        let outcome: AttemptExit.Outcome = switch value.outcome {
        case DOCKET_EXIT_CODE: .exitCode
        case DOCKET_EXIT_SIGNAL: .signal
        case DOCKET_EXIT_LAUNCH_FAILED: .launchFailed
        default: .lost
        }
        let reason = value.reason.map { String(cString: $0) }
        exit = AttemptExit(outcome: outcome, exitCode: value.exit_code, signal: value.signal, isOOMKilled: value.oom_killed != 0,
                           reason: reason?.isEmpty == true ? nil : reason,
                           startedAt: value.started_at_ms > 0 ? value.started_at_ms : nil,
                           stoppedAt: value.stopped_at_ms > 0 ? value.stopped_at_ms : nil)
    }
    host.deliver(.exited(attemptID: String(cString: attemptID), exit: exit, at: host.clock()))
}

private func hostAppendLog(_ ctx: UnsafeMutableRawPointer?, _ attemptID: UnsafePointer<CChar>?, _ stream: Int32,
                           _ data: UnsafePointer<CChar>?, _ length: Int) {
    guard let attemptID, let data else { return }
    context(ctx).appendLog(attemptID: String(cString: attemptID), stream: stream,
                           bytes: UnsafeRawBufferPointer(start: data, count: length))
}
