import DocketCore
import DocketScheduler
import DocketServer
import Synchronization

/// The queue's policy as the simulation hands it to the scheduler: the plugin's adapter, which
/// it forwards every call to, plus a note of the preemptions the scheduler takes from it.
///
/// Why the simulation stops preempted attempts itself: the scheduler terminates an attempt only
/// once it has seen it launched through its own dispatch, and does so from an unstructured task,
/// which would run at an arbitrary simulated time. The event loop launches attempts itself and
/// terminates the noted ones right after the cycle whose pick asked for them, at that cycle's
/// simulated time, so a run stays exactly repeatable.
final class SimulatedPolicy: PolicyPort {
    private struct State {
        /// Job id of every key the policy holds (runnable or running).
        var jobOfKey: [UInt64: String] = [:]
        /// Preemptions the scheduler took since the last `takePreemptions()`, oldest first.
        var taken: [(jobID: String, reason: String)] = []
    }

    let adapter: PolicyAdapter
    private let state = Mutex(State())

    init(adapter: PolicyAdapter) { self.adapter = adapter }

    func jobRunnable(_ job: QueuedJob, key: UInt64, queuePriority: Int) {
        state.withLock { $0.jobOfKey[key] = job.id }
        adapter.jobRunnable(job, key: key, queuePriority: queuePriority)
    }

    func jobRemoved(key: UInt64) {
        state.withLock { _ = $0.jobOfKey.removeValue(forKey: key) }
        adapter.jobRemoved(key: key)
    }

    func jobStarted(key: UInt64, usage: Resources, at time: Int64) { adapter.jobStarted(key: key, usage: usage, at: time) }

    // A finished attempt's job that comes back (a preemption or a retry) is offered again
    // through jobRunnable, which notes its key again.
    func jobFinished(key: UInt64, usage: Resources, startedAt: Int64, stoppedAt: Int64) {
        state.withLock { _ = $0.jobOfKey.removeValue(forKey: key) }
        adapter.jobFinished(key: key, usage: usage, startedAt: startedAt, stoppedAt: stoppedAt)
    }

    func pick(free: Resources, limit: Int) -> ArraySlice<UInt64> { adapter.pick(free: free, limit: limit) }
    func explain(key: UInt64) -> String? { adapter.explain(key: key) }
    func describeShares() -> String? { adapter.describeShares() }
    var mayPreempt: Bool { adapter.mayPreempt }

    func takePreemptionRequests() -> [(key: UInt64, reason: String)] {
        let requests = adapter.takePreemptionRequests()
        guard !requests.isEmpty else { return requests }
        state.withLock { state in
            for request in requests {
                if let jobID = state.jobOfKey[request.key] { state.taken.append((jobID, request.reason)) }
            }
        }
        return requests
    }

    /// The preemptions the scheduler took from the policy since the last call, oldest first.
    func takePreemptions() -> [(jobID: String, reason: String)] {
        state.withLock { state in
            defer { state.taken.removeAll() }
            return state.taken
        }
    }
}
