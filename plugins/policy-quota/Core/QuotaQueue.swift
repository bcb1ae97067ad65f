import DocketPolicySupport

/// A job queue's runnable and running jobs under quota shares (reference §6.5): each share is a
/// virtual queue with its own capacity limits; idle capacity of lending shares goes to borrowing
/// shares, and comes back by preemption when its owner needs it.
///
/// Order within a share:
/// 1. retried jobs first (AWS puts a retry at the front);
/// 2. higher scheduling priority;
/// 3. lower submission sequence, which is unique, so the order is total.
///
/// `pick` hands out, in this order:
/// 0. a job whose share reclaimed capacity for it, once the preempted jobs have finished;
/// 1. jobs within their share's own limits, round-robin across shares (one job per share per
///    round; the first share of the round rotates from call to call);
/// 2. jobs of LEND_AND_BORROW shares on lent capacity, oldest job (lowest sequence) first across
///    shares, while lendable capacity, the share's borrow limit and `free` allow.
///
/// Each share holds lanes, one per (retry, priority), in rank order; a lane is an array of jobs by
/// sequence with tombstones and a head index, like the FIFO policy's. Jobs live in one slab,
/// found by key through an open-addressing map. Arrival and removal are O(1) amortised (an
/// out-of-order sequence inserts in place), and pick allocates nothing.
///
/// Not thread-safe: the policy ABI serializes every call for one instance.
public struct QuotaQueue {
    /// Asks the host to preempt a running job (docket_preempt_service_v1.request_preemption) with
    /// the reason the job's statusReason shows after "Preempted: ". Returns whether the host
    /// accepted. nil: no preemption service, so no preemption.
    public typealias Preempt = (_ key: UInt64, _ reason: String) -> Bool

    /// How many jobs that do not fit a share may pass over per phase of one pick, so that a pick
    /// costs a bounded amount however many jobs wait; jobs further back wait for a later pick.
    public static let scanDepth = 64

    public let settings: QuotaSettings
    public var preempt: Preempt?

    enum State: UInt8 { case free, runnable, running, orphan }

    struct Job {
        var key: UInt64 = 0
        var sequence: UInt64 = 0
        var need = QuotaAmounts(0, 0, 0, 1)
        var startedAt: Int64 = 0
        var startOrder: UInt64 = 0
        /// In a lane: its index + the lane's base; running: its index in the share's `running`.
        var position = 0
        var priority: Int32 = 0
        /// Index in `shares`; -1 for a job whose share identifier names no share of this queue.
        var share: Int32 = -1
        /// The pick call that handed it out last, so one call never hands it out twice.
        var mark: UInt32 = 0
        /// Non-zero while it is asked to be preempted: the serial of the reclaim it serves, or
        /// `reducedLimitSerial`.
        var victimOf: UInt32 = 0
        var state = State.free
        var isRetry = false
        /// Started beyond its share's own limits, on capacity other shares lent.
        var isBorrowed = false

        var rank: UInt64 { Self.rank(isRetry: isRetry, priority: priority) }
        static func rank(isRetry: Bool, priority: Int32) -> UInt64 {
            (isRetry ? 1 << 33 : 0) | UInt64(Int64(priority) + Int64(1) << 31)
        }
    }

    struct Lane {
        var rank: UInt64
        var entries: [Int32] = []
        var head = 0
        var live = 0
        var base = 0
    }

    /// A share waiting for preempted jobs to give back capacity to one of its jobs.
    struct Reclaim {
        var serial: UInt32 = 0  // 0: none
        var waitingKey: UInt64 = 0
        var outstanding = 0
        /// What the preempted jobs hold, for explain.
        var amount = QuotaAmounts.zero
        var from = ""
    }

