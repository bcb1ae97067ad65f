#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import DocketPolicySupport

/// Runnable jobs of one job queue in AWS Batch's fair-share order (reference §6.3):
/// 1. the share with the lowest ordering usage (below); ties go to the share seen first;
/// 2. within a share: retried jobs first;
/// 3. then higher schedulingPriority;
/// 4. then lower submission sequence, which is unique, so the order is total.
///
/// A share's usage is its decayed vCPU-seconds times its weightFactor. Decay is exponential with
/// time constant τ = shareDecaySeconds (600 s for 0). Running jobs accrue as they run, read from
/// the caller's clock (`now`, epoch ms: the host's, never the system's). The ordering usage adds
/// to it a look-ahead of `lookAheadSeconds` per running vCPU, and `pick` counts each job it hands
/// out the same way, as if started: so one pick interleaves shares by weight, and the next pick
/// sees the same standing once the host has started those jobs.
///
/// Costs: `add`, `remove`, `start` and `finish` are O(1) amortised plus O(log shares) for the
/// share heap. `pick` is O(log shares) per key handed out, plus O(jobs passed over) when a held
/// job (see `pick`) leaves capacity beyond its ask and jobs do not fit there, plus O(shares) once
/// per change of `now` when shares with runnable jobs also have running ones. It allocates nothing in steady state.
///
/// How usage stays cheap: usage is kept in a frame that grows as e^((t − origin)/τ), the inverse
/// of the decay, so an idle share's scaled usage never changes and only shares with running jobs
/// need new keys when time passes. A running share's scaled usage is a closed form,
/// S + rate·τ·(E(t) − E(t₀)), so it is exact with no per-tick work. The frame is rebased every
/// 200 τ to stay within Double's range.
///
/// Not thread-safe: the policy ABI serializes every call for one instance.
public struct FairShareQueue {
    /// Seconds of use counted ahead for each running or handed-out vCPU when ordering shares.
    /// Without it a just-started job weighs nothing, and a pick of 100 keys would hand all of
    /// them to whichever share was lowest at the start of the pick.
    public static let lookAheadSeconds = 60.0

    struct Entry {
        var key: UInt64
        var sequence: UInt64
        var vcpuMillis: Int64
        var memoryMiB: Int64
        var gpus: Int64
        // A flag, not a reserved key: the ABI allows any uint64 as a job key, 0 included.
        var isRemoved = false
    }

    /// The jobs of one share with one (retry, priority) pair, by sequence, with tombstones.
    struct Lane {
        var entries: [Entry] = []
        /// The first live entry, or entries.count when there is none.
        var head = 0
        var live = 0
        /// Added to an index to make the position stored in the map, so that dropping a prefix
        /// of tombstones changes no map entry.
        var base = 0
        var share: Int32 = -1
        var isRetry = false
        var priority: Int32 = 0
        /// The share's next lane in order, or -1.
        var next: Int32 = -1
    }

    struct Share {
        /// The distribution entry's identifier (`ml*` for a prefix), or the job's own.
        var identifier: String
        var weight: Double
        /// Decayed vCPU-seconds times the frame value `frame` it was last folded at.
        var scaledUsage = 0.0
        var frame = 1.0
        var runningVCPUMillis: Int64 = 0
        var runningJobs = 0
        var runnableJobs = 0
        /// The first lane in order (retries first, then higher priority), or -1.
        var firstLane: Int32 = -1
        /// Place in the share heap, or -1 when the share has no runnable job (or, during a
        /// pick, no job that fits).
        var heapIndex: Int32 = -1
        // Scratch of one pick, valid while pickGeneration is the queue's.
        var pickGeneration: UInt64 = 0
        var cursorLane: Int32 = -1
        var cursorIndex = 0
        var pendingVCPUMillis: Int64 = 0

        var isActive: Bool { runnableJobs > 0 || runningJobs > 0 }
    }

    struct RunningJob {
        var key: UInt64
        var share: Int32
        var vcpuMillis: Int64
        var startedAt: Int64
    }

    public let settings: FairShareSettings
    let decayMillis: Double
    /// vCPU-millis × this = vCPUs × τ in seconds: a rate's contribution per unit of frame.
    let rateScale: Double
    let lookAheadScale: Double

