import DocketCore
import DocketScheduler
import Synchronization

/// The scheduler's store, in memory: the simulation needs what the scheduler reads back (whole
/// jobs to place), never durability.
///
/// A finished job is only counted, not kept: simulated jobs have no dependencies and no
/// arrays, so the scheduler never reads one back, and a month of jobs stays small.
final class SimulatedStore: SchedulerStore {
    private let jobs = Mutex<[String: Job]>([:])
    private let finished = Mutex<[JobStatus: Int]>([:])

    func commit(jobs changed: [Job], statuses: [JobStatusChange], consumables: [ConsumableResource]) throws(DocketError) {
        var ended: [JobStatus] = []
        jobs.withLock { stored in
            for job in changed {
                if job.status.isTerminal {
                    if stored.removeValue(forKey: job.id) != nil { ended.append(job.status) }
                } else {
                    stored[job.id] = job
                }
            }
            for change in statuses {
                stored[change.jobID]?.status = change.status
                stored[change.jobID]?.statusReason = change.statusReason
            }
        }
        if !ended.isEmpty { finished.withLock { for status in ended { $0[status, default: 0] += 1 } } }
    }

    func loadJobs(ids: [String]) throws(DocketError) -> [Job] {
        jobs.withLock { stored in ids.compactMap { stored[$0] } }
    }

    func status(ofJob id: String) throws(DocketError) -> JobStatus? { jobs.withLock { $0[id]?.status } }

    func arrayChildCounts(of parent: String) throws(DocketError) -> [JobStatus: Int] {
        jobs.withLock { stored in
            Dictionary(stored.values.filter { $0.arrayParentID == parent }.map { ($0.status, 1) }, uniquingKeysWith: +)
        }
    }

    /// How many jobs are in each status, finished ones included (the report's cross-check
    /// against its own records).
    func statusCounts() -> [JobStatus: Int] {
        let waiting = jobs.withLock { stored in Dictionary(stored.values.map { ($0.status, 1) }, uniquingKeysWith: +) }
        return waiting.merging(finished.withLock { $0 }, uniquingKeysWith: +)
    }
}