    struct Share {
        let name: String
        let settings: QuotaSettings.Share
        let limit: QuotaAmounts
        let ceiling: QuotaAmounts
        let isLender: Bool
        let canBorrow: Bool
        var usage = QuotaAmounts.zero
        /// Of `usage`: running jobs asked to be preempted.
        var victimUsage = QuotaAmounts.zero
        /// Of `usage`: borrowed running jobs not asked to be preempted.
        var borrowedUsage = QuotaAmounts.zero
        /// A lower bound of every runnable job's need (reset when none is runnable): a share
        /// with less room than this in some unit has nothing to start.
        var minNeed = QuotaAmounts(repeating: QuotaSettings.unlimited)
        /// Lane ids, best rank first.
        var laneOrder: [Int32] = []
        var runnable = 0
        var running: [Int32] = []
        var reclaim = Reclaim()
        /// Bumped when its running set changes; an in-share preemption that found no victims
        /// is not searched again until it does.
        var runningVersion = 0
        var inShareFailedVersion = -1
    }

    var shares: [Share]
    var jobs: [Job] = []
    var freeSlots: [Int32] = []
    var slots = KeyPositionMap()
    var lanes: [Lane] = []
    var freeLanes: [Int32] = []

    var pickSerial: UInt32 = 0
    var startCounter: UInt64 = 0
    var reclaimSerial: UInt32 = 1
    /// Reclaims with victims still running: borrowing pauses while there is one, so capacity
    /// coming back goes to the share that reclaimed it.
    var pendingReclaims = 0
    /// The first share of phase 1's round-robin.
    var rotation = 0
    /// Set by a start: a share may run beyond its (new) limits after a restart or a new instance.
    var needsLimitCheck = true
    static let reducedLimitSerial: UInt32 = .max

    // Per-pick scratch, allocated once.
    var scratchUsage: [QuotaAmounts]
    var cursorLane: [Int]
    var cursorEntry: [Int]
    var budget: [Int]
    var candidate: [Int32]
    var reclaimTried: [Bool]

    public init(settings: QuotaSettings, preempt: Preempt? = nil) {
        self.settings = settings
        self.preempt = preempt
        shares = settings.shares.map { share in
            Share(name: share.name, settings: share, limit: share.limits, ceiling: share.ceiling,
                  isLender: share.isLender, canBorrow: share.canBorrow)
        }
        let n = shares.count
        scratchUsage = Array(repeating: .zero, count: n)
        cursorLane = Array(repeating: 0, count: n)
        cursorEntry = Array(repeating: 0, count: n)
        budget = Array(repeating: 0, count: n)
        candidate = Array(repeating: -1, count: n)
        reclaimTried = Array(repeating: false, count: n)
    }

    // MARK: Queries

    /// The number of runnable jobs held (orphans included).
    public var runnableCount: Int { slots.count - runningCount }
    /// The number of running jobs the policy was told of.
    public private(set) var runningCount = 0

    /// The share's index in the settings, or nil.
    public func shareIndex(_ name: String) -> Int? { shares.firstIndex { $0.name == name } }

    /// What a share's running jobs hold, per unit (JOBS = how many).
    public func usage(ofShare name: String) -> QuotaAmounts? { shareIndex(name).map { shares[$0].usage } }

    /// Whether the running job started on capacity other shares lent; nil for a key not running.
    public func isBorrowing(_ key: UInt64) -> Bool? {
        guard let slot = slots.value(for: key), jobs[slot].state == .running else { return nil }
        return jobs[slot].isBorrowed
    }

    // MARK: Events

    /// A job entered the runnable set (job_runnable). A key already held moves to its new place;
    /// one still running is finished first. `share` nil or unknown: the job is held and never
    /// handed out (explain says why).
    public mutating func add(key: UInt64, sequence: UInt64, isRetry: Bool = false, schedulingPriority: Int32 = 0,
                             vcpuMillis: Int64, memoryMiB: Int64 = 0, gpus: Int64 = 0, share: String?) {
        if let slot = slots.value(for: key) {
            if jobs[slot].state == .running { finish(key: key) } else { remove(key) }
        }
        let shareIndex = share.flatMap(self.shareIndex)
        var job = Job()
        job.key = key
        job.sequence = sequence
        job.isRetry = isRetry
        job.priority = schedulingPriority
        job.need = QuotaAmounts(max(0, vcpuMillis), max(0, memoryMiB), max(0, gpus), 1)
        job.share = Int32(shareIndex ?? -1)
        job.state = shareIndex == nil ? .orphan : .runnable
        let slot = allocateSlot(job)
        slots.set(key, slot)
        guard let s = shareIndex else { return }
        shares[s].runnable += 1
        shares[s].minNeed = pointwiseMin(shares[s].minNeed, job.need)
        let lane = laneID(share: s, rank: job.rank)
        insertBySequence(slot: Int32(slot), lane: Int(lane))
    }