    var shares: [Share] = []
    var lanes: [Lane] = []
    var freeLanes: [Int32] = []
    /// Job key → `laneID << 40 | (index + lane.base)` of runnable jobs.
    var positions = KeyPositionMap()
    /// Job key → index in `running` of started jobs.
    var runningIndex = KeyPositionMap()
    var running: [RunningJob] = []
    var freeRunning: [Int] = []
    /// The host's interned share key → share index (the host's key 0 means "none").
    var shareOfKey = KeyPositionMap()
    var shareOfName: [String: Int32] = [:]
    /// Distribution entries: exact identifiers → share index, and prefixes with their share.
    var exactShares: [String: Int32] = [:]
    var prefixShares: [(stem: String, share: Int32)] = []
    /// Distribution entries by the identifier they were given (`ml*` included).
    var shownAs: [String: Int32] = [:]

    // The share heap: shares with runnable jobs, least ordering usage first.
    var heapKeys: [Double] = []
    var heapShares: [Int32] = []
    /// The clock the keys of running shares in the heap were computed at.
    var heapTime: Int64 = .min

    /// The latest `now` seen (epoch ms); the clock never goes back.
    public private(set) var clock: Int64
    var origin: Int64
    /// e^((clock − origin)/τ).
    var frameNow = 1.0

    public private(set) var activeShareCount = 0
    /// vCPUs (thousandths) of this queue's started jobs that have not finished.
    public private(set) var vcpuMillisInUse: Int64 = 0
    var generation: UInt64 = 0
    var touched: [Int32] = []

    /// A queue with no jobs.
    /// - Parameters:
    ///   - settings: checked settings (see `FairShareSettings.validate`).
    ///   - now: the host's clock, epoch ms; usage decays from here.
    public init(settings: FairShareSettings, now: Int64) {
        self.settings = settings
        decayMillis = settings.decaySeconds * 1000
        rateScale = settings.decaySeconds / 1000
        lookAheadScale = Self.lookAheadSeconds / 1000
        clock = now
        origin = now
        for entry in settings.shareDistribution {
            let index = Int32(shares.count)
            shares.append(Share(identifier: entry.shareIdentifier, weight: entry.weightFactor))
            shownAs[entry.shareIdentifier] = index
            if entry.isPrefix {
                prefixShares.append((String(entry.shareIdentifier.dropLast()), index))
            } else {
                exactShares[entry.shareIdentifier] = index
            }
        }
        touched.reserveCapacity(64)
    }

    /// The number of runnable jobs held.
    public var count: Int { positions.count }

    /// The number of started jobs not yet finished.
    public var runningCount: Int { runningIndex.count }

    // MARK: - Events

    /// A job entered the runnable set. A key already held moves to its new place (a retry that
    /// comes back before the host removed its earlier entry).
    /// - Parameters:
    ///   - shareKey: the host's interned share key, 0 when it has none (then `shareIdentifier`
    ///     is looked up by text).
    ///   - shareIdentifier: the job's share identifier; nil or "" counts as the share "".
    public mutating func add(key: UInt64, sequence: UInt64, isRetry: Bool, schedulingPriority: Int32,
                             vcpuMillis: Int64, memoryMiB: Int64, gpus: Int64,
                             shareKey: UInt64, shareIdentifier: String?) {
        remove(key)
        let share = resolveShare(key: shareKey, identifier: shareIdentifier)
        let laneID = lane(of: share, isRetry: isRetry, priority: schedulingPriority)
        let entry = Entry(key: key, sequence: sequence, vcpuMillis: vcpuMillis, memoryMiB: memoryMiB, gpus: gpus)
        insertBySequence(entry, lane: laneID)
        let wasActive = shares[Int(share)].isActive
        shares[Int(share)].runnableJobs += 1
        if !wasActive { activeShareCount += 1 }
        if shares[Int(share)].heapIndex < 0 { heapInsert(share, key: orderingKey(Int(share), pending: 0)) }
    }

