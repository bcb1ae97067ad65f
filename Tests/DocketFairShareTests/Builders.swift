import DocketFairShareCore

/// One hour in milliseconds, a start time far from 0 like the host's epoch clock.
let t0: Int64 = 1_700_000_000_000

extension FairShareQueue {
    /// A queue from literal settings.
    static func make(decay: Int = 3600, reservation: Int = 0, shares: [(String, Double)] = [], capacity: Int64? = nil,
                     now: Int64 = t0) -> FairShareQueue {
        FairShareQueue(settings: FairShareSettings(
            shareDecaySeconds: decay, computeReservation: reservation,
            shareDistribution: shares.map { FairShareSettings.ShareAttributes(shareIdentifier: $0.0, weightFactor: $0.1) },
            capacityVCPUMillis: capacity), now: now)
    }

    /// The keys a pick returns.
    mutating func picked(free: Int64 = 1_000_000_000, freeGPUs: Int64 = 1 << 20, limit: Int = 1000, now: Int64 = t0) -> [UInt64] {
        var out = [UInt64](repeating: 0, count: max(limit, 1))
        let count = out.withUnsafeMutableBufferPointer { buffer in
            pick(freeVCPUMillis: free, freeMemoryMiB: 1 << 40, freeGPUs: freeGPUs, now: now, into: buffer.baseAddress!, limit: limit)
        }
        return Array(out.prefix(count))
    }
}
