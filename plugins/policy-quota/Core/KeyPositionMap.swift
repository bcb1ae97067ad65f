/// UInt64 → Int, open addressing with linear probing and backward-shift deletion (no
/// tombstones), load at most 1/2: the same map as the FIFO and fair-share policies (their modules keep it
/// internal). Dictionary hashes with SipHash, several times slower per job on the hot path.
/// Keys come from the host, not from users, so no defence against chosen collisions.
struct KeyPositionMap {
    struct Bucket {
        var key: UInt64
        var value: Int  // < 0: empty
    }

    private var buckets = [Bucket](repeating: Bucket(key: 0, value: -1), count: 16)  // a power of two
    private(set) var count = 0

    /// Fibonacci hashing scatters the host's counter-made keys evenly.
    @inline(__always)
    private static func home(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    func value(for key: UInt64) -> Int? {
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
    mutating func set(_ key: UInt64, _ value: Int) {
        if (count + 1) * 2 > buckets.count { grow() }
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
        if added { count += 1 }
    }

    /// Removes `key` and returns its value, or nil when it is not held.
    mutating func remove(_ key: UInt64) -> Int? {
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
        if removed != nil { count -= 1 }
        return removed
    }

    private mutating func grow() {
        let old = buckets
        buckets = [Bucket](repeating: Bucket(key: 0, value: -1), count: old.count * 2)
        count = 0
        for bucket in old where bucket.value >= 0 { set(bucket.key, bucket.value) }
    }
}