    /// A runnable job left without starting (job_removed). Unknown or running keys are ignored.
    public mutating func remove(_ key: UInt64) {
        guard let slot = slots.value(for: key) else { return }
        switch jobs[slot].state {
        case .runnable:
            detachRunnable(slot)
            clearReclaim(waitingFor: key, share: Int(jobs[slot].share))
        case .orphan: break
        default: return
        }
        _ = slots.remove(key)
        releaseSlot(slot)
    }

    /// A job started (job_started) holding `vcpuMillis`/`memoryMiB`/`gpus` (nil: what it asked).
    /// It counts as borrowing when it does not fit its share's own limits next to what the share
    /// already runs. A key never seen runnable (a restart's replay) is kept, but counts against
    /// no share.
    public mutating func start(key: UInt64, vcpuMillis: Int64? = nil, memoryMiB: Int64? = nil, gpus: Int64? = nil, startedAt: Int64) {
        var slot = slots.value(for: key) ?? -1
        if slot >= 0, jobs[slot].state == .running { return }
        if slot < 0 {
            var job = Job()
            job.key = key
            slot = allocateSlot(job)
            slots.set(key, slot)
        } else if jobs[slot].state == .runnable {
            detachRunnable(slot)
            clearReclaim(waitingFor: key, share: Int(jobs[slot].share))
        }
        let asked = jobs[slot].need
        let need = QuotaAmounts(max(0, vcpuMillis ?? asked[0]), max(0, memoryMiB ?? asked[1]), max(0, gpus ?? asked[2]), 1)
        startCounter += 1
        jobs[slot].need = need
        jobs[slot].state = .running
        jobs[slot].startedAt = startedAt
        jobs[slot].startOrder = startCounter
        jobs[slot].victimOf = 0
        runningCount += 1
        let s = Int(jobs[slot].share)
        guard s >= 0 else { return }
        let borrowed = !all(shares[s].usage &+ need .<= shares[s].limit)
        jobs[slot].isBorrowed = borrowed
        jobs[slot].position = shares[s].running.count
        shares[s].running.append(Int32(slot))
        shares[s].usage &+= need
        if borrowed { shares[s].borrowedUsage &+= need }
        shares[s].runningVersion += 1
        needsLimitCheck = true
    }

    /// A started job's attempt ended (job_finished). Unknown keys are ignored.
    public mutating func finish(key: UInt64) {
        guard let slot = slots.value(for: key), jobs[slot].state == .running else { return }
        let job = jobs[slot]
        runningCount -= 1
        if job.share >= 0 {
            let s = Int(job.share)
            shares[s].usage &-= job.need
            if job.victimOf != 0 {
                shares[s].victimUsage &-= job.need
                victimFinished(serial: job.victimOf)
            } else if job.isBorrowed {
                shares[s].borrowedUsage &-= job.need
            }
            let last = shares[s].running.removeLast()
            if Int(last) != slot {
                shares[s].running[job.position] = last
                jobs[Int(last)].position = job.position
            }
            shares[s].runningVersion += 1
        }
        _ = slots.remove(key)
        releaseSlot(slot)
    }

    // MARK: Pick

