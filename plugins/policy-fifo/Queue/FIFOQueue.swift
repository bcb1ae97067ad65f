import DocketPolicySupport

/// Runnable jobs in AWS Batch's FIFO order:
/// 1. retried jobs, in the order they came back (AWS puts a retry at the front);
/// 2. every other job by submission sequence, which is unique, so the order is total.
///
/// Each lane is an array of entries (by sequence, or by arrival for retries) with tombstones and
/// a head index past the leading ones; one open-addressing map from job key to position serves
/// both lanes. Arrival, removal and a pick of the head are O(1) amortised, and pick allocates
/// nothing: it is the scheduler's hot path (target < 50 ns on 100,000 queued jobs).
///
/// Not thread-safe: the policy ABI serializes every call for one instance.
public struct FIFOQueue {
    struct Entry {
        var key: UInt64
        var sequence: UInt64
        var vcpuMillis: Int64
        var memoryMiB: Int64
        var gpus: Int64
        // A flag, not a reserved key: the ABI allows any uint64 as a job key, 0 included.
        var isRemoved = false
    }

    static let retryLane = 0
    static let sequenceLane = 1

    var retries = Lane()
    var sequenced = Lane()
    /// Job key → position in its lane, as `(index + lane.base) << 1 | lane id`.
    var positions = KeyPositionMap()
    /// Pass over jobs that do not fit the free capacity (true), or stop at the first (false).
    public var backfill = true

    public init() {}

    /// The number of runnable jobs held.
    public var count: Int { retries.live + sequenced.live }

    /// Adds a runnable job. A key already held moves to its new place (a retry that comes back
    /// before the host removed its earlier entry).
    public mutating func add(key: UInt64, sequence: UInt64, isRetry: Bool, vcpuMillis: Int64, memoryMiB: Int64, gpus: Int64) {
        remove(key)
        let entry = Entry(key: key, sequence: sequence, vcpuMillis: vcpuMillis, memoryMiB: memoryMiB, gpus: gpus)
        if isRetry {
            retries.append(entry, lane: Self.retryLane, positions: &positions)
        } else {
            sequenced.insertBySequence(entry, lane: Self.sequenceLane, positions: &positions)
        }
    }

    /// Removes a job (it started or left the runnable set). Unknown keys are ignored.
    public mutating func remove(_ key: UInt64) {
        guard let position = positions.remove(key) else { return }
        if position & 1 == Self.retryLane {
            retries.remove(at: (position >> 1) - retries.base, lane: Self.retryLane, positions: &positions)
        } else {
            sequenced.remove(at: (position >> 1) - sequenced.base, lane: Self.sequenceLane, positions: &positions)
        }
    }

    /// Writes up to `limit` keys into `out` in FIFO order and returns how many.
    /// A job fits when none of its resources exceeds the free amount of that resource (a
    /// resource it asks 0 of never blocks it).
    /// - With `backfill`, each job is checked against `free` alone and jobs that do not fit are
    ///   passed over; the host fits the keys in order.
    /// - Without it, each job written counts against `free`, and the pick ends at the first job
    ///   that does not fit what is left. The host skips a key that no longer fits and tries the
    ///   next, so keys that each fit `free` alone would let a later, smaller job start first.
    public func pick(freeVCPUMillis: Int64, freeMemoryMiB: Int64, freeGPUs: Int64,
                     into out: UnsafeMutablePointer<UInt64>, limit: Int) -> Int {
        var written = 0
        guard backfill else {
            var free = (vcpuMillis: freeVCPUMillis, memoryMiB: freeMemoryMiB, gpus: freeGPUs)
            if retries.live > 0 && retries.scanInOrder(&free, out, limit, &written) { return written }
            _ = sequenced.scanInOrder(&free, out, limit, &written)
            return written
        }
        if retries.live > 0 { retries.scan(freeVCPUMillis, freeMemoryMiB, freeGPUs, out, limit, &written) }
        sequenced.scan(freeVCPUMillis, freeMemoryMiB, freeGPUs, out, limit, &written)
        return written
    }
}

