import CDocketPlugin
import DocketCore
import Foundation
import Logging

/// An executor's capacity report.
package struct ExecutorCapacity: Sendable, Hashable {
    package var total: Resources
    package var isHealthy: Bool
    package var healthReason: String?
    package var devices: [String]
    /// A healthy instance's remark for users (a drained GPU), shown as the statusReason.
    package var notice: String?

    package init(total: Resources, isHealthy: Bool = true, healthReason: String? = nil, devices: [String] = [],
                 notice: String? = nil) {
        self.total = total
        self.isHealthy = isHealthy
        self.healthReason = healthReason
        self.devices = devices
        self.notice = notice
    }
}

/// docket_attempt_spec in Swift.
package struct AttemptSpec: Sendable, Hashable {
    package var attemptID: String
    package var attemptNumber: Int
    package var jobID: String
    package var jobName: String
    package var jobQueue: String
    package var computeEnvironment: String
    package var argv: [String]
    package var environment: [String]
    package var workDirectory: String
    package var logPath: String
    package var resources: Resources
    package var devices: [String]
    package var allowsRoot: Bool
    package var user: String?
    package var image: String?
    package var containerPropertiesJSON: String

    package init(attemptID: String, attemptNumber: Int, jobID: String, jobName: String, jobQueue: String,
                 computeEnvironment: String, argv: [String], environment: [String], workDirectory: String,
                 logPath: String, resources: Resources, devices: [String] = [], allowsRoot: Bool = false,
                 user: String? = nil, image: String? = nil, containerPropertiesJSON: String = "{}") {
        self.attemptID = attemptID
        self.attemptNumber = attemptNumber
        self.jobID = jobID
        self.jobName = jobName
        self.jobQueue = jobQueue
        self.computeEnvironment = computeEnvironment
        self.argv = argv
        self.environment = environment
        self.workDirectory = workDirectory
        self.logPath = logPath
        self.resources = resources
        self.devices = devices
        self.allowsRoot = allowsRoot
        self.user = user
        self.image = image
        self.containerPropertiesJSON = containerPropertiesJSON
    }
}

/// Why start did not launch an attempt.
package struct StartRefusal: Error, Sendable {
    /// The spec can never run on this executor (DOCKET_E_INVALID_ARGUMENT): fail the attempt.
    package var isPermanent: Bool
    package var message: String
}