    /// Writes up to `limit` keys into `out` in the order the host should try them and returns
    /// how many (the policy's pick). Each key handed out counts as started for the rest of the
    /// call: against its share's usage, the lendable capacity and `free`. A job that asks more
    /// of a resource than is free is passed over. May ask `preempt` to stop running jobs
    /// (cross-share reclaim, lowered limits, in-share preemption). Allocates nothing unless it
    /// preempts.
    public mutating func pick(freeVCPUMillis: Int64, freeMemoryMiB: Int64, freeGPUs: Int64, now: Int64,
                              into out: UnsafeMutablePointer<UInt64>, limit: Int) -> Int {
        guard limit > 0, !shares.isEmpty else { return 0 }
        if needsLimitCheck { enforceLimits() }
        pickSerial &+= 1
        if pickSerial == 0 { pickSerial = 1 }
        let n = shares.count
        var free = pointwiseMax(QuotaAmounts(freeVCPUMillis, freeMemoryMiB, freeGPUs, QuotaSettings.unlimited), .zero)
        var lendable = QuotaAmounts.zero
        for s in 0..<n {
            scratchUsage[s] = shares[s].usage
            lendable &+= contribution(s, shares[s].usage)
            reclaimTried[s] = false
        }
        var written = 0

        // 0. Jobs whose reclaimed capacity came back go first, so nothing else takes it.
        for s in 0..<n where shares[s].reclaim.serial != 0 && shares[s].reclaim.outstanding == 0 {
            let key = shares[s].reclaim.waitingKey
            shares[s].reclaim = Reclaim()
            guard written < limit, let slot = slots.value(for: key), jobs[slot].state == .runnable else { continue }
            let need = jobs[slot].need
            guard all(need .<= free), all(scratchUsage[s] &+ need .<= shares[s].limit) else { continue }
            emit(slot, share: s, &free, &lendable, out, &written)
        }

        // 1. Within own limits, round-robin.
        for s in 0..<n {
            cursorLane[s] = 0
            cursorEntry[s] = 0
            budget[s] = shares[s].runnable > 0 ? Self.scanDepth : 0
        }
        var active = true
        while active && written < limit {
            active = false
            for step in 0..<n where written < limit {
                let s = (rotation + step) % n
                guard budget[s] > 0 else { continue }
                let room = shares[s].limit &- scratchUsage[s]
                let mayPreempt = preempt != nil && shares[s].reclaim.serial == 0 && !reclaimTried[s]
                if any(room .< shares[s].minNeed) {
                    // Nothing fits its own limits; with in-share preemption a better job may still
                    // push out a worse one, so the scan goes on for that alone.
                    if !(mayPreempt && shares[s].settings.inSharePreemption) { budget[s] = 0; continue }
                } else if any(free .< shares[s].minNeed) {
                    // Nothing fits what is free; the scan goes on only to reclaim lent capacity.
                    if !(mayPreempt && anyBorrowed(besides: s)) { budget[s] = 0; continue }
                }
                var found = false
                while budget[s] > 0 {
                    let slot = nextSlot(s)
                    if slot < 0 { budget[s] = 0; break }
                    let need = jobs[slot].need
                    let fitsOwn = all(scratchUsage[s] &+ need .<= shares[s].limit)
                    if fitsOwn && all(need .<= free) {
                        emit(slot, share: s, &free, &lendable, out, &written)
                        found = true
                        break
                    }
                    budget[s] -= 1
                    if !reclaimTried[s] && shares[s].reclaim.serial == 0 && preempt != nil {
                        if fitsOwn {
                            reclaimTried[s] = true
                            reclaimLent(for: slot, share: s, free: free)
                        } else if shares[s].settings.inSharePreemption {
                            reclaimTried[s] = true
                            preemptWithinShare(for: slot, share: s)
                        }
                    }
                }
                if found { active = true }
            }
        }
        rotation = (rotation + 1) % n

        // 2. Borrowing, oldest job first across shares.
        guard pendingReclaims == 0, written < limit else { return written }
        for s in 0..<n {
            cursorLane[s] = 0
            cursorEntry[s] = 0
            candidate[s] = -1
            let room = shares[s].ceiling &- scratchUsage[s]
            let mayBorrow = shares[s].canBorrow && shares[s].runnable > 0 && !any(room .< shares[s].minNeed) && !any(free .< shares[s].minNeed)
            budget[s] = mayBorrow ? Self.scanDepth : 0
        }
        while written < limit {
            var best = -1
            var bestSequence = UInt64.max
            for s in 0..<n where budget[s] > 0 || candidate[s] >= 0 {
                var slot = Int(candidate[s])
                // What is left only shrinks during a call, so a candidate that no longer fits is dropped.
                if slot >= 0 && !fitsBorrowing(slot, share: s, free: free, lendable: lendable) { slot = -1 }
                while slot < 0 && budget[s] > 0 {
                    let next = nextSlot(s)
                    if next < 0 { budget[s] = 0; break }
                    if fitsBorrowing(next, share: s, free: free, lendable: lendable) { slot = next } else { budget[s] -= 1 }
                }
                candidate[s] = Int32(slot)
                if slot >= 0 && jobs[slot].sequence < bestSequence {
                    bestSequence = jobs[slot].sequence
                    best = s
                }
            }
            guard best >= 0 else { break }
            emit(Int(candidate[best]), share: best, &free, &lendable, out, &written)
            candidate[best] = -1
        }
        return written
    }