    /// A job overload of `add` that resolves the share by text only.
    public mutating func add(key: UInt64, sequence: UInt64, isRetry: Bool = false, schedulingPriority: Int32 = 0,
                             vcpuMillis: Int64, memoryMiB: Int64 = 0, gpus: Int64 = 0, share: String) {
        add(key: key, sequence: sequence, isRetry: isRetry, schedulingPriority: schedulingPriority,
            vcpuMillis: vcpuMillis, memoryMiB: memoryMiB, gpus: gpus, shareKey: 0, shareIdentifier: share)
    }

    /// A runnable job left without starting. Unknown keys are ignored.
    public mutating func remove(_ key: UInt64) {
        _ = takeRunnable(key)
    }

    /// A job the host picked has started: it leaves the runnable set and its vCPUs count as in
    /// use, accruing usage from `startedAt` (the attempt's start; 0 or later than `now` = `now`).
    /// Unknown keys are ignored (after a restart the host replays running jobs it never made
    /// runnable here, and their share is not known).
    /// - Parameter vcpuMillis: what it reserved; ≤ 0 = what it asked when it became runnable.
    public mutating func start(key: UInt64, vcpuMillis: Int64, startedAt: Int64, now: Int64) {
        guard let (share, entry) = takeRunnable(key) else { return }
        advance(to: now)
        let vcpu = vcpuMillis > 0 ? vcpuMillis : entry.vcpuMillis
        let began = startedAt > 0 ? min(startedAt, clock) : clock
        fold(share)
        let wasActive = shares[share].isActive
        if began < clock {
            // What it used between its start and now, decayed to now, in the frame's units.
            shares[share].scaledUsage += Double(vcpu) * rateScale * (frameNow - frame(at: began))
        }
        shares[share].runningVCPUMillis += vcpu
        shares[share].runningJobs += 1
        if !wasActive { activeShareCount += 1 }
        vcpuMillisInUse += vcpu
        let record = RunningJob(key: key, share: Int32(share), vcpuMillis: vcpu, startedAt: began)
        if let slot = freeRunning.popLast() {
            running[slot] = record
            runningIndex.set(key, slot)
        } else {
            runningIndex.set(key, running.count)
            running.append(record)
        }
        rekey(share)
    }

    /// A started job's attempt ended at `stoppedAt` (0 or later than `now` = `now`): its vCPUs
    /// stop counting as in use and its usage stops accruing. Unknown keys are ignored.
    public mutating func finish(key: UInt64, stoppedAt: Int64, now: Int64) {
        guard let slot = runningIndex.remove(key) else { return }
        let record = running[slot]
        freeRunning.append(slot)
        advance(to: now)
        let share = Int(record.share)
        fold(share)
        let stopped = stoppedAt > 0 ? max(min(stoppedAt, clock), record.startedAt) : clock
        if stopped < clock {
            // It was counted as running up to now; take back the part after it stopped.
            let over = Double(record.vcpuMillis) * rateScale * (frameNow - frame(at: stopped))
            shares[share].scaledUsage = max(0, shares[share].scaledUsage - over)
        }
        shares[share].runningVCPUMillis -= record.vcpuMillis
        shares[share].runningJobs -= 1
        vcpuMillisInUse -= record.vcpuMillis
        if !shares[share].isActive { activeShareCount -= 1 }
        rekey(share)
    }

    // MARK: - Pick

