// "Why is my job waiting": the explain capability's two answers (policy.h,
// docket_policy_explain_v1). Not the hot path: both may walk every runnable job.

extension FairShareQueue {
    /// Where a runnable job stands, as the JSON object explain_job returns: position (0-based
    /// place in pick order, free capacity and the reservation aside), share, weightFactor,
    /// shareUsage, shareTargetPercent, shareHeldPercent and reason. nil for a key not runnable here.
    ///
    /// O(runnable jobs): a share's jobs come before the job when their ordering usage, counted
    /// as pick counts it (each handed-out job's vCPUs added), is lower, or equal with the share
    /// seen first; that is exactly the order of a pick with unlimited keys and capacity.
    public mutating func explain(key: UInt64, now: Int64) -> String? {
        guard let place = positions.value(for: key) else { return nil }
        advance(to: now)
        let share = Int(lanes[place >> 40].share)

        // 1. Jobs of its own share ahead of it, and their vCPUs.
        var ownAhead = 0
        var vcpuAhead: Int64 = 0
        forEachRunnable(of: share) { entry in
            if entry.key == key { return false }
            ownAhead += 1
            vcpuAhead += entry.vcpuMillis
            return true
        }
        let ownKey = orderingKey(share, pending: 0)
        let turnKey = orderingKey(share, pending: vcpuAhead)

        // 2. Every other share's jobs handed out before its turn.
        var position = ownAhead
        var sharesAhead = 0
        for other in shares.indices where other != share && shares[other].runnableJobs > 0 {
            if Self.before(orderingKey(other, pending: 0), other, ownKey, share) { sharesAhead += 1 }
            var handed: Int64 = 0
            forEachRunnable(of: other) { entry in
                guard Self.before(orderingKey(other, pending: handed), other, turnKey, share) else { return false }
                position += 1
                handed += entry.vcpuMillis
                return true
            }
        }

        let standing = standing(of: share)
        let name = shares[share].identifier
        let weight = Self.format(shares[share].weight, decimals: 4)
        let usage = Self.format(standing.usage, decimals: 3)
        let held = Self.format(standing.heldPercent, decimals: 1)
        let target = Self.format(standing.targetPercent, decimals: 1)
        let comparison = standing.heldPercent > standing.targetPercent + 0.05 ? "above"
            : standing.heldPercent < standing.targetPercent - 0.05 ? "below" : "at"
        var reason: String
        if position == 0 {
            reason = "next in line: share \(name) (weightFactor \(weight)) has the lowest usage, \(usage), and holds \(held)% of the queue's vCPUs, \(comparison) its target of \(target)%"
        } else {
            reason = "share \(name) (weightFactor \(weight)) has usage \(usage) and holds \(held)% of the queue's vCPUs, \(comparison) its target of \(target)%; "
            reason += sharesAhead == 1 ? "1 share with less usage goes first" : "\(sharesAhead) shares with less usage go first"
            reason += ownAhead == 1 ? ", and 1 job of its own share is ahead of it" : ", and \(ownAhead) jobs of its own share are ahead of it"
            reason += " (\(position) jobs ahead in all)"
        }
        reason += "."
        return "{\"position\": \(position), \"share\": \(Self.quote(name)), \"weightFactor\": \(weight), \"shareUsage\": \(usage), "
            + "\"shareTargetPercent\": \(target), \"shareHeldPercent\": \(held), \"reason\": \(Self.quote(reason))}"
    }