    /// Whether shares other than `s` run borrowed jobs not yet asked to stop.
    @inline(__always)
    func anyBorrowed(besides s: Int) -> Bool {
        for t in shares.indices where t != s && any(shares[t].borrowedUsage .> 0) { return true }
        return false
    }

    /// Whether a job of share `s` may start now on lent capacity: within the share's ceiling
    /// (limits plus borrowLimit), within `free`, and borrowing no more per unit than the other
    /// shares have lendable.
    @inline(__always)
    func fitsBorrowing(_ slot: Int, share s: Int, free: QuotaAmounts, lendable: QuotaAmounts) -> Bool {
        let need = jobs[slot].need
        let before = scratchUsage[s]
        let after = before &+ need
        guard all(need .<= free), all(after .<= shares[s].ceiling) else { return false }
        // Where it borrows more, what the share then borrows in all must be within what the other
        // shares have idle to lend, less what they borrow themselves.
        let limit = shares[s].limit
        let excess = pointwiseMax(after &- limit, .zero)
        let borrowsMore = excess .> pointwiseMax(before &- limit, .zero)
        let others = lendable &- contribution(s, before)
        return all(.!borrowsMore .| (excess .<= others))
    }

    /// What share `s` adds to the lendable capacity at usage `usage`: its idle capacity when it
    /// lends, less what it runs beyond its limits.
    @inline(__always)
    func contribution(_ s: Int, _ usage: QuotaAmounts) -> QuotaAmounts {
        let limit = shares[s].limit
        let over = pointwiseMax(usage &- limit, .zero)
        return shares[s].isLender ? pointwiseMax(limit &- usage, .zero) &- over : QuotaAmounts.zero &- over
    }

    @inline(__always)
    mutating func emit(_ slot: Int, share s: Int, _ free: inout QuotaAmounts, _ lendable: inout QuotaAmounts,
                       _ out: UnsafeMutablePointer<UInt64>, _ written: inout Int) {
        let need = jobs[slot].need
        let before = scratchUsage[s]
        let after = before &+ need
        lendable &+= contribution(s, after) &- contribution(s, before)
        scratchUsage[s] = after
        free &-= need
        free[3] = QuotaSettings.unlimited
        jobs[slot].mark = pickSerial
        out[written] = jobs[slot].key
        written += 1
    }

    /// The next runnable job of share `s` after its cursor that this pick has not handed out and
    /// that is not held back for a reclaim in progress; -1 when there is none.
    @inline(__always)
    mutating func nextSlot(_ s: Int) -> Int {
        let held = shares[s].reclaim.serial != 0 ? shares[s].reclaim.waitingKey : nil
        while cursorLane[s] < shares[s].laneOrder.count {
            let laneID = Int(shares[s].laneOrder[cursorLane[s]])
            let found: Int = lanes[laneID].entries.withUnsafeBufferPointer { entries in
                var index = max(cursorEntry[s], lanes[laneID].head)
                while index < entries.count {
                    let slot = Int(entries[index])
                    index += 1
                    if slot < 0 || jobs[slot].mark == pickSerial { continue }
                    if let held, jobs[slot].key == held { continue }
                    cursorEntry[s] = index
                    return slot
                }
                return -1
            }
            if found >= 0 { return found }
            cursorLane[s] += 1
            cursorEntry[s] = 0
        }
        return -1
    }

    // MARK: Preemption

