import CDocketPlugin
import DocketSwiftPluginSupport
import DocketFIFOQueue

// The C entry glue of the FIFO policy: the descriptor, the function table and the conversions.
// The ordering itself is in FIFOQueue.swift.

/// An instance is the queue itself, behind a pointer: calls are [serialized] by the ABI, so no
/// locking, and reaching it through an unsafe pointer costs no reference counting and no
/// exclusivity check on the hot path (pick).
@inline(__always)
private func queue(_ pointer: UnsafeMutableRawPointer?) -> UnsafeMutablePointer<FIFOQueue> {
    pointer!.assumingMemoryBound(to: FIFOQueue.self)
}

/// The settings this policy reads: `{}` or `{"backfill": true|false}`.
/// - Returns: the backfill setting, or a message naming the key when the JSON holds anything else.
func parseFIFOSettings(_ json: String) -> (backfill: Bool, error: String?) {
    var scanner = JSONObjectScanner(json)
    var backfill = true
    do {
        for (key, value) in try scanner.members() {
            guard key == "backfill" else {
                return (true, "fifo policy: unknown setting \"\(key)\"; the only setting is \"backfill\" (true or false).")
            }
            switch value {
            case .literal("true"): backfill = true
            case .literal("false"): backfill = false
            case .literal(let text): return (true, "fifo policy: setting \"backfill\" is \(text); set it to true or false.")
            case .string(let text): return (true, "fifo policy: setting \"backfill\" is the string \"\(text)\"; set it to true or false, without quotes.")
            case .composite: return (true, "fifo policy: setting \"backfill\" is an object or array; set it to true or false.")
            }
        }
    } catch {
        return (true, "fifo policy: settings are not a JSON object (\(error.message)); use {} or {\"backfill\": false}.")
    }
    return (backfill, nil)
}

// nonisolated(unsafe): written once at first use (Swift globals initialise once, thread-safely) and
// only read afterwards; the host never writes to a descriptor or table.
nonisolated(unsafe) private let table: UnsafeMutablePointer<docket_policy_v1> = {
    let table = UnsafeMutablePointer<docket_policy_v1>.allocate(capacity: 1)
    var value = docket_policy_v1()
    value.struct_size = UInt32(MemoryLayout<docket_policy_v1>.size)
    value.create = { _, config, out, err, size in
        let settings = parseFIFOSettings(config.map { String(cString: $0) } ?? "{}")
        if let message = settings.error {
            writeError(message, into: err, size: size)
            return DOCKET_E_INVALID_CONFIG
        }
        let created = UnsafeMutablePointer<FIFOQueue>.allocate(capacity: 1)
        created.initialize(to: FIFOQueue())
        created.pointee.backfill = settings.backfill
        out?.pointee = UnsafeMutableRawPointer(created)
        return DOCKET_OK
    }
    value.destroy = { pointer in destroyInstance(pointer, of: FIFOQueue.self) }
    value.job_runnable = { pointer, job in
        guard let job else { return }
        let j = job.pointee
        queue(pointer).pointee.add(key: j.job_key, sequence: j.sequence, isRetry: (j.flags & Int32(DOCKET_POLICY_JOB_RETRY)) != 0,
                                    vcpuMillis: j.vcpu_millis, memoryMiB: j.memory_mib, gpus: j.gpu_count)
    }
    value.job_removed = { pointer, key in queue(pointer).pointee.remove(key) }
    value.job_started = { pointer, key, _ in queue(pointer).pointee.remove(key) }
    value.job_finished = { _, _, _ in }
    value.pick = { pointer, free, out, limit in
        guard let out, let free else { return 0 }
        let f = free.pointee
        return UInt32(queue(pointer).pointee.pick(freeVCPUMillis: f.vcpu_millis, freeMemoryMiB: f.memory_mib,
                                                   freeGPUs: f.gpu_count, into: out, limit: Int(limit)))
    }
    table.initialize(to: value)
    return table
}()

/// Never freed: the host reads it for as long as the process lives.
nonisolated(unsafe) private let descriptor = permanentDescriptor(
    kind: DOCKET_PLUGIN_KIND_POLICY, id: "docket.policy.fifo", name: "fifo", version: "1.0.0",
    description: "first in, first out: retried jobs first, then submission order (AWS Batch's default)", policy: UnsafePointer(table))

@c @implementation
public func docket_plugin_entry_v1() -> UnsafePointer<docket_plugin_descriptor>? {
    UnsafePointer(descriptor)
}
