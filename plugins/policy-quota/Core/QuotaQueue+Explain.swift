// "Why is my job waiting" (docket_policy_explain_v1): where a job stands and every share's
// standing, as JSON. Not on the hot path: these walk lanes and build strings.

extension QuotaQueue {
    /// Where a runnable job stands, as the JSON object explain_job returns; nil for a key that is
    /// not runnable here. Keys: position (0-based place in pick's round-robin order, counting
    /// every runnable job as if all fit), share, shareUsage (vCPUs in use), shareTargetPercent
    /// (its VCPU limit as a percentage of `capacity`, when both are known), shareHeldPercent
    /// (its usage of its most-used limited unit as a percentage of that limit), reason.
    public func explain(key: UInt64) -> String? {
        guard let slot = slots.value(for: key) else { return nil }
        let job = jobs[slot]
        switch job.state {
        case .orphan:
            let names = shares.map(\.name).joined(separator: ", ")
            return "{\"reason\": \(Self.quote("the job names no quota share of this queue, so it cannot start; resubmit it with shareIdentifier set to one of: \(names)."))}"
        case .runnable: break
        default: return nil
        }
        let s = Int(job.share)
        let share = shares[s]
        var fields: [String] = []
        fields.append("\"position\": \(position(slot: slot, share: s))")
        fields.append("\"share\": \(Self.quote(share.name))")
        fields.append("\"shareUsage\": \(Self.number(Double(share.usage[0]) / 1000))")
        if let target = targetPercent(s) { fields.append("\"shareTargetPercent\": \(Self.number(target))") }
        if let held = heldPercent(s) { fields.append("\"shareHeldPercent\": \(Self.number(held.percent))") }
        fields.append("\"reason\": \(Self.quote(reason(slot: slot, share: s)))")
        return "{" + fields.joined(separator: ", ") + "}"
    }

    /// Every share's standing, as the JSON object describe_shares returns: activeShareCount
    /// (shares with running jobs) and shares[] with shareIdentifier, vcpuMillisInUse, usage (vCPUs
    /// in use), heldPercent, targetPercent (when `capacity` is known), runningJobs, runnableJobs
    /// and strategy; most vCPUs in use first, then by name.
    public func describeShares() -> String {
        let order = shares.indices.sorted {
            (shares[$0].usage[0], shares[$1].name) > (shares[$1].usage[0], shares[$0].name)
        }
        let active = shares.filter { !$0.running.isEmpty }.count
        let entries = order.map { s -> String in
            let share = shares[s]
            var fields = ["\"shareIdentifier\": \(Self.quote(share.name))", "\"vcpuMillisInUse\": \(share.usage[0])",
                          "\"usage\": \(Self.number(Double(share.usage[0]) / 1000))"]
            if let held = heldPercent(s) { fields.append("\"heldPercent\": \(Self.number(held.percent))") }
            if let target = targetPercent(s) { fields.append("\"targetPercent\": \(Self.number(target))") }
            fields.append("\"runningJobs\": \(share.running.count)")
            fields.append("\"runnableJobs\": \(share.runnable)")
            fields.append("\"strategy\": \"\(share.settings.strategy.rawValue)\"")
            return "{" + fields.joined(separator: ", ") + "}"
        }
        return "{\"activeShareCount\": \(active), \"shares\": [" + entries.joined(separator: ", ") + "]}"
    }

    /// The share's VCPU limit as a percentage of the queue's vCPUs; nil without either.
    func targetPercent(_ s: Int) -> Double? {
        guard let capacity = settings.capacity, capacity[0] > 0, shares[s].limit[0] < QuotaSettings.unlimited else { return nil }
        return Double(shares[s].limit[0]) * 100 / Double(capacity[0])
    }

    /// The limited unit the share uses most of, relative to its limit, and that percentage; nil
    /// when it limits nothing.
    func heldPercent(_ s: Int) -> (unit: Int, percent: Double)? {
        var best: (unit: Int, percent: Double)?
        for unit in 0..<4 where shares[s].limit[unit] < QuotaSettings.unlimited {
            let percent = Double(shares[s].usage[unit]) * 100 / Double(shares[s].limit[unit])
            if best == nil || percent > best!.percent { best = (unit, percent) }
        }
        return best
    }