    /// Cross-share reclaim: the job in `slot` fits its share's own limits but not `free`. Asks
    /// the host to preempt other shares' borrowed jobs, newest started first, only as many as
    /// free the shortfall, and only when all of them together would.
    mutating func reclaimLent(for slot: Int, share s: Int, free: QuotaAmounts) {
        var short = pointwiseMax(jobs[slot].need &- free, .zero)
        short[3] = 0
        guard any(short .> 0) else { return }
        var lent = QuotaAmounts.zero
        for t in shares.indices where t != s { lent &+= shares[t].borrowedUsage }
        guard all(lent .>= short) else { return }
        var candidates: [Int] = []
        for t in shares.indices where t != s {
            for running in shares[t].running {
                let r = Int(running)
                if jobs[r].isBorrowed && jobs[r].victimOf == 0 { candidates.append(r) }
            }
        }
        candidates.sort { (jobs[$0].startedAt, jobs[$0].startOrder) > (jobs[$1].startedAt, jobs[$1].startOrder) }
        let wanted = short
        var victims: [(Int, String)] = []
        for r in candidates where any(short .> 0) {
            let gives = pointwiseMin(jobs[r].need, pointwiseMax(short, .zero))
            guard any(gives .> 0) else { continue }
            victims.append((r, "quota share \(shares[s].name) reclaims \(Self.describe(jobs[r].need, in: wanted)) it lent to \(shares[Int(jobs[r].share)].name)"))
            short &-= jobs[r].need
        }
        requestPreemption(victims, waiting: slot, share: s)
    }

    /// In-share preemption: the job in `slot` does not fit its share's limits; with
    /// inSharePreemption ENABLED it pushes out the share's running jobs of lower priority, lowest
    /// first and newest first among equals, when enough of them would make it fit.
    mutating func preemptWithinShare(for slot: Int, share s: Int) {
        guard shares[s].inShareFailedVersion != shares[s].runningVersion else { return }
        let need = jobs[slot].need
        let priority = jobs[slot].priority
        var candidates: [Int] = []
        for running in shares[s].running {
            let r = Int(running)
            if jobs[r].victimOf == 0 && jobs[r].priority < priority { candidates.append(r) }
        }
        candidates.sort {
            (jobs[$0].priority, -jobs[$0].startedAt, -Int64(jobs[$0].startOrder)) < (jobs[$1].priority, -jobs[$1].startedAt, -Int64(jobs[$1].startOrder))
        }
        var usage = shares[s].usage &- shares[s].victimUsage
        var victims: [(Int, String)] = []
        for r in candidates where !all(usage &+ need .<= shares[s].limit) {
            let over = usage &+ need &- shares[s].limit
            guard any((over .> 0) .& (jobs[r].need .> 0)) else { continue }
            victims.append((r, "quota share \(shares[s].name): a job of priority \(priority) preempts this one of priority \(jobs[r].priority) (in-share preemption)"))
            usage &-= jobs[r].need
        }
        guard all(usage &+ need .<= shares[s].limit) else {
            shares[s].inShareFailedVersion = shares[s].runningVersion
            return
        }
        requestPreemption(victims, waiting: slot, share: s)
    }

    /// Asks for each victim in turn and, when the host took at least one, holds `slot` back
    /// until they finish.
    mutating func requestPreemption(_ victims: [(slot: Int, reason: String)], waiting slot: Int, share s: Int) {
        guard !victims.isEmpty, let preempt else { return }
        let serial = reclaimSerial
        reclaimSerial = reclaimSerial &+ 1 == Self.reducedLimitSerial ? 1 : reclaimSerial &+ 1
        var reclaim = Reclaim(serial: serial, waitingKey: jobs[slot].key)
        var from: [String] = []
        for (victim, reason) in victims {
            let accepted = preempt(jobs[victim].key, reason)
            // Asked once either way: a refused job is not asked again on every pick.
            markVictim(victim, serial: accepted ? serial : Self.reducedLimitSerial)
            guard accepted else { continue }
            reclaim.outstanding += 1
            reclaim.amount &+= jobs[victim].need
            let name = shares[Int(jobs[victim].share)].name
            if !from.contains(name) { from.append(name) }
        }
        guard reclaim.outstanding > 0 else { return }
        reclaim.from = from.joined(separator: ", ")
        shares[s].reclaim = reclaim
        pendingReclaims += 1
    }