/// One live executor instance (one compute environment), called through its C table.
///
/// [may-block] functions are called on the instance's own serial queue, never on Swift's
/// cooperative pool; the async methods hop there.
package final class ExecutorInstance: @unchecked Sendable {
    // @unchecked: `instance` and `hostAPI` are written once in init and freed only in destroy,
    // which callers invoke once after every other call has returned; the plugin promises its
    // functions' thread tags.
    package let plugin: LoadedPlugin
    package let name: String
    private let table: docket_executor_v1
    private let context: HostContext
    private let hostAPI: UnsafeMutablePointer<docket_host_api>
    private let instance: UnsafeMutableRawPointer?
    private let queue: DispatchQueue

    /// Creates an instance (calls the plugin's create). Blocking.
    /// - Parameters:
    ///   - settings: the host->setting keys ("instance.state_dir", "server.data_dir", ...).
    ///   - sink: receives RUNNING and exit reports, from any thread.
    /// - Throws: `PluginError(.createFailed)` with the plugin's message.
    package init(plugin: LoadedPlugin, name: String, configJSON: String, settings: [String: String], logger: Logger,
                 clock: @escaping @Sendable () -> Int64, logWriter: AttemptLogWriter?,
                 sink: @escaping @Sendable (ExecutorEvent) -> Void) throws(PluginError) {
        guard let table = plugin.executorTable else {
            throw PluginError(.badDescriptor, path: plugin.path, "it is a \(plugin.kind.rawValue) plugin, not an executor.")
        }
        self.plugin = plugin
        self.name = name
        self.table = table
        context = HostContext(pluginName: plugin.name, instanceName: name, settings: settings, logger: logger,
                              clock: clock, sink: sink, logWriter: logWriter)
        hostAPI = context.makeStableHostAPI(forExecutor: true)
        queue = DispatchQueue(label: "docket.executor.\(name)")
        var created: UnsafeMutableRawPointer?
        let api = UnsafePointer(hostAPI)
        let (status, message) = withErrorBuffer { table.create(api, configJSON, &created, $0, $1) }
        guard status == DOCKET_OK else {
            hostAPI.deallocate()
            throw PluginError(.createFailed, path: plugin.path, "executor '\(plugin.name)' refused compute environment '\(name)' (\(statusName(status))): \(message.isEmpty ? "no message given" : message)")
        }
        instance = created
    }

    private func failure(_ what: String, _ status: docket_status, _ message: String) -> PluginError {
        PluginError(.callFailed, path: plugin.path, "\(what) on compute environment '\(name)' failed (\(statusName(status))): \(message.isEmpty ? "no message given" : message)")
    }

    /// capacity(). Blocking.
    package func capacity() throws(PluginError) -> ExecutorCapacity {
        var out = docket_executor_capacity()
        out.struct_size = UInt32(MemoryLayout<docket_executor_capacity>.size)
        let (status, message) = withErrorBuffer { table.capacity(instance, &out, $0, $1) }
        guard status == DOCKET_OK else { throw failure("capacity", status, message) }
        var devices: [String] = []
        if let list = out.devices {
            for index in 0..<Int(out.device_count) { if let item = list[index] { devices.append(String(cString: item)) } }
        }
        return ExecutorCapacity(total: Resources(vcpuMillis: out.vcpu_millis, memoryMiB: out.memory_mib, gpus: out.gpu_count),
                                isHealthy: out.healthy != 0, healthReason: out.health_reason.map { String(cString: $0) },
                                devices: devices, notice: out.notice.map { String(cString: $0) })
    }

    /// start(). Blocking; see `startAsync`.
    package func start(_ spec: AttemptSpec) -> Result<Void, StartRefusal> {
        let arena = CStringArena()
        var c = docket_attempt_spec()
        c.struct_size = UInt32(MemoryLayout<docket_attempt_spec>.size)
        c.attempt_number = Int32(spec.attemptNumber)
        c.attempt_id = arena.string(spec.attemptID)
        c.job_id = arena.string(spec.jobID)
        c.job_name = arena.string(spec.jobName)
        c.job_queue = arena.string(spec.jobQueue)
        c.compute_environment = arena.string(spec.computeEnvironment)
        c.argv = arena.array(spec.argv)
        c.argc = UInt32(spec.argv.count)
        c.env = arena.array(spec.environment)
        c.env_count = UInt32(spec.environment.count)
        c.work_dir = arena.string(spec.workDirectory)
        c.log_path = arena.string(spec.logPath)
        c.vcpu_millis = spec.resources.vcpuMillis
        c.memory_mib = spec.resources.memoryMiB
        c.gpu_count = spec.resources.gpus
        c.devices = arena.array(spec.devices)
        c.device_count = UInt32(spec.devices.count)
        c.run_as_root_allowed = spec.allowsRoot ? 1 : 0
        c.user = arena.string(spec.user)
        c.image = arena.string(spec.image)
        c.container_properties_json = arena.string(spec.containerPropertiesJSON)
        let (status, message) = withErrorBuffer { table.start(instance, &c, $0, $1) }
        withExtendedLifetime(arena) {}
        if status == DOCKET_OK { return .success(()) }
        let text = message.isEmpty ? "executor '\(plugin.name)' returned \(statusName(status))" : message
        return .failure(StartRefusal(isPermanent: status != DOCKET_E_UNAVAILABLE, message: text))
    }

    /// start() on the instance's queue.
    package func startAsync(_ spec: AttemptSpec) async -> Result<Void, StartRefusal> {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: self.start(spec)) }
        }
    }

    /// signal(). Blocking.
    package func signal(attemptID: String, signal: Int32) throws(PluginError) {
        let (status, message) = withErrorBuffer { table.signal(instance, attemptID, signal, $0, $1) }
        guard status == DOCKET_OK else { throw failure("signal \(signal) to attempt \(attemptID)", status, message) }
    }

    /// terminate(). Returns at once; the exit is reported later.
    package func terminate(attemptID: String, graceMillis: Int64) throws(PluginError) {
        let (status, message) = withErrorBuffer { table.terminate(instance, attemptID, graceMillis, $0, $1) }
        guard status == DOCKET_OK else { throw failure("terminate attempt \(attemptID)", status, message) }
    }

    /// terminate() on the instance's queue; errors are returned, not thrown.
    package func terminateAsync(attemptID: String, graceMillis: Int64) async -> PluginError? {
        await withCheckedContinuation { (continuation: CheckedContinuation<PluginError?, Never>) in
            queue.async {
                do { try self.terminate(attemptID: attemptID, graceMillis: graceMillis); continuation.resume(returning: nil) }
                catch let error as PluginError { continuation.resume(returning: error) } catch { continuation.resume(returning: nil) }
            }
        }
    }

    /// list_running(). Blocking.
    package func listRunning() throws(PluginError) -> [String] {
        final class Collector { var ids: [String] = [] }
        let collector = Collector()
        let visit: docket_attempt_visitor = { visitContext, attemptID in
            guard let visitContext, let attemptID else { return }
            Unmanaged<Collector>.fromOpaque(visitContext).takeUnretainedValue().ids.append(String(cString: attemptID))
        }
        let opaque = Unmanaged.passUnretained(collector).toOpaque()
        let (status, message) = withErrorBuffer { table.list_running(instance, visit, opaque, $0, $1) }
        guard status == DOCKET_OK else { throw failure("list_running", status, message) }
        return collector.ids
    }

    /// get_capability(): whether the instance offers `id` ("docket.gpu/1").
    package func hasCapability(_ id: String) -> Bool {
        guard let lookup = table.get_capability else { return false }
        return lookup(instance, id) != nil
    }

    /// The instance's GPUs as its "docket.gpu/1" capability describes them (a JSON object with
    /// a `gpus` array), or nil when it offers no such capability.
    package func describeGPUs() throws(PluginError) -> String? {
        guard let lookup = table.get_capability, let raw = lookup(instance, DOCKET_CAPABILITY_GPU_V1) else { return nil }
        let capability = raw.assumingMemoryBound(to: docket_gpu_capability_v1.self).pointee
        guard let describe = capability.describe_gpus else { return nil }
        switch readPluginString({ describe(instance, $0, $1, $2) }) {
        case .success(let document): return document
        case .failure(let failed): throw failure("describe_gpus", failed.status, "")
        }
    }

    /// destroy(). Attempts keep running; no report arrives after this returns.
    package func destroy() {
        table.destroy(instance)
        context.disconnect()
        hostAPI.deallocate()
    }
}
