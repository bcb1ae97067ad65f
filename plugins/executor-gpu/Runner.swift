import CDocketPlugin
import DocketSwiftPluginSupport
import Foundation

/// Where a runner's reports go: the GPU executor releases an attempt's GPUs at its exit and
/// adds them to its RUNNING detail before passing either on to the host.
protocol RunnerReports: AnyObject, Sendable {
    func attemptRunning(_ attemptID: String, detail: String)
    func attemptExited(_ attemptID: UnsafePointer<CChar>, _ exit: UnsafePointer<docket_attempt_exit>)
}

/// One executor the GPU executor runs attempts through (Docket's process or Docker executor),
/// loaded from its plugin file through the same C ABI the host uses, with the GPU executor as
/// its host: logs, settings and streamed output pass through to the real host; its state
/// directory is a subdirectory of the GPU executor's own.
final class Runner: @unchecked Sendable {
    // @unchecked: `instance` is set once in init; the inner plugin's calls follow its own
    // thread tags, which the GPU executor's callers already honour.
    let name: String
    private let table: docket_executor_v1
    private var instance: UnsafeMutableRawPointer?
    private let hostAPI: UnsafeMutablePointer<docket_host_api>
    private let context: RunnerContext

    /// Loads `pluginPath` and creates an instance of it.
    /// - Throws: a message naming the runner, the file and what it said.
    init(name: String, pluginPath: String, settings: [String: Any], host: HostLink, stateDirectory: String,
         reports: RunnerReports) throws(SettingsError) {
        self.name = name
        guard let handle = dlopen(pluginPath, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            let why = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw SettingsError("gpu executor: cannot load the \(name) runner's plugin \(pluginPath): \(why); set plugin_dir to the directory holding libDocketExecutorProcess.so and libDocketExecutorDocker.so.")
        }
        typealias Entry = @convention(c) () -> UnsafePointer<docket_plugin_descriptor>?
        guard let symbol = dlsym(handle, DOCKET_PLUGIN_ENTRY_V1_SYMBOL),
              let descriptor = unsafeBitCast(symbol, to: Entry.self)()?.pointee,
              descriptor.abi_major == UInt32(DOCKET_ABI_MAJOR), descriptor.kind == DOCKET_PLUGIN_KIND_EXECUTOR,
              let executor = descriptor.executor?.pointee else {
            throw SettingsError("gpu executor: \(pluginPath) is not a Docket executor plugin of ABI \(DOCKET_ABI_MAJOR).x; set plugin_dir to Docket's plugin directory.")
        }
        table = executor
        try? FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        context = RunnerContext(name: name, host: host, stateDirectory: stateDirectory, reports: reports)
        hostAPI = context.makeHostAPI()
        let json = (try? JSONSerialization.data(withJSONObject: settings)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        var created: UnsafeMutableRawPointer?
        var error = [CChar](repeating: 0, count: 1024)
        let status = table.create(UnsafePointer(hostAPI), json, &created, &error, error.count)
        guard status == DOCKET_OK, let created else {
            hostAPI.deallocate()
            let message = error.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw SettingsError("gpu executor: the \(name) runner refused its settings (process.* or docker.* keys): \(message)")
        }
        instance = created
    }

    /// The runner's capacity report, as the host would read it.
    func capacity() -> (report: docket_executor_capacity, reason: String?) {
        var out = docket_executor_capacity()
        out.struct_size = UInt32(MemoryLayout<docket_executor_capacity>.size)
        var error = [CChar](repeating: 0, count: 1024)
        let status = table.capacity(instance, &out, &error, error.count)
        guard status == DOCKET_OK else {
            out.healthy = 0
            return (out, "the \(name) runner's capacity failed: " + error.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        return (out, out.health_reason.map { String(cString: $0) })
    }

    func start(_ spec: UnsafePointer<docket_attempt_spec>) -> (docket_status, String)? {
        var error = [CChar](repeating: 0, count: 1024)
        let status = table.start(instance, spec, &error, error.count)
        guard status != DOCKET_OK else { return nil }
        return (status, error.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }

    func signal(_ attemptID: String, _ signal: Int32) -> (docket_status, String)? {
        var error = [CChar](repeating: 0, count: 1024)
        let status = table.signal(instance, attemptID, signal, &error, error.count)
        return status == DOCKET_OK ? nil : (status, error.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }

    func terminate(_ attemptID: String, graceMillis: Int64) -> (docket_status, String)? {
        var error = [CChar](repeating: 0, count: 1024)
        let status = table.terminate(instance, attemptID, graceMillis, &error, error.count)
        return status == DOCKET_OK ? nil : (status, error.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }

    func listRunning() -> [String] {
        final class Collector { var ids: [String] = [] }
        let collector = Collector()
        var error = [CChar](repeating: 0, count: 1024)
        _ = table.list_running(instance, { context, attemptID in
            guard let context, let attemptID else { return }
            Unmanaged<Collector>.fromOpaque(context).takeUnretainedValue().ids.append(String(cString: attemptID))
        }, Unmanaged.passUnretained(collector).toOpaque(), &error, error.count)
        return collector.ids
    }

    /// Destroys the inner instance; its attempts keep running for the next server.
    func destroy() {
        guard let instance else { return }
        table.destroy(instance)
        self.instance = nil
        hostAPI.deallocate()
    }
}

/// The host table a runner's instance is given, and what each entry does.
private final class RunnerContext: @unchecked Sendable {
    // @unchecked: immutable after init; HostLink and the reports are thread-safe.
    let name: String
    let host: HostLink
    let stateDirectory: String
    let reports: RunnerReports

    init(name: String, host: HostLink, stateDirectory: String, reports: RunnerReports) {
        self.name = name
        self.host = host
        self.stateDirectory = stateDirectory
        self.reports = reports
    }

    /// The table, with this context (retained for the life of the process, like the plugin's
    /// own tables: a late report from a runner thread must find it) as ctx.
    func makeHostAPI() -> UnsafeMutablePointer<docket_host_api> {
        var api = docket_host_api()
        api.struct_size = UInt32(MemoryLayout<docket_host_api>.size)
        api.abi_major = UInt32(DOCKET_ABI_MAJOR)
        api.abi_minor = UInt32(DOCKET_ABI_MINOR)
        api.ctx = Unmanaged.passRetained(self).toOpaque()
        api.log = { ctx, level, message in
            let context = RunnerContext.from(ctx)
            context.host.log(level, "\(context.name) runner: \(message.map { String(cString: $0) } ?? "")")
        }
        api.now_ms = { ctx in RunnerContext.from(ctx).host.nowMillis() }
        api.setting = { ctx, key, buffer, size in
            guard let key else { return DOCKET_E_INVALID_ARGUMENT }
            let context = RunnerContext.from(ctx)
            let name = String(cString: key)
            guard let value = name == "instance.state_dir" ? context.stateDirectory : context.host.setting(name) else {
                return DOCKET_E_NOT_FOUND
            }
            return writeString(value, into: buffer, size: size, needed: nil)
        }
        api.get_service = { ctx, id in
            guard let id else { return nil }
            return RunnerContext.from(ctx).host.service(id)
        }
        api.attempt_running = { ctx, attemptID, detail in
            guard let attemptID else { return }
            RunnerContext.from(ctx).reports.attemptRunning(String(cString: attemptID), detail: detail.map { String(cString: $0) } ?? "")
        }
        api.attempt_exited = { ctx, attemptID, exit in
            guard let attemptID, let exit else { return }
            RunnerContext.from(ctx).reports.attemptExited(attemptID, exit)
        }
        api.append_attempt_log = { ctx, attemptID, stream, data, length in
            guard let attemptID else { return }
            RunnerContext.from(ctx).host.forwardLog(attemptID, stream: stream, data, length)
        }
        let pointer = UnsafeMutablePointer<docket_host_api>.allocate(capacity: 1)
        pointer.initialize(to: api)
        return pointer
    }

    static func from(_ ctx: UnsafeMutableRawPointer?) -> RunnerContext {
        Unmanaged<RunnerContext>.fromOpaque(ctx!).takeUnretainedValue()
    }
}
