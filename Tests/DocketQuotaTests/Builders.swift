import DocketQuotaCore

/// A start time far from 0, like the host's epoch clock.
let t0: Int64 = 1_700_000_000_000

/// What the queue asked the host to preempt, in order; `accepts` answers for the host.
final class PreemptionLog {
    var requests: [(key: UInt64, reason: String)] = []
    var accepts = true
    var keys: [UInt64] { requests.map(\.key) }
}

/// One share as JSON: limits as [unit: amount], a strategy and optional borrowLimit.
func shareJSON(_ name: String, _ limits: [(String, String)], _ strategy: String = "RESERVE", borrowLimit: Int? = nil,
               inShare: Bool = false, state: String = "ENABLED") -> String {
    let units = limits.map { "{\"capacityUnit\": \"\($0.0)\", \"maxCapacity\": \($0.1)}" }.joined(separator: ", ")
    let borrow = borrowLimit.map { ", \"borrowLimit\": \($0)" } ?? ""
    return "{\"name\": \"\(name)\", \"state\": \"\(state)\", \"capacityLimits\": [\(units)], "
        + "\"resourceSharingConfiguration\": {\"strategy\": \"\(strategy)\"\(borrow)}, "
        + "\"preemptionConfiguration\": {\"inSharePreemption\": \"\(inShare ? "ENABLED" : "DISABLED")\"}}"
}

/// A share limited in vCPUs only.
func vcpuShare(_ name: String, _ vcpus: Int, _ strategy: String = "RESERVE", borrowLimit: Int? = nil, inShare: Bool = false) -> String {
    shareJSON(name, [("VCPU", "\(vcpus)")], strategy, borrowLimit: borrowLimit, inShare: inShare)
}

extension QuotaQueue {
    /// A queue from share JSON objects, with a preemption log as its host.
    static func make(_ shares: [String], capacity: String? = nil, preemption: Bool = true) throws -> (QuotaQueue, PreemptionLog) {
        let json = "{\"quotaShares\": [\(shares.joined(separator: ", "))]\(capacity.map { ", \"capacity\": \($0)" } ?? "")}"
        let log = PreemptionLog()
        let queue = QuotaQueue(settings: try QuotaSettings(json: json), preempt: preemption ? { key, reason in
            log.requests.append((key, reason))
            return log.accepts
        } : nil)
        return (queue, log)
    }

    /// Adds a runnable job of `vcpus` whole vCPUs.
    mutating func add(_ key: UInt64, _ share: String, vcpus: Int64 = 1, memoryMiB: Int64 = 0, gpus: Int64 = 0,
                      priority: Int32 = 0, retry: Bool = false, sequence: UInt64? = nil) {
        add(key: key, sequence: sequence ?? key, isRetry: retry, schedulingPriority: priority, vcpuMillis: vcpus * 1000,
            memoryMiB: memoryMiB, gpus: gpus, share: share)
    }

    /// Adds and starts a job, `key` milliseconds after t0.
    mutating func run(_ key: UInt64, _ share: String, vcpus: Int64 = 1, memoryMiB: Int64 = 0, priority: Int32 = 0) {
        add(key, share, vcpus: vcpus, memoryMiB: memoryMiB, priority: priority)
        start(key: key, startedAt: t0 + Int64(key))
    }

    /// The keys a pick returns.
    mutating func picked(vcpus: Int64 = 1_000_000, memoryMiB: Int64 = 1 << 40, gpus: Int64 = 1 << 20, limit: Int = 1000) -> [UInt64] {
        var out = [UInt64](repeating: 0, count: max(limit, 1))
        let count = out.withUnsafeMutableBufferPointer { buffer in
            pick(freeVCPUMillis: vcpus * 1000, freeMemoryMiB: memoryMiB, freeGPUs: gpus, now: t0, into: buffer.baseAddress!, limit: limit)
        }
        return Array(out.prefix(count))
    }

    /// Starts every key, as the host does with what a pick returned.
    mutating func startAll(_ keys: [UInt64], at time: Int64 = t0) {
        for key in keys { start(key: key, startedAt: time + Int64(key)) }
    }
}