    /// The job's place in pick's phase-1 order: round-robin across shares from the share the next
    /// pick starts with, one job per share per round.
    func position(slot: Int, share s: Int) -> Int {
        let rank = rankInShare(slot: slot, share: s)
        var position = 0
        let n = shares.count
        for step in 0..<n {
            let t = (rotation + step) % n
            position += min(shares[t].runnable, rank)
            if t == s { break }
            if shares[t].runnable > rank { position += 1 }
        }
        // Shares after `s` in the round contribute only their earlier rounds.
        var seen = false
        for step in 0..<n {
            let t = (rotation + step) % n
            if seen { position += min(shares[t].runnable, rank) }
            if t == s { seen = true }
        }
        return position
    }

    /// How many of the share's runnable jobs come before the job.
    func rankInShare(slot: Int, share s: Int) -> Int {
        var rank = 0
        let own = jobs[slot].rank
        for id in shares[s].laneOrder {
            let lane = lanes[Int(id)]
            if lane.rank != own { rank += lane.live; continue }
            let index = jobs[slot].position - lane.base
            for entry in lane.entries[lane.head..<index] where entry >= 0 { rank += 1 }
            break
        }
        return rank
    }

    /// One sentence with the numbers: what holds the job back.
    func reason(slot: Int, share s: Int) -> String {
        let share = shares[s]
        let need = jobs[slot].need
        let name = "quota share \(share.name)"
        if share.reclaim.serial != 0 && share.reclaim.waitingKey == jobs[slot].key && share.reclaim.outstanding > 0 {
            let count = share.reclaim.outstanding
            return "\(name) preempted \(count) job\(count == 1 ? "" : "s") of \(share.reclaim.from) to take back \(Self.describe(share.reclaim.amount, in: need)) it lent; this job starts when they have stopped."
        }
        let after = share.usage &+ need
        guard let unit = (0..<4).first(where: { after[$0] > share.limit[$0] }) else {
            let ahead = rankInShare(slot: slot, share: s)
            let standing = heldPercent(s).map { "uses \(Self.amount($0.unit, share.usage[$0.unit])) of its \(Self.amount($0.unit, share.limit[$0.unit])) \(Self.unitName($0.unit))" } ?? "has no limits"
            return "\(name) \(standing); this job fits its own limits and waits for free capacity\(ahead > 0 ? " behind \(ahead) job\(ahead == 1 ? "" : "s") of the share" : "")."
        }
        let uses = "\(name) uses \(Self.amount(unit, share.usage[unit])) of its \(Self.amount(unit, share.limit[unit])) \(Self.unitName(unit))"
        guard share.canBorrow else {
            return "\(uses) and may not borrow (\(share.settings.strategy.rawValue)); this job needs \(Self.amount(unit, need[unit])) more."
        }
        let borrowed = max(0, share.usage[unit] - share.limit[unit])
        let allowance = share.ceiling[unit] >= QuotaSettings.unlimited ? nil : share.ceiling[unit] - share.limit[unit]
        var lendable = QuotaAmounts.zero
        for t in shares.indices where t != s { lendable &+= contribution(t, shares[t].usage) }
        let borrowing = allowance.map { "borrowing \(Self.amount(unit, borrowed)) of \(Self.amount(unit, $0)) allowed \(Self.unitName(unit))" }
            ?? "borrowing \(Self.amount(unit, borrowed)) \(Self.unitName(unit)) (no borrow limit)"
        if after[unit] > share.ceiling[unit] {
            return "\(uses), \(borrowing); this job needs \(Self.amount(unit, need[unit])) more, beyond its borrow limit."
        }
        let available = lendable[unit] >= QuotaSettings.unlimited / 2 ? "other shares do not limit \(Self.unitName(unit)), so it waits for free capacity"
            : "\(Self.amount(unit, max(0, lendable[unit]))) \(lendable[unit] == 1 && unit != 0 ? "is" : "are") lendable now"
        return "\(uses), \(borrowing); \(available)."
    }

    static func amount(_ unit: Int, _ value: Int64) -> String { unit == 0 ? vcpus(value) : "\(value)" }

    static func unitName(_ unit: Int) -> String {
        switch unit {
        case 0: return "vCPUs"
        case 1: return "MiB of memory"
        case 2: return "GPUs"
        default: return "jobs"
        }
    }

    /// A JSON number: whole numbers without a fraction, others to two decimals.
    static func number(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        if rounded == rounded.rounded() && abs(rounded) < 1e15 { return "\(Int64(rounded))" }
        return "\(rounded)"
    }

    /// A JSON string literal.
    static func quote(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
