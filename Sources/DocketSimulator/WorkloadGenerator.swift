import DocketCore
import Foundation

/// Turns a `Workload` into jobs as simulated time passes: Poisson arrivals, backlogged shares
/// kept topped up, and traced jobs at their times. Each share draws from its own seeded
/// stream, so adding a share leaves the others' jobs unchanged.
struct WorkloadGenerator {
    /// A job to submit now.
    struct Arrival {
        var shareIndex: Int?
        var shareIdentifier: String?
        var request: Resources
        var durationMillis: Int64
        var schedulingPriority: Int
    }

    private enum Event {
        case arrival(share: Int)
        case activation(share: Int)
        case traced(job: Int)
    }

    private let workload: Workload
    private let start: Int64
    private var events = EventQueue<Event>()
    private var randoms: [SplitMix64]
    /// Per share: jobs submitted and not yet started (kept only for backlogged shares).
    private var queued: [Int]
    private var depths: [Int]
    private var activeFrom: [Int64]
    private var activeUntil: [Int64]

    init(workload: Workload, start: Int64) {
        self.workload = workload
        self.start = start
        let capacity = workload.computeEnvironment.resources
        randoms = workload.shares.indices.map { SplitMix64(seed: workload.seed &+ UInt64($0 + 1) &* 0xD1B5_4A32_D192_ED03) }
        queued = Array(repeating: 0, count: workload.shares.count)
        depths = workload.shares.map { share in
            share.backlogDepth ?? Int(capacity.vcpuMillis / max(1, Int64((share.vcpus.smallest * 1000).rounded()))) + 1
        }
        let horizon = start + workload.horizonMillis
        activeFrom = workload.shares.map { start + Int64(($0.startHours * 3_600_000).rounded()) }
        activeUntil = workload.shares.map { share in
            min(horizon, share.stopHours.map { start + Int64(($0 * 3_600_000).rounded()) } ?? horizon)
        }
        for (index, share) in workload.shares.enumerated() where activeFrom[index] < activeUntil[index] {
            if share.isBacklogged {
                events.push(.activation(share: index), at: activeFrom[index])
            } else {
                scheduleArrival(share: index, after: activeFrom[index])
            }
        }
        for (index, job) in workload.jobs.enumerated() {
            events.push(.traced(job: index), at: start + Int64((job.atSeconds * 1000).rounded()))
        }
    }

    /// When the next arrival or activation is due, nil when no more jobs will come by themselves.
    var nextTime: Int64? { events.nextTime }

    /// The jobs that arrive at or before `time` (Poisson and traced), in time order.
    mutating func arrivals(dueBy time: Int64) -> [Arrival] {
        var due: [Arrival] = []
        while let (at, event) = events.pop(dueBy: time) {
            switch event {
            case .arrival(let share):
                due.append(makeJob(share: share))
                scheduleArrival(share: share, after: at)
            case .activation:
                continue  // the top-up that follows fills the share's queue
            case .traced(let index):
                let job = workload.jobs[index]
                due.append(Arrival(shareIndex: nil, shareIdentifier: job.shareIdentifier, request: job.request,
                                   durationMillis: max(1, Int64((job.durationSeconds * 1000).rounded())),
                                   schedulingPriority: job.schedulingPriority))
            }
        }
        return due
    }

    /// Jobs that bring every backlogged share active at `time` back to its queue depth.
    mutating func topUp(at time: Int64) -> [Arrival] {
        var due: [Arrival] = []
        for (index, share) in workload.shares.enumerated() where share.isBacklogged {
            guard time >= activeFrom[index], time < activeUntil[index] else { continue }
            while queued[index] < depths[index] {
                due.append(makeJob(share: index))
            }
        }
        return due
    }

    /// A job of a backlogged share started: its queue needs one more.
    mutating func started(shareIndex: Int) {
        if workload.shares[shareIndex].isBacklogged { queued[shareIndex] -= 1 }
    }

    /// A started job of a backlogged share was preempted and waits again: it counts as queued
    /// until it restarts.
    mutating func requeued(shareIndex: Int) {
        if workload.shares[shareIndex].isBacklogged { queued[shareIndex] += 1 }
    }

    private mutating func makeJob(share index: Int) -> Arrival {
        let share = workload.shares[index]
        let vcpus = share.vcpus.draw(&randoms[index])
        let seconds = share.durationSeconds.draw(&randoms[index])
        if share.isBacklogged { queued[index] += 1 }
        return Arrival(shareIndex: index, shareIdentifier: share.shareIdentifier,
                       request: Resources(vcpuMillis: max(1, Int64((vcpus * 1000).rounded())),
                                          memoryMiB: share.memoryMiB ?? ShareWorkload.defaultMemory(vcpus: vcpus), gpus: share.gpus),
                       durationMillis: max(1, Int64((seconds * 1000).rounded())), schedulingPriority: share.schedulingPriority)
    }

    private mutating func scheduleArrival(share index: Int, after time: Int64) {
        guard let rate = workload.shares[index].arrivalsPerHour, rate > 0 else { return }
        let gapHours = -log(1 - randoms[index].nextUnit()) / rate
        let next = time + max(1, Int64((gapHours * 3_600_000).rounded()))
        if next < activeUntil[index] { events.push(.arrival(share: index), at: next) }
    }
}