    /// Writes up to `limit` keys into `out` in fair-share order and returns how many. The keys
    /// fit `free` together, in order: the host starts them in order and skips one that no
    /// longer fits, so keys that each fit `free` alone would let later, smaller jobs take the
    /// capacity an earlier one waits for.
    ///
    /// 1. Take the share with the least ordering usage and its next job in order (a job fits
    ///    when no resource it asks exceeds what is left of `free`; a resource it asks 0 of never
    ///    blocks it).
    /// 2. If it fits, hand it out, count it against what is left, and count its vCPUs against
    ///    the share as if started; repeat.
    /// 3. If it does not fit, hold what is left for it: that share sits out, and other jobs go
    ///    only into what is left beyond the held job's ask (capacity it could not use anyway),
    ///    skipping jobs that do not fit there; a share with none sits out. Without this, small
    ///    jobs of other shares take every vCPU that frees, and a share whose jobs are larger
    ///    than the others' never starts one (AWS holds the head job; Slurm reserves for it).
    ///    Only the first such job is held; when no vCPUs or no memory are left beyond its ask,
    ///    the pick ends there.
    /// 4. With computeReservation > 0, stop before the job that would take this queue's vCPUs in
    ///    use plus those handed out past capacity × (1 − (computeReservation/100)^activeShares).
    ///
    /// The handed-out jobs stay runnable until `start`; their look-ahead is dropped at the end.
    public mutating func pick(freeVCPUMillis: Int64, freeMemoryMiB: Int64, freeGPUs: Int64, now: Int64,
                              into out: UnsafeMutablePointer<UInt64>, limit: Int) -> Int {
        advance(to: now)
        refreshHeap()
        guard limit > 0, !heapShares.isEmpty else { return 0 }
        generation &+= 1
        touched.removeAll(keepingCapacity: true)
        let ceiling = reservationCeiling(freeVCPUMillis: freeVCPUMillis)
        // What is left of `free` after the keys written and, once a job is held, its ask.
        var leftVCPUMillis = freeVCPUMillis, leftMemoryMiB = freeMemoryMiB, leftGPUs = freeGPUs
        var isHolding = false
        var handedOut: Int64 = 0
        var written = 0
        while written < limit, let top = heapShares.first {
            let share = Int(top)
            if shares[share].pickGeneration != generation {
                shares[share].pickGeneration = generation
                shares[share].cursorLane = shares[share].firstLane
                shares[share].cursorIndex = 0
                shares[share].pendingVCPUMillis = 0
                touched.append(top)
            }
            // Before a hold: the share's next job whatever its size; after: the next that fits.
            let next = isHolding
                ? nextFitting(share, leftVCPUMillis, leftMemoryMiB, leftGPUs)
                : nextFitting(share, .max, .max, .max)
            guard let (laneID, index) = next else {
                heapRemove(at: 0)
                continue
            }
            let entry = lanes[Int(laneID)].entries[index]
            let vcpu = max(0, entry.vcpuMillis), memory = max(0, entry.memoryMiB), gpus = max(0, entry.gpus)
            if !isHolding && ((vcpu > 0 && vcpu > leftVCPUMillis) || (memory > 0 && memory > leftMemoryMiB)
                || (gpus > 0 && gpus > leftGPUs)) {
                isHolding = true
                leftVCPUMillis -= vcpu
                leftMemoryMiB -= memory
                leftGPUs -= gpus
                // Every real job asks vCPUs and memory: with none left beyond the held job's
                // ask, nothing else can go, and looking would pass over every queued job.
                if leftVCPUMillis <= 0 || leftMemoryMiB <= 0 { break }
                heapRemove(at: 0)
                continue
            }
            if Double(vcpuMillisInUse + handedOut + entry.vcpuMillis) > ceiling { break }
            out[written] = entry.key
            written += 1
            handedOut += entry.vcpuMillis
            leftVCPUMillis -= vcpu
            leftMemoryMiB -= memory
            leftGPUs -= gpus
            shares[share].cursorLane = laneID
            shares[share].cursorIndex = index + 1
            shares[share].pendingVCPUMillis += entry.vcpuMillis
            heapKeys[0] = orderingKey(share, pending: shares[share].pendingVCPUMillis)
            siftDown(0)
        }
        for share in touched {
            let index = Int(share)
            shares[index].pendingVCPUMillis = 0
            let key = orderingKey(index, pending: 0)
            let place = Int(shares[index].heapIndex)
            if place >= 0 {
                heapKeys[place] = key
                siftUp(place)
            } else if shares[index].runnableJobs > 0 {
                heapInsert(share, key: key)
            }
        }
        return written
    }

    /// The most vCPUs (thousandths) this queue may hold after a pick, or +∞ with no reservation.
    func reservationCeiling(freeVCPUMillis: Int64) -> Double {
        guard settings.computeReservation > 0 else { return .infinity }
        let capacity = settings.capacityVCPUMillis ?? (vcpuMillisInUse + max(0, freeVCPUMillis))
        return Double(capacity) * (1 - reservedFraction)
    }

    /// (computeReservation/100)^activeShares: the part of capacity kept for inactive shares.
    public var reservedFraction: Double {
        guard settings.computeReservation > 0 else { return 0 }
        return pow(Double(settings.computeReservation) / 100, Double(activeShareCount))
    }

