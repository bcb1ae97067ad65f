import DocketCore
import DocketScheduler
import Synchronization

/// The compute environment's executor in simulated time: a launch starts nothing, it records
/// the attempt and schedules its exit at the simulated now plus the job's planned duration.
/// The event loop collects the exits as time reaches them and reports them to the scheduler.
///
/// `terminate` (a preemption) ends an attempt at the simulated now instead, and plans the job's
/// full duration again: a preempted job restarts from scratch when it is placed again.
final class VirtualExecutor: ExecutorPort {
    /// A job's part in the plan: which record it fills and how long it runs.
    struct Plan: Sendable {
        var record: Int
        var durationMillis: Int64
    }

    /// An attempt that ends: at its planned time, or when it was terminated.
    struct Exit: Sendable {
        var attemptID: String
        var jobID: String
        var record: Int
        var startedAt: Int64
        /// Stopped by `terminate` before its planned end (killed, not exited).
        var wasTerminated: Bool
    }

    private struct Running {
        var jobID: String
        var plan: Plan
        var startedAt: Int64
    }

    private struct State {
        var plans: [String: Plan] = [:]
        /// Launched attempts that have not ended, by attempt id.
        var running: [String: Running] = [:]
        /// The running attempt of each job.
        var attemptOfJob: [String: String] = [:]
        /// Planned and terminated exits. A terminated attempt's planned exit stays in the heap
        /// (it has no removal) and is dropped when it comes up, its attempt no longer running.
        var exits = EventQueue<Exit>()
        var launches = 0
        var terminations = 0

        /// Whether the exit is the planned end of an attempt that was terminated before it.
        func isStale(_ exit: Exit) -> Bool { !exit.wasTerminated && running[exit.attemptID] == nil }
    }

    private let clock: VirtualClock
    private let state = Mutex(State())

    init(clock: VirtualClock) { self.clock = clock }

    /// Tells the executor how long a job will run, before it is submitted.
    func plan(jobID: String, _ plan: Plan) { state.withLock { $0.plans[jobID] = plan } }

    func launch(_ launch: AttemptLaunch) async -> LaunchOutcome {
        let now = clock.now
        let jobID = launch.job.id
        let attemptID = Attempt.id(jobID: jobID, number: launch.attempt.number)
        return state.withLock { state in
            guard let plan = state.plans.removeValue(forKey: jobID) else {
                return .refused("the simulation has no plan for job \(jobID)")
            }
            state.launches += 1
            state.running[attemptID] = Running(jobID: jobID, plan: plan, startedAt: now)
            state.attemptOfJob[jobID] = attemptID
            state.exits.push(Exit(attemptID: attemptID, jobID: jobID, record: plan.record, startedAt: now, wasTerminated: false),
                             at: now + plan.durationMillis)
            return .launched
        }
    }

    /// Ends a running attempt at the simulated now, whatever the grace period (a simulated job
    /// holds nothing to flush), and plans the job's whole duration again for its next attempt.
    /// An attempt that has ended, or was already terminated, is left alone.
    func terminate(attemptID: String, graceMillis: Int64) async {
        let now = clock.now
        state.withLock { state in
            guard let running = state.running.removeValue(forKey: attemptID) else { return }
            state.attemptOfJob[running.jobID] = nil
            state.plans[running.jobID] = running.plan
            state.terminations += 1
            state.exits.push(Exit(attemptID: attemptID, jobID: running.jobID, record: running.plan.record, startedAt: running.startedAt,
                                  wasTerminated: true), at: now)
        }
    }

    /// The running attempt of `jobID`, nil when it runs none.
    func runningAttempt(ofJob jobID: String) -> String? { state.withLock { $0.attemptOfJob[jobID] } }

    /// When the next attempt exits, nil when none runs.
    var nextExitTime: Int64? {
        state.withLock { state in
            while let first = state.exits.first, state.isStale(first.payload) { _ = state.exits.pop(dueBy: first.time) }
            return state.exits.nextTime
        }
    }

    /// Removes and returns the exits due at or before `time`, earliest first (at one time, in
    /// the order they were scheduled).
    func exits(dueBy time: Int64) -> [(time: Int64, exit: Exit)] {
        state.withLock { state in
            var due: [(time: Int64, exit: Exit)] = []
            while let next = state.exits.pop(dueBy: time) {
                guard !state.isStale(next.payload) else { continue }
                if !next.payload.wasTerminated {
                    state.running[next.payload.attemptID] = nil
                    state.attemptOfJob[next.payload.jobID] = nil
                }
                due.append((next.time, next.payload))
            }
            return due
        }
    }

    /// How many attempts were launched.
    var launchCount: Int { state.withLock { $0.launches } }
    /// How many attempts were terminated.
    var terminationCount: Int { state.withLock { $0.terminations } }
}
