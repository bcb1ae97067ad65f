/// UInt64 → Int, open addressing with linear probing and backward-shift deletion (no
/// tombstones), load at most 1/2: the job-key map of the FIFO, fair-share and quota policies.
/// Replaces Dictionary, which hashes with SipHash over the whole table: with it a job's start
/// plus a new arrival cost about 400 ns at 100,000 jobs.
/// Keys come from the host, not from users, so no defence against chosen collisions.
///
/// The probing functions are `@inlinable` so each policy's hot path (arrival, start, removal)
/// still inlines them across the module boundary, as it did when each policy kept its own copy.
package struct KeyPositionMap {
    @usableFromInline
    struct Bucket {
        @usableFromInline var key: UInt64
        @usableFromInline var value: Int  // < 0: empty

        @inlinable
        init(key: UInt64, value: Int) {
            self.key = key
            self.value = value
        }
    }

    @usableFromInline var buckets = [Bucket](repeating: Bucket(key: 0, value: -1), count: 16)  // a power of two
    @usableFromInline var storedCount = 0

    package init() {}

    /// The number of keys held.
    @inlinable
    package var count: Int { storedCount }

    /// The bucket a key starts probing at: Fibonacci hashing, which scatters the host's
    /// counter-made keys evenly. (Keeping consecutive keys in consecutive buckets would give
    /// FIFO's sweep locality, but with linear probing it makes one cluster of every live key,
    /// and each backward-shift deletion at the head walks all of it: measured 7-30 µs per
    /// call. That needs Robin Hood ordering, which stops the walk at once.)
    @inlinable @inline(__always)
    static func home(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    /// The value held for `key`, or nil when it is not held.
    @inlinable
    package func value(for key: UInt64) -> Int? {
        buckets.withUnsafeBufferPointer { buckets in
            let mask = buckets.count - 1
            var index = Self.home(key, mask)
            while buckets[index].value >= 0 {
                if buckets[index].key == key { return buckets[index].value }
                index = (index + 1) & mask
            }
            return nil
        }
    }

    /// Sets `value` (≥ 0) for `key`.
    @inlinable
    package mutating func set(_ key: UInt64, _ value: Int) {
        if (storedCount + 1) * 2 > buckets.count { grow() }
        let added = buckets.withUnsafeMutableBufferPointer { buckets in
            let mask = buckets.count - 1
            var index = Self.home(key, mask)
            while buckets[index].value >= 0 {
                if buckets[index].key == key { buckets[index].value = value; return false }
                index = (index + 1) & mask
            }
            buckets[index] = Bucket(key: key, value: value)
            return true
        }
        if added { storedCount += 1 }
    }

    /// Removes `key` and returns its value, or nil when it is not held.
    @inlinable
    package mutating func remove(_ key: UInt64) -> Int? {
        let removed: Int? = buckets.withUnsafeMutableBufferPointer { buckets in
            let mask = buckets.count - 1
            var hole = Self.home(key, mask)
            while buckets[hole].key != key || buckets[hole].value < 0 {
                if buckets[hole].value < 0 { return nil }
                hole = (hole + 1) & mask
            }
            let value = buckets[hole].value
            // Backward shift: pull later members of the cluster into the hole when their home
            // is not cyclically within (hole, next], so every probe still finds them.
            var next = hole
            while true {
                next = (next + 1) & mask
                if buckets[next].value < 0 { break }
                let home = Self.home(buckets[next].key, mask)
                let movable = next > hole ? (home <= hole || home > next) : (home <= hole && home > next)
                if movable {
                    buckets[hole] = buckets[next]
                    hole = next
                }
            }
            buckets[hole].value = -1
            return value
        }
        if removed != nil { storedCount -= 1 }
        return removed
    }

    /// Doubles the table and reinserts every key; rare, so it is not inlined into callers.
    @usableFromInline
    mutating func grow() {
        let old = buckets
        buckets = [Bucket](repeating: Bucket(key: 0, value: -1), count: old.count * 2)
        storedCount = 0
        for bucket in old where bucket.value >= 0 { set(bucket.key, bucket.value) }
    }
}