    /// Every share's standing, as the JSON object describe_shares returns: activeShareCount and
    /// shares (those active or with usage left), sorted by vCPUs in use, most first, then by
    /// usage, then by identifier. targetPercent is given for active shares only.
    public mutating func describeShares(now: Int64) -> String {
        advance(to: now)
        var listed: [(share: Int, usage: Double)] = []
        for share in shares.indices {
            let usage = scaledUsage(share) / frameNow * shares[share].weight
            if shares[share].isActive || usage >= 0.0005 { listed.append((share, usage)) }
        }
        listed.sort { a, b in
            let aHeld = shares[a.share].runningVCPUMillis, bHeld = shares[b.share].runningVCPUMillis
            if aHeld != bHeld { return aHeld > bHeld }
            if a.usage != b.usage { return a.usage > b.usage }
            return shares[a.share].identifier < shares[b.share].identifier
        }
        let inverseWeights = activeInverseWeights()
        let rows = listed.map { row in
            let s = shares[row.share]
            var text = "{\"shareIdentifier\": \(Self.quote(s.identifier)), \"weightFactor\": \(Self.format(s.weight, decimals: 4)), "
                + "\"vcpuMillisInUse\": \(s.runningVCPUMillis), \"runnableJobs\": \(s.runnableJobs), \"usage\": \(Self.format(row.usage, decimals: 3))"
            if s.isActive && inverseWeights > 0 {
                text += ", \"targetPercent\": \(Self.format(100 / s.weight / inverseWeights, decimals: 1))"
            }
            return text + "}"
        }
        return "{\"activeShareCount\": \(activeShareCount), \"shares\": [\(rows.joined(separator: ", "))]}"
    }

    /// A share's usage (decayed vCPU-seconds × weight), the percentage of the queue's vCPUs its
    /// weight entitles it to among active shares, and the percentage it holds (of capacity when
    /// `capacityVcpuMillis` is set, else of the queue's vCPUs in use).
    public func standing(ofShare identifier: String) -> (usage: Double, targetPercent: Double, heldPercent: Double)? {
        shareIndex(named: identifier).map { standing(of: $0) }
    }

    func standing(of share: Int) -> (usage: Double, targetPercent: Double, heldPercent: Double) {
        let s = shares[share]
        let usage = scaledUsage(share) / frameNow * s.weight
        let inverseWeights = activeInverseWeights() + (s.isActive ? 0 : 1 / s.weight)
        let target = 100 / s.weight / inverseWeights
        let whole = settings.capacityVCPUMillis ?? vcpuMillisInUse
        let held = whole > 0 ? 100 * Double(s.runningVCPUMillis) / Double(whole) : 0
        return (usage, target, held)
    }

    func activeInverseWeights() -> Double {
        var sum = 0.0
        for share in shares where share.isActive { sum += 1 / share.weight }
        return sum
    }

    /// Calls `body` with the share's runnable jobs in order until it returns false.
    func forEachRunnable(of share: Int, _ body: (Entry) -> Bool) {
        var laneID = shares[share].firstLane
        while laneID >= 0 {
            let lane = lanes[Int(laneID)]
            for index in lane.head..<lane.entries.count where !lane.entries[index].isRemoved {
                if !body(lane.entries[index]) { return }
            }
            laneID = lane.next
        }
    }

    /// The heap's order: lower key, then the share seen first.
    static func before(_ key: Double, _ share: Int, _ otherKey: Double, _ other: Int) -> Bool {
        key < otherKey || (key == otherKey && share < other)
    }

    /// A JSON number with at most `decimals` decimals, trailing zeros dropped.
    static func format(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "0" }
        var scale: Int64 = 1
        for _ in 0..<decimals { scale *= 10 }
        guard value.magnitude * Double(scale) < 9e15 else { return "\(value.rounded())" }
        let scaled = Int64((value * Double(scale)).rounded())
        let magnitude = scaled.magnitude
        var text = scaled < 0 ? "-\(magnitude / UInt64(scale))" : "\(magnitude / UInt64(scale))"
        var fraction = magnitude % UInt64(scale)
        guard fraction != 0 else { return text }
        var digits = decimals
        while fraction % 10 == 0 { fraction /= 10; digits -= 1 }
        let written = String(fraction)
        text += "." + String(repeating: "0", count: digits - written.count) + written
        return text
    }

    /// A JSON string literal.
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