    @inline(__always)
    func nextFitting(_ share: Int, _ freeVCPUMillis: Int64, _ freeMemoryMiB: Int64, _ freeGPUs: Int64) -> (Int32, Int)? {
        var laneID = shares[share].cursorLane
        var index = shares[share].cursorIndex
        while laneID >= 0 {
            let found: Int? = lanes[Int(laneID)].entries.withUnsafeBufferPointer { entries in
                var i = max(index, lanes[Int(laneID)].head)
                while i < entries.count {
                    let entry = entries[i]
                    if !entry.isRemoved
                        && !(entry.vcpuMillis > 0 && entry.vcpuMillis > freeVCPUMillis)
                        && !(entry.memoryMiB > 0 && entry.memoryMiB > freeMemoryMiB)
                        && !(entry.gpus > 0 && entry.gpus > freeGPUs) {
                        return i
                    }
                    i += 1
                }
                return nil
            }
            if let found { return (laneID, found) }
            laneID = lanes[Int(laneID)].next
            index = 0
        }
        return nil
    }

    // MARK: - Usage

    /// Moves the clock to `now` (never back) and rebases the frame when it grows large.
    mutating func advance(to now: Int64) {
        guard now > clock else { return }
        clock = now
        if Double(clock - origin) > 200 * decayMillis { rebase() }
        frameNow = frame(at: clock)
    }

    @inline(__always)
    func frame(at time: Int64) -> Double { exp(Double(time - origin) / decayMillis) }

    /// Moves the frame's origin to the clock: every scaled value shrinks by the same factor.
    mutating func rebase() {
        let factor = exp(-Double(clock - origin) / decayMillis)
        for index in shares.indices {
            let usage = shares[index].scaledUsage * factor
            shares[index].scaledUsage = usage < 1e-250 ? 0 : usage
            shares[index].frame *= factor
        }
        for index in heapKeys.indices { heapKeys[index] *= factor }
        origin = clock
        frameNow = 1
    }

    /// The share's decayed vCPU-seconds at the clock, in the frame's units.
    @inline(__always)
    func scaledUsage(_ share: Int) -> Double {
        // Field by field: copying the Share would retain its identifier on the hot path.
        let running = shares[share].runningVCPUMillis
        let stored = shares[share].scaledUsage
        return running == 0 ? stored : stored + Double(running) * rateScale * (frameNow - shares[share].frame)
    }

    /// Stores the share's usage as of the clock, before its running vCPUs change.
    mutating func fold(_ share: Int) {
        shares[share].scaledUsage = scaledUsage(share)
        shares[share].frame = frameNow
    }

    /// The share's decayed vCPU-seconds at `now` (the share a job with this identifier counts
    /// against, or a distribution entry as written, `ml*`); nil for a share never seen.
    public mutating func vcpuSeconds(ofShare identifier: String, now: Int64) -> Double? {
        advance(to: now)
        guard let share = shareIndex(named: identifier) else { return nil }
        return scaledUsage(share) / frameNow
    }

    /// The share's usage as AWS measures it at `now`: decayed vCPU-seconds × weightFactor.
    public mutating func usage(ofShare identifier: String, now: Int64) -> Double? {
        guard let seconds = vcpuSeconds(ofShare: identifier, now: now), let share = shareIndex(named: identifier) else { return nil }
        return seconds * shares[share].weight
    }

    /// What shares are ordered by, in the frame's units: weight × (decayed vCPU-seconds +
    /// lookAheadSeconds × (running + `pending`) vCPUs).
    @inline(__always)
    func orderingKey(_ share: Int, pending: Int64) -> Double {
        let held = Double(shares[share].runningVCPUMillis + pending) * lookAheadScale * frameNow
        return shares[share].weight * (scaledUsage(share) + held)
    }

    // MARK: - Shares

    /// The share a name shows as (`ml*` for a prefix entry), or the share a job with that
    /// identifier would count against; nil when neither is known.
    func shareIndex(named identifier: String) -> Int? {
        if let index = shownAs[identifier] ?? exactShares[identifier] ?? shareOfName[identifier] { return Int(index) }
        return prefixShares.first(where: { identifier.hasPrefix($0.stem) }).map { Int($0.share) }
    }