    mutating func markVictim(_ r: Int, serial: UInt32) {
        let t = Int(jobs[r].share)
        jobs[r].victimOf = serial
        shares[t].victimUsage &+= jobs[r].need
        if jobs[r].isBorrowed { shares[t].borrowedUsage &-= jobs[r].need }
    }

    mutating func victimFinished(serial: UInt32) {
        guard serial != Self.reducedLimitSerial, let s = shares.firstIndex(where: { $0.reclaim.serial == serial }) else { return }
        shares[s].reclaim.outstanding -= 1
        if shares[s].reclaim.outstanding == 0 { pendingReclaims -= 1 }
    }

    /// The waiting job of share `s`'s reclaim started or left: the reclaim ends.
    mutating func clearReclaim(waitingFor key: UInt64, share s: Int) {
        guard s >= 0, shares[s].reclaim.serial != 0, shares[s].reclaim.waitingKey == key else { return }
        if shares[s].reclaim.outstanding > 0 { pendingReclaims -= 1 }
        shares[s].reclaim = Reclaim()
    }

    /// Capacity reduced: a share that runs more than its limits allow (plus its borrow limit)
    /// preempts its own newest jobs until it does not, whatever its strategy (reference §6.5).
    mutating func enforceLimits() {
        needsLimitCheck = false
        guard preempt != nil else { return }
        for s in shares.indices {
            var usage = shares[s].usage &- shares[s].victimUsage
            guard any(usage .> shares[s].ceiling) else { continue }
            let order = shares[s].running.map(Int.init).filter { jobs[$0].victimOf == 0 }
                .sorted { (jobs[$0].startedAt, jobs[$0].startOrder) > (jobs[$1].startedAt, jobs[$1].startOrder) }
            for r in order where any(usage .> shares[s].ceiling) {
                let over = usage .> shares[s].ceiling
                guard any(over .& (jobs[r].need .> 0)) else { continue }
                let unit = (0..<4).first { over[$0] }!
                let allowed = shares[s].ceiling[unit]
                let reason = "quota share \(shares[s].name) may use \(Self.describe(unit, allowed)) and uses \(Self.describe(unit, usage[unit])); its newest jobs give back the difference"
                let accepted = preempt!(jobs[r].key, reason)
                markVictim(r, serial: Self.reducedLimitSerial)
                if accepted { usage &-= jobs[r].need }
            }
        }
    }

    // MARK: Storage

    mutating func allocateSlot(_ job: Job) -> Int {
        if let slot = freeSlots.popLast() {
            jobs[Int(slot)] = job
            return Int(slot)
        }
        jobs.append(job)
        return jobs.count - 1
    }

    mutating func releaseSlot(_ slot: Int) {
        jobs[slot].state = .free
        freeSlots.append(Int32(slot))
    }

    /// The lane of share `s` for `rank`, created in rank order when missing.
    mutating func laneID(share s: Int, rank: UInt64) -> Int32 {
        var low = 0, high = shares[s].laneOrder.count
        while low < high {
            let middle = (low + high) / 2
            let r = lanes[Int(shares[s].laneOrder[middle])].rank
            if r == rank { return shares[s].laneOrder[middle] }
            if r > rank { low = middle + 1 } else { high = middle }
        }
        let id: Int32
        if let reused = freeLanes.popLast() {
            id = reused
            lanes[Int(id)] = Lane(rank: rank)
        } else {
            id = Int32(lanes.count)
            lanes.append(Lane(rank: rank))
        }
        shares[s].laneOrder.insert(id, at: low)
        return id
    }