extension FIFOQueue {
    struct Lane {
        var entries: [Entry] = []
        /// The first live entry, or entries.count when there is none.
        var head = 0
        var live = 0
        /// Added to an index to make the position stored in the map, so that dropping a prefix
        /// of tombstones (the steady state: jobs leave from the head) changes no map entry.
        var base = 0

        mutating func append(_ entry: Entry, lane: Int, positions: inout KeyPositionMap) {
            positions.set(entry.key, (entries.count + base) << 1 | lane)
            entries.append(entry)
            live += 1
        }

        /// Inserts by sequence. Sequences normally arrive increasing (a restart replays them in
        /// order), so this is an append; an earlier one goes in place, moving what follows.
        mutating func insertBySequence(_ entry: Entry, lane: Int, positions: inout KeyPositionMap) {
            guard let last = entries.last, last.sequence > entry.sequence else {
                append(entry, lane: lane, positions: &positions)
                return
            }
            var low = head, high = entries.count
            while low < high {
                let middle = (low + high) / 2
                if entries[middle].sequence <= entry.sequence { low = middle + 1 } else { high = middle }
            }
            entries.insert(entry, at: low)
            live += 1
            for index in low..<entries.count where !entries[index].isRemoved {
                positions.set(entries[index].key, (index + base) << 1 | lane)
            }
        }

        /// Marks the entry at `index` removed; its map entry is already gone.
        mutating func remove(at index: Int, lane: Int, positions: inout KeyPositionMap) {
            entries[index].isRemoved = true
            live -= 1
            if index == head {
                while head < entries.count && entries[head].isRemoved { head += 1 }
            }
            let tombstones = entries.count - live
            if tombstones > 64 && tombstones * 2 > entries.count { compact(lane: lane, positions: &positions) }
        }

        private mutating func compact(lane: Int, positions: inout KeyPositionMap) {
            if entries.count - live == head {
                // Every tombstone is before the head: drop them, keep the map.
                entries.removeSubrange(0..<head)
                base += head
            } else {
                entries.removeAll { $0.isRemoved }
                base = 0
                for (index, entry) in entries.enumerated() { positions.set(entry.key, index << 1 | lane) }
            }
            head = 0
        }

        /// Appends the keys that each fit the free amounts to `out`, passing over the others
        /// (backfill).
        @inline(__always)
        func scan(_ freeVCPUMillis: Int64, _ freeMemoryMiB: Int64, _ freeGPUs: Int64,
                  _ out: UnsafeMutablePointer<UInt64>, _ limit: Int, _ written: inout Int) {
            entries.withUnsafeBufferPointer { entries in
                var index = head
                while index < entries.count && written < limit {
                    let entry = entries[index]
                    index += 1
                    if entry.isRemoved { continue }
                    if (entry.vcpuMillis > 0 && entry.vcpuMillis > freeVCPUMillis)
                        || (entry.memoryMiB > 0 && entry.memoryMiB > freeMemoryMiB)
                        || (entry.gpus > 0 && entry.gpus > freeGPUs) {
                        continue
                    }
                    out[written] = entry.key
                    written += 1
                }
            }
        }

        /// Appends keys in order while they fit `free`, counting each against it; returns true
        /// when it stopped at a job that does not fit what is left (backfill off).
        func scanInOrder(_ free: inout (vcpuMillis: Int64, memoryMiB: Int64, gpus: Int64),
                         _ out: UnsafeMutablePointer<UInt64>, _ limit: Int, _ written: inout Int) -> Bool {
            entries.withUnsafeBufferPointer { entries in
                var index = head
                while index < entries.count && written < limit {
                    let entry = entries[index]
                    index += 1
                    if entry.isRemoved { continue }
                    if (entry.vcpuMillis > 0 && entry.vcpuMillis > free.vcpuMillis)
                        || (entry.memoryMiB > 0 && entry.memoryMiB > free.memoryMiB)
                        || (entry.gpus > 0 && entry.gpus > free.gpus) {
                        return true
                    }
                    // A negative ask is treated as 0, like the fit test above.
                    free.vcpuMillis -= max(0, entry.vcpuMillis)
                    free.memoryMiB -= max(0, entry.memoryMiB)
                    free.gpus -= max(0, entry.gpus)
                    out[written] = entry.key
                    written += 1
                }
                return false
            }
        }
    }
}