    /// The share a job counts against: the distribution's exact entry, else the prefix entry
    /// it starts with, else its own share of weight 1. Cached by the host's share key.
    mutating func resolveShare(key: UInt64, identifier: String?) -> Int32 {
        if key != 0, let known = shareOfKey.value(for: key) { return Int32(known) }
        let name = identifier ?? ""
        let share: Int32
        if let exact = exactShares[name] {
            share = exact
        } else if let prefix = prefixShares.first(where: { name.hasPrefix($0.stem) }) {
            share = prefix.share
        } else if let own = shareOfName[name] {
            share = own
        } else {
            share = Int32(shares.count)
            shares.append(Share(identifier: name, weight: 1.0))
            shareOfName[name] = share
        }
        if key != 0 { shareOfKey.set(key, Int(share)) }
        return share
    }

    /// The share's lane for (retry, priority), made when missing, linked in order.
    mutating func lane(of share: Int32, isRetry: Bool, priority: Int32) -> Int32 {
        var previous: Int32 = -1
        var current = shares[Int(share)].firstLane
        while current >= 0 {
            let lane = lanes[Int(current)]
            if lane.isRetry == isRetry && lane.priority == priority { return current }
            // Lanes go retries first, then higher priority.
            if (isRetry && !lane.isRetry) || (isRetry == lane.isRetry && priority > lane.priority) { break }
            previous = current
            current = lane.next
        }
        let made: Int32
        if let reused = freeLanes.popLast() {
            made = reused
        } else {
            made = Int32(lanes.count)
            lanes.append(Lane())
        }
        lanes[Int(made)].share = share
        lanes[Int(made)].isRetry = isRetry
        lanes[Int(made)].priority = priority
        lanes[Int(made)].next = current
        if previous >= 0 { lanes[Int(previous)].next = made } else { shares[Int(share)].firstLane = made }
        return made
    }

    mutating func insertBySequence(_ entry: Entry, lane laneID: Int32) {
        let l = Int(laneID)
        guard let last = lanes[l].entries.last, last.sequence > entry.sequence else {
            positions.set(entry.key, Int(laneID) << 40 | (lanes[l].entries.count + lanes[l].base))
            lanes[l].entries.append(entry)
            lanes[l].live += 1
            return
        }
        // An older sequence (a retry, or a replay out of order) goes in place.
        var low = lanes[l].head, high = lanes[l].entries.count
        while low < high {
            let middle = (low + high) / 2
            if lanes[l].entries[middle].sequence <= entry.sequence { low = middle + 1 } else { high = middle }
        }
        lanes[l].entries.insert(entry, at: low)
        lanes[l].live += 1
        if low < lanes[l].head { lanes[l].head = low }
        let base = lanes[l].base
        for index in low..<lanes[l].entries.count where !lanes[l].entries[index].isRemoved {
            positions.set(lanes[l].entries[index].key, Int(laneID) << 40 | (index + base))
        }
    }

    /// Takes a runnable job out of its lane and share; nil for an unknown key.
    mutating func takeRunnable(_ key: UInt64) -> (share: Int, entry: Entry)? {
        guard let position = positions.remove(key) else { return nil }
        let laneID = position >> 40
        let index = (position & (1 << 40 - 1)) - lanes[laneID].base
        let entry = lanes[laneID].entries[index]
        lanes[laneID].entries[index].isRemoved = true
        lanes[laneID].live -= 1
        let share = Int(lanes[laneID].share)
        if lanes[laneID].live == 0 {
            releaseLane(Int32(laneID))
        } else {
            if index == lanes[laneID].head {
                while lanes[laneID].head < lanes[laneID].entries.count && lanes[laneID].entries[lanes[laneID].head].isRemoved {
                    lanes[laneID].head += 1
                }
            }
            let tombstones = lanes[laneID].entries.count - lanes[laneID].live
            if tombstones > 64 && tombstones * 2 > lanes[laneID].entries.count { compact(Int32(laneID)) }
        }
        shares[share].runnableJobs -= 1
        if shares[share].runnableJobs == 0 {
            if !shares[share].isActive { activeShareCount -= 1 }
            let place = Int(shares[share].heapIndex)
            if place >= 0 { heapRemove(at: place) }
        }
        return (share, entry)
    }

