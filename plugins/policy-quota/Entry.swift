import CDocketPlugin
import DocketQuotaCore
import DocketSwiftPluginSupport

// The C entry glue of the quota policy: the descriptor, the function tables and the conversions.
// The ordering, accounting and preemption are in Core/ (module DocketQuotaCore).

/// One policy instance: the host's table, for its clock and its preemption service, and the queue.
struct QuotaInstance {
    /// Host-owned, valid until destroy returns (policy.h, create).
    let host: UnsafePointer<docket_host_api>
    var queue: QuotaQueue

    /// The host's clock; policies never read the system clock (the simulator's is virtual).
    @inline(__always)
    func now() -> Int64 { host.pointee.now_ms?(host.pointee.ctx) ?? 0 }
}

/// An instance behind a pointer: calls are [serialized] by the ABI, so no locking, and reaching
/// it through an unsafe pointer costs no reference counting on the hot path (pick).
@inline(__always)
private func instance(_ pointer: UnsafeMutableRawPointer?) -> UnsafeMutablePointer<QuotaInstance> {
    pointer!.assumingMemoryBound(to: QuotaInstance.self)
}

/// The host's docket.preempt/1 as the queue's preempt closure, or nil when the host offers none
/// (a 1.0 host) or its table is too short to hold request_preemption.
private func preemptClosure(_ host: UnsafePointer<docket_host_api>) -> QuotaQueue.Preempt? {
    guard let raw = host.pointee.get_service?(host.pointee.ctx, DOCKET_SERVICE_PREEMPT_V1) else { return nil }
    let service = raw.assumingMemoryBound(to: docket_preempt_service_v1.self)
    let needed = MemoryLayout<docket_preempt_service_v1>.offset(of: \.request_preemption)! + MemoryLayout<UnsafeRawPointer>.size
    guard Int(service.pointee.struct_size) >= needed, let request = service.pointee.request_preemption else { return nil }
    let ctx = host.pointee.ctx
    return { key, reason in request(ctx, key, reason) == DOCKET_OK }
}

private func log(_ host: UnsafePointer<docket_host_api>, _ level: Int32, _ message: String) {
    host.pointee.log?(host.pointee.ctx, level, message)
}

// nonisolated(unsafe): written once at first use (Swift globals initialise once, thread-safely)
// and only read afterwards; the host never writes to these tables.
nonisolated(unsafe) private let explainTable: UnsafeMutablePointer<docket_policy_explain_v1> = {
    let table = UnsafeMutablePointer<docket_policy_explain_v1>.allocate(capacity: 1)
    var value = docket_policy_explain_v1()
    value.struct_size = UInt32(MemoryLayout<docket_policy_explain_v1>.size)
    value.explain_job = { pointer, key, buffer, size, needed in
        guard let json = instance(pointer).pointee.queue.explain(key: key) else {
            needed?.pointee = 0
            return DOCKET_E_NOT_FOUND
        }
        return writeString(json, into: buffer, size: size, needed: needed)
    }
    value.describe_shares = { pointer, buffer, size, needed in
        writeString(instance(pointer).pointee.queue.describeShares(), into: buffer, size: size, needed: needed)
    }
    table.initialize(to: value)
    return table
}()

nonisolated(unsafe) private let table: UnsafeMutablePointer<docket_policy_v1> = {
    let table = UnsafeMutablePointer<docket_policy_v1>.allocate(capacity: 1)
    var value = docket_policy_v1()
    value.struct_size = UInt32(MemoryLayout<docket_policy_v1>.size)
    value.create = { host, config, out, err, size in
        guard let host, let out else {
            writeError("quota policy: create was called without a host table or an output pointer; this is a host bug.", into: err, size: size)
            return DOCKET_E_INTERNAL
        }
        let settings: QuotaSettings
        do throws(QuotaSettingsError) {
            settings = try QuotaSettings(json: config.map { String(cString: $0) } ?? "{}")
        } catch {
            writeError("quota policy: \(error.message)", into: err, size: size)
            return DOCKET_E_INVALID_CONFIG
        }
        let preempt = preemptClosure(host)
        if preempt == nil {
            log(host, DOCKET_LOG_WARNING, "quota policy: the host offers no \(DOCKET_SERVICE_PREEMPT_V1) service, so lent capacity is not reclaimed and lowered limits do not preempt; a share waits for borrowed jobs to finish. Upgrade docket to ABI 1.1 or later for preemption.")
        }
        let created = UnsafeMutablePointer<QuotaInstance>.allocate(capacity: 1)
        created.initialize(to: QuotaInstance(host: host, queue: QuotaQueue(settings: settings, preempt: preempt)))
        out.pointee = UnsafeMutableRawPointer(created)
        return DOCKET_OK
    }
    value.destroy = { pointer in destroyInstance(pointer, of: QuotaInstance.self) }
    value.job_runnable = { pointer, job in
        guard let job else { return }
        let j = job.pointee
        instance(pointer).pointee.queue.add(
            key: j.job_key, sequence: j.sequence, isRetry: (j.flags & Int32(DOCKET_POLICY_JOB_RETRY)) != 0,
            schedulingPriority: j.scheduling_priority, vcpuMillis: j.vcpu_millis, memoryMiB: j.memory_mib, gpus: j.gpu_count,
            share: j.share_identifier.map { String(cString: $0) })
    }
    value.job_removed = { pointer, key in instance(pointer).pointee.queue.remove(key) }
    value.job_started = { pointer, key, usage in
        let state = instance(pointer)
        if let u = usage?.pointee {
            state.pointee.queue.start(key: key, vcpuMillis: u.vcpu_millis, memoryMiB: u.memory_mib, gpus: u.gpu_count,
                                      startedAt: u.started_at_ms != 0 ? u.started_at_ms : state.pointee.now())
        } else {
            state.pointee.queue.start(key: key, startedAt: state.pointee.now())
        }
    }
    value.job_finished = { pointer, key, _ in instance(pointer).pointee.queue.finish(key: key) }
    value.pick = { pointer, free, out, limit in
        guard let out, let free else { return 0 }
        let state = instance(pointer)
        let f = free.pointee
        return UInt32(state.pointee.queue.pick(freeVCPUMillis: f.vcpu_millis, freeMemoryMiB: f.memory_mib, freeGPUs: f.gpu_count,
                                               now: state.pointee.now(), into: out, limit: Int(limit)))
    }
    value.get_capability = { _, id in
        capability(id, named: DOCKET_CAPABILITY_EXPLAIN_V1, table: UnsafeRawPointer(explainTable))
    }
    table.initialize(to: value)
    return table
}()

/// Never freed: the host reads it for as long as the process lives.
nonisolated(unsafe) private let descriptor = permanentDescriptor(
    kind: DOCKET_PLUGIN_KIND_POLICY, id: "docket.policy.quota", name: "quota", version: "1.0.0",
    description: "AWS Batch quota shares: per-share capacity limits, lending and borrowing, preemption to reclaim lent capacity",
    policy: UnsafePointer(table))

@c @implementation
public func docket_plugin_entry_v1() -> UnsafePointer<docket_plugin_descriptor>? {
    UnsafePointer(descriptor)
}
