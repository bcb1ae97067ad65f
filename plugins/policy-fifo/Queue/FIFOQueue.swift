/// Runnable jobs in AWS Batch's FIFO order: retried jobs first (in the order they came back),
/// then everything else by submission sequence.
///
/// Each lane is an array sorted by sequence with tombstones, a head index past the leading
/// tombstones, and a map from job key to slot, so that arrival, removal and a pick of the head
/// are O(1) amortised and nothing is allocated per pick.
public struct FIFOQueue {
    struct Entry {
        var key: UInt64          // 0 = tombstone
        var sequence: UInt64
        var vcpuMillis: Int64
        var memoryMiB: Int64
        var gpus: Int64
    }

    struct Lane {
        var entries: [Entry] = []
        var head = 0
        var tombstones = 0
        var slotOfKey: [UInt64: Int] = [:]

        mutating func insert(_ entry: Entry) {
            if let last = entries.last, last.sequence > entry.sequence {
                // Out of order (rare: a replay after restart arrives in order): insert in place.
                var low = head, high = entries.count
                while low < high {
                    let middle = (low + high) / 2
                    if entries[middle].sequence <= entry.sequence { low = middle + 1 } else { high = middle }
                }
                entries.insert(entry, at: low)
                for slot in low..<entries.count where entries[slot].key != 0 { slotOfKey[entries[slot].key] = slot }
            } else {
                slotOfKey[entry.key] = entries.count
                entries.append(entry)
            }
        }

        mutating func remove(_ key: UInt64) -> Bool {
            guard let slot = slotOfKey.removeValue(forKey: key) else { return false }
            entries[slot].key = 0
            tombstones += 1
            while head < entries.count && entries[head].key == 0 { head += 1 }
            if tombstones > 64 && tombstones * 2 > entries.count { compact() }
            return true
        }

        private mutating func compact() {
            entries.removeAll { $0.key == 0 }
            head = 0
            tombstones = 0
            slotOfKey.removeAll(keepingCapacity: true)
            for (slot, entry) in entries.enumerated() { slotOfKey[entry.key] = slot }
        }
    }

    var retries = Lane()
    var normal = Lane()
    /// Pass over jobs that do not fit the free capacity (true), or stop at the first (false).
    public var backfill = true

    public init() {}

    public var count: Int { retries.slotOfKey.count + normal.slotOfKey.count }

    public mutating func add(key: UInt64, sequence: UInt64, isRetry: Bool, vcpuMillis: Int64, memoryMiB: Int64, gpus: Int64) {
        remove(key)
        let entry = Entry(key: key, sequence: sequence, vcpuMillis: vcpuMillis, memoryMiB: memoryMiB, gpus: gpus)
        if isRetry { retries.slotOfKey[key] = retries.entries.count; retries.entries.append(entry) } else { normal.insert(entry) }
    }

    public mutating func remove(_ key: UInt64) {
        if !retries.remove(key) { _ = normal.remove(key) }
    }

    /// Writes up to `limit` keys into `out` in FIFO order and returns how many.
    public func pick(freeVCPUMillis: Int64, freeMemoryMiB: Int64, freeGPUs: Int64,
              into out: UnsafeMutablePointer<UInt64>, limit: Int) -> Int {
        var written = 0
        var stopped = false
        Self.scan(retries, freeVCPUMillis, freeMemoryMiB, freeGPUs, backfill, out, limit, &written, &stopped)
        if !stopped { Self.scan(normal, freeVCPUMillis, freeMemoryMiB, freeGPUs, backfill, out, limit, &written, &stopped) }
        return written
    }

    @inline(__always)
    private static func scan(_ lane: Lane, _ freeVCPUMillis: Int64, _ freeMemoryMiB: Int64, _ freeGPUs: Int64, _ backfill: Bool,
                             _ out: UnsafeMutablePointer<UInt64>, _ limit: Int, _ written: inout Int, _ stopped: inout Bool) {
        lane.entries.withUnsafeBufferPointer { entries in
            var slot = lane.head
            while slot < entries.count && written < limit {
                let entry = entries[slot]
                slot += 1
                if entry.key == 0 { continue }
                if entry.vcpuMillis > freeVCPUMillis || entry.memoryMiB > freeMemoryMiB || entry.gpus > freeGPUs {
                    if backfill { continue }
                    stopped = true
                    return
                }
                out[written] = entry.key
                written += 1
            }
        }
    }
}
