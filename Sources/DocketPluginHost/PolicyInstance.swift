import CDocketPlugin
import DocketCore
import Logging

/// A runnable job as handed to a policy (docket_policy_job without the C strings).
package struct PolicyJob: Sendable, Hashable {
    package var key: UInt64
    package var sequence: UInt64
    package var isRetry: Bool
    package var submittedAt: Int64
    package var runnableAt: Int64
    package var queuePriority: Int32
    package var schedulingPriority: Int32
    package var request: Resources
    package var shareKey: UInt64
    package var shareIdentifier: String?

    package init(key: UInt64, sequence: UInt64, isRetry: Bool, submittedAt: Int64, runnableAt: Int64, queuePriority: Int32,
                 schedulingPriority: Int32, request: Resources, shareKey: UInt64 = 0, shareIdentifier: String? = nil) {
        self.key = key
        self.sequence = sequence
        self.isRetry = isRetry
        self.submittedAt = submittedAt
        self.runnableAt = runnableAt
        self.queuePriority = queuePriority
        self.schedulingPriority = schedulingPriority
        self.request = request
        self.shareKey = shareKey
        self.shareIdentifier = shareIdentifier
    }
}

/// One live policy instance (one job queue), called through its C table.
///
/// Not thread-safe by design: every policy call is [serialized], so the owner (the scheduler's
/// actor) is the only caller. pick reuses one key buffer: no allocation per decision.
package final class PolicyInstance: @unchecked Sendable {
    // @unchecked: confined to the scheduler's isolation domain; see the type's comment.
    package let plugin: LoadedPlugin
    package let name: String
    private let table: docket_policy_v1
    private let context: HostContext
    private let hostAPI: UnsafeMutablePointer<docket_host_api>
    private let instance: UnsafeMutableRawPointer?
    private var keys: [UInt64]
    private var isDestroyed = false

    /// Creates an instance (calls the plugin's create).
    /// - Throws: `PluginError(.createFailed)` with the plugin's message.
    package init(plugin: LoadedPlugin, name: String, configJSON: String, settings: [String: String], logger: Logger,
                 clock: @escaping @Sendable () -> Int64, pickLimit: Int = 256) throws(PluginError) {
        guard let table = plugin.policyTable else {
            throw PluginError(.badDescriptor, path: plugin.path, "it is a \(plugin.kind.rawValue) plugin, not a scheduling policy.")
        }
        self.plugin = plugin
        self.name = name
        self.table = table
        context = HostContext(pluginName: plugin.name, instanceName: name, settings: settings, logger: logger, clock: clock)
        hostAPI = context.makeStableHostAPI(forExecutor: false)
        keys = [UInt64](repeating: 0, count: pickLimit)
        var created: UnsafeMutableRawPointer?
        let api = UnsafePointer(hostAPI)
        let (status, message) = withErrorBuffer { table.create(api, configJSON, &created, $0, $1) }
        guard status == DOCKET_OK else {
            hostAPI.deallocate()
            throw PluginError(.createFailed, path: plugin.path, "policy '\(plugin.name)' refused job queue '\(name)' (\(statusName(status))): \(message.isEmpty ? "no message given" : message)")
        }
        instance = created
    }

    package func jobRunnable(_ job: PolicyJob) {
        var c = docket_policy_job()
        c.struct_size = UInt32(MemoryLayout<docket_policy_job>.size)
        c.flags = job.isRetry ? Int32(DOCKET_POLICY_JOB_RETRY) : 0
        c.job_key = job.key
        c.sequence = job.sequence
        c.submitted_at_ms = job.submittedAt
        c.runnable_at_ms = job.runnableAt
        c.queue_priority = job.queuePriority
        c.scheduling_priority = job.schedulingPriority
        c.vcpu_millis = job.request.vcpuMillis
        c.memory_mib = job.request.memoryMiB
        c.gpu_count = job.request.gpus
        c.share_key = job.shareKey
        if let share = job.shareIdentifier {
            share.withCString { pointer in
                c.share_identifier = pointer
                table.job_runnable(instance, &c)
            }
        } else {
            table.job_runnable(instance, &c)
        }
    }

    package func jobRemoved(key: UInt64) { table.job_removed(instance, key) }

    package func jobStarted(key: UInt64, usage: Resources, startedAt: Int64) {
        var c = usageStruct(usage, startedAt: startedAt, stoppedAt: 0)
        table.job_started(instance, key, &c)
    }

    package func jobFinished(key: UInt64, usage: Resources, startedAt: Int64, stoppedAt: Int64) {
        var c = usageStruct(usage, startedAt: startedAt, stoppedAt: stoppedAt)
        table.job_finished(instance, key, &c)
    }

    private func usageStruct(_ usage: Resources, startedAt: Int64, stoppedAt: Int64) -> docket_policy_usage {
        var c = docket_policy_usage()
        c.struct_size = UInt32(MemoryLayout<docket_policy_usage>.size)
        c.vcpu_millis = usage.vcpuMillis
        c.memory_mib = usage.memoryMiB
        c.gpu_count = usage.gpus
        c.started_at_ms = startedAt
        c.stopped_at_ms = stoppedAt
        return c
    }

    /// pick(): the keys to try in order, at most `limit` (capped at the buffer size). The
    /// returned slice is valid until the next pick.
    package func pick(free: Resources, limit: Int) -> ArraySlice<UInt64> {
        var c = docket_policy_free()
        c.struct_size = UInt32(MemoryLayout<docket_policy_free>.size)
        c.vcpu_millis = free.vcpuMillis
        c.memory_mib = free.memoryMiB
        c.gpu_count = free.gpus
        let maximum = min(limit, keys.count)
        let count = keys.withUnsafeMutableBufferPointer { buffer in
            Int(table.pick(instance, &c, buffer.baseAddress, UInt32(maximum)))
        }
        return keys[0..<min(count, maximum)]
    }

    /// The raw pick entry point and instance, for the benchmark's per-call measurement.
    package var rawPick: (@convention(c) (UnsafeMutableRawPointer?, UnsafePointer<docket_policy_free>?, UnsafeMutablePointer<UInt64>?, UInt32) -> UInt32, UnsafeMutableRawPointer?) {
        (table.pick, instance)
    }

    /// The running jobs the policy asked to preempt (docket.preempt/1) since the last call.
    package func takePreemptionRequests() -> [(key: UInt64, reason: String)] { context.takePreemptionRequests() }

    /// Whether the policy looked up docket.preempt/1 (in create or later).
    package var mayPreempt: Bool { context.offeredPreemption }

    /// Where the job stands in the policy's order, as its "docket.explain/1" capability says
    /// (a JSON object), or nil when the policy offers no explanation or does not hold the job.
    package func explain(key: UInt64) -> String? {
        guard let explain = explainTable?.explain_job else { return nil }
        return try? readPluginString { explain(instance, key, $0, $1, $2) }.get()
    }

    /// Every share's standing (a JSON object), or nil when the policy offers no explanation.
    package func describeShares() -> String? {
        guard let describe = explainTable?.describe_shares else { return nil }
        return try? readPluginString { describe(instance, $0, $1, $2) }.get()
    }

    private var explainTable: docket_policy_explain_v1? {
        guard let lookup = table.get_capability, let raw = lookup(instance, DOCKET_CAPABILITY_EXPLAIN_V1) else { return nil }
        return raw.assumingMemoryBound(to: docket_policy_explain_v1.self).pointee
    }

    /// destroy(). Once only: an instance replaced on a live queue is destroyed when its last
    /// reference goes (deinit), and an owner may also call this first.
    package func destroy() {
        guard !isDestroyed else { return }
        isDestroyed = true
        table.destroy(instance)
        hostAPI.deallocate()
    }

    deinit { destroy() }
}
