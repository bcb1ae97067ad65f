import CDocketPlugin
import DocketFairShareCore
import DocketSwiftPluginSupport

// The C entry glue of the fair-share policy: the descriptor, the function tables and the
// conversions. The ordering itself is in Core/ (module DocketFairShareCore).

/// One policy instance: the host's table, for its clock, and the queue.
struct FairShareInstance {
    /// Host-owned, valid until destroy returns (policy.h, create).
    let host: UnsafePointer<docket_host_api>
    var queue: FairShareQueue

    /// The host's clock; policies never read the system clock (the simulator's is virtual).
    @inline(__always)
    func now() -> Int64 { host.pointee.now_ms?(host.pointee.ctx) ?? queue.clock }
}

/// An instance behind a pointer: calls are [serialized] by the ABI, so no locking, and reaching
/// it through an unsafe pointer costs no reference counting on the hot path (pick).
@inline(__always)
private func instance(_ pointer: UnsafeMutableRawPointer?) -> UnsafeMutablePointer<FairShareInstance> {
    pointer!.assumingMemoryBound(to: FairShareInstance.self)
}

// nonisolated(unsafe): written once at first use (Swift globals initialise once, thread-safely)
// and only read afterwards; the host never writes to these tables.
nonisolated(unsafe) private let explainTable: UnsafeMutablePointer<docket_policy_explain_v1> = {
    let table = UnsafeMutablePointer<docket_policy_explain_v1>.allocate(capacity: 1)
    var value = docket_policy_explain_v1()
    value.struct_size = UInt32(MemoryLayout<docket_policy_explain_v1>.size)
    value.explain_job = { pointer, key, buffer, size, needed in
        let state = instance(pointer)
        guard let json = state.pointee.queue.explain(key: key, now: state.pointee.now()) else {
            needed?.pointee = 0
            return DOCKET_E_NOT_FOUND
        }
        return writeString(json, into: buffer, size: size, needed: needed)
    }
    value.describe_shares = { pointer, buffer, size, needed in
        let state = instance(pointer)
        return writeString(state.pointee.queue.describeShares(now: state.pointee.now()), into: buffer, size: size, needed: needed)
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
            writeError("fairshare policy: create was called without a host table or an output pointer; this is a host bug.", into: err, size: size)
            return DOCKET_E_INTERNAL
        }
        let settings: FairShareSettings
        do throws(FairShareSettingsError) {
            settings = try FairShareSettings(json: config.map { String(cString: $0) } ?? "{}")
        } catch {
            writeError("fairshare policy: \(error.message)", into: err, size: size)
            return DOCKET_E_INVALID_CONFIG
        }
        let now = host.pointee.now_ms?(host.pointee.ctx) ?? 0
        let created = UnsafeMutablePointer<FairShareInstance>.allocate(capacity: 1)
        created.initialize(to: FairShareInstance(host: host, queue: FairShareQueue(settings: settings, now: now)))
        out.pointee = UnsafeMutableRawPointer(created)
        return DOCKET_OK
    }
    value.destroy = { pointer in destroyInstance(pointer, of: FairShareInstance.self) }
    value.job_runnable = { pointer, job in
        guard let job else { return }
        let j = job.pointee
        let share = j.share_identifier.map { String(cString: $0) }
        instance(pointer).pointee.queue.add(
            key: j.job_key, sequence: j.sequence, isRetry: (j.flags & Int32(DOCKET_POLICY_JOB_RETRY)) != 0,
            schedulingPriority: j.scheduling_priority, vcpuMillis: j.vcpu_millis, memoryMiB: j.memory_mib, gpus: j.gpu_count,
            shareKey: j.share_key, shareIdentifier: share)
    }
    value.job_removed = { pointer, key in instance(pointer).pointee.queue.remove(key) }
    value.job_started = { pointer, key, usage in
        let state = instance(pointer)
        state.pointee.queue.start(key: key, vcpuMillis: usage?.pointee.vcpu_millis ?? 0,
                                  startedAt: usage?.pointee.started_at_ms ?? 0, now: state.pointee.now())
    }
    value.job_finished = { pointer, key, usage in
        let state = instance(pointer)
        state.pointee.queue.finish(key: key, stoppedAt: usage?.pointee.stopped_at_ms ?? 0, now: state.pointee.now())
    }
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
    kind: DOCKET_PLUGIN_KIND_POLICY, id: "docket.policy.fairshare", name: "fairshare", version: "1.0.0",
    description: "AWS Batch fair share: the share with the least decayed, weighted vCPU use goes first", policy: UnsafePointer(table))

@c @implementation
public func docket_plugin_entry_v1() -> UnsafePointer<docket_plugin_descriptor>? {
    UnsafePointer(descriptor)
}