    /// Inserts by sequence. Sequences normally arrive increasing, so this is an append; an
    /// earlier one goes in place, moving what follows.
    mutating func insertBySequence(slot: Int32, lane l: Int) {
        let sequence = jobs[Int(slot)].sequence
        let lastLive = lanes[l].entries.last { $0 >= 0 }
        guard let lastLive, jobs[Int(lastLive)].sequence > sequence else {
            jobs[Int(slot)].position = lanes[l].entries.count + lanes[l].base
            lanes[l].entries.append(slot)
            lanes[l].live += 1
            return
        }
        // Tombstones have no sequence to search by: drop them first (this insert is O(lane) anyway).
        if lanes[l].live < lanes[l].entries.count { compact(lane: l) }
        var low = 0, high = lanes[l].entries.count
        while low < high {
            let middle = (low + high) / 2
            if jobs[Int(lanes[l].entries[middle])].sequence <= sequence { low = middle + 1 } else { high = middle }
        }
        lanes[l].entries.insert(slot, at: low)
        lanes[l].live += 1
        for index in low..<lanes[l].entries.count where lanes[l].entries[index] >= 0 {
            jobs[Int(lanes[l].entries[index])].position = index + lanes[l].base
        }
    }

    /// Takes a runnable job out of its lane (it started or left).
    mutating func detachRunnable(_ slot: Int) {
        let s = Int(jobs[slot].share)
        let l = Int(laneID(share: s, rank: jobs[slot].rank))
        let index = jobs[slot].position - lanes[l].base
        lanes[l].entries[index] = -1
        lanes[l].live -= 1
        shares[s].runnable -= 1
        if shares[s].runnable == 0 { shares[s].minNeed = QuotaAmounts(repeating: QuotaSettings.unlimited) }
        if lanes[l].live == 0 {
            shares[s].laneOrder.removeAll { $0 == Int32(l) }
            lanes[l] = Lane(rank: 0)
            freeLanes.append(Int32(l))
            return
        }
        if index == lanes[l].head {
            while lanes[l].head < lanes[l].entries.count && lanes[l].entries[lanes[l].head] < 0 { lanes[l].head += 1 }
        }
        let tombstones = lanes[l].entries.count - lanes[l].live
        if tombstones > 64 && tombstones * 2 > lanes[l].entries.count { compact(lane: l) }
    }

    mutating func compact(lane l: Int) {
        if lanes[l].entries.count - lanes[l].live == lanes[l].head {
            // Every tombstone is before the head: drop them, keep the positions.
            lanes[l].entries.removeSubrange(0..<lanes[l].head)
            lanes[l].base += lanes[l].head
        } else {
            lanes[l].entries.removeAll { $0 < 0 }
            lanes[l].base = 0
            for (index, slot) in lanes[l].entries.enumerated() { jobs[Int(slot)].position = index }
        }
        lanes[l].head = 0
    }

    // MARK: Wording

    static func describe(_ unit: Int, _ amount: Int64) -> String {
        switch unit {
        case 0: return "\(vcpus(amount)) vCPU\(amount == 1000 ? "" : "s")"
        case 1: return "\(amount) MiB of memory"
        case 2: return "\(amount) GPU\(amount == 1 ? "" : "s")"
        default: return "\(amount) job\(amount == 1 ? "" : "s")"
        }
    }

    /// The units of `amounts` that `relevant` has positive, or every non-zero unit when none.
    static func describe(_ amounts: QuotaAmounts, in relevant: QuotaAmounts) -> String {
        var parts: [String] = []
        for unit in 0..<3 where amounts[unit] > 0 && relevant[unit] > 0 { parts.append(describe(unit, amounts[unit])) }
        if parts.isEmpty { for unit in 0..<3 where amounts[unit] > 0 { parts.append(describe(unit, amounts[unit])) } }
        return parts.isEmpty ? "its capacity" : parts.joined(separator: " and ")
    }

    /// Thousandths of a vCPU as a decimal: 4000 → "4", 1500 → "1.5".
    static func vcpus(_ millis: Int64) -> String {
        let whole = millis / 1000, fraction = abs(millis % 1000)
        guard fraction != 0 else { return "\(whole)" }
        var digits = String(fraction + 1000).dropFirst()
        while digits.last == "0" { digits = digits.dropLast() }
        return "\(millis < 0 && whole == 0 ? "-" : "")\(whole).\(digits)"
    }
}