    /// Unlinks an empty lane from its share and keeps its storage for the next lane made.
    mutating func releaseLane(_ laneID: Int32) {
        let l = Int(laneID)
        let share = Int(lanes[l].share)
        if shares[share].firstLane == laneID {
            shares[share].firstLane = lanes[l].next
        } else {
            var current = shares[share].firstLane
            while lanes[Int(current)].next != laneID { current = lanes[Int(current)].next }
            lanes[Int(current)].next = lanes[l].next
        }
        lanes[l].entries.removeAll(keepingCapacity: lanes[l].entries.capacity <= 1024)
        lanes[l].head = 0
        lanes[l].base = 0
        lanes[l].next = -1
        lanes[l].share = -1
        freeLanes.append(laneID)
    }

    mutating func compact(_ laneID: Int32) {
        let l = Int(laneID)
        if lanes[l].entries.count - lanes[l].live == lanes[l].head {
            // Every tombstone is before the head: drop them, keep the map.
            lanes[l].entries.removeSubrange(0..<lanes[l].head)
            lanes[l].base += lanes[l].head
        } else {
            lanes[l].entries.removeAll { $0.isRemoved }
            lanes[l].base = 0
            for (index, entry) in lanes[l].entries.enumerated() { positions.set(entry.key, l << 40 | index) }
        }
        lanes[l].head = 0
    }

    // MARK: - Share heap

    /// Recomputes the keys of shares in the heap that have running jobs, once per change of
    /// the clock: idle shares' keys do not move with time in the scaled frame.
    mutating func refreshHeap() {
        guard heapTime != clock else { return }
        heapTime = clock
        var changed = false
        for place in heapShares.indices {
            let share = Int(heapShares[place])
            if shares[share].runningVCPUMillis != 0 {
                heapKeys[place] = orderingKey(share, pending: 0)
                changed = true
            }
        }
        guard changed, heapShares.count > 1 else { return }
        var place = heapShares.count / 2
        while place > 0 {
            place -= 1
            siftDown(place)
        }
    }

    /// Recomputes one share's key after its usage or running vCPUs changed.
    mutating func rekey(_ share: Int) {
        let place = Int(shares[share].heapIndex)
        guard place >= 0 else { return }
        let key = orderingKey(share, pending: 0)
        let old = heapKeys[place]
        heapKeys[place] = key
        if key < old { siftUp(place) } else { siftDown(place) }
    }

    @inline(__always)
    func precedes(_ a: Int, _ b: Int) -> Bool {
        heapKeys[a] < heapKeys[b] || (heapKeys[a] == heapKeys[b] && heapShares[a] < heapShares[b])
    }

    mutating func heapInsert(_ share: Int32, key: Double) {
        heapKeys.append(key)
        heapShares.append(share)
        shares[Int(share)].heapIndex = Int32(heapShares.count - 1)
        siftUp(heapShares.count - 1)
    }

    mutating func heapRemove(at place: Int) {
        let removed = Int(heapShares[place])
        shares[removed].heapIndex = -1
        let last = heapShares.count - 1
        if place != last {
            heapKeys[place] = heapKeys[last]
            heapShares[place] = heapShares[last]
            shares[Int(heapShares[place])].heapIndex = Int32(place)
        }
        heapKeys.removeLast()
        heapShares.removeLast()
        if place < heapShares.count {
            siftDown(place)
            siftUp(place)
        }
    }

    mutating func swapHeap(_ a: Int, _ b: Int) {
        heapKeys.swapAt(a, b)
        heapShares.swapAt(a, b)
        shares[Int(heapShares[a])].heapIndex = Int32(a)
        shares[Int(heapShares[b])].heapIndex = Int32(b)
    }

    mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(child, parent) else { return }
            swapHeap(child, parent)
            child = parent
        }
    }

    mutating func siftDown(_ start: Int) {
        var parent = start
        let count = heapShares.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { return }
            var best = left
            if left + 1 < count && precedes(left + 1, left) { best = left + 1 }
            guard precedes(best, parent) else { return }
            swapHeap(best, parent)
            parent = best
        }
    }
}
