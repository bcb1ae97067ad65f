import DocketCore

/// Durable storage as the scheduler needs it. A call returns only once the change is durable.
package protocol SchedulerStore: Sendable {
    /// Inserts or replaces whole jobs, applies status-only changes to jobs waiting to run, and
    /// replaces the consumable resources whose quantities changed, all in one transaction (so a
    /// quantity locked by a job that started is never lost or counted twice after a crash).
    func commit(jobs: [Job], statuses: [JobStatusChange], consumables: [ConsumableResource]) throws(DocketError)
    /// Stores jobs that are not in the store yet (SubmitJob), in one transaction.
    func insert(newJobs: [Job]) throws(DocketError)
    /// Whole jobs by id (a job the scheduler is about to place, cancel or fail).
    func loadJobs(ids: [String]) throws(DocketError) -> [Job]
    /// The status of a job the scheduler no longer holds (for dependencies), nil if unknown.
    func status(ofJob id: String) throws(DocketError) -> JobStatus?
    /// How many children of an array job are in each status (recovery counts finished ones).
    func arrayChildCounts(of parent: String) throws(DocketError) -> [JobStatus: Int]
}

extension SchedulerStore {
    package func insert(newJobs: [Job]) throws(DocketError) {
        try commit(jobs: newJobs, statuses: [], consumables: [])
    }

    func commit(jobs: [Job], statuses: [JobStatusChange]) throws(DocketError) {
        try commit(jobs: jobs, statuses: statuses, consumables: [])
    }
}

/// A transition of a job that is still waiting (SUBMITTED -> PENDING -> RUNNABLE): only its
/// status and reason change, so the scheduler need not hold the whole job.
package struct JobStatusChange: Sendable, Hashable {
    package var jobID: String
    package var status: JobStatus
    package var statusReason: String?

    package init(jobID: String, status: JobStatus, statusReason: String?) {
        self.jobID = jobID
        self.status = status
        self.statusReason = statusReason
    }
}

/// What the scheduler keeps of a job that waits to run (SUBMITTED, PENDING, RUNNABLE): enough
/// to settle, order and fit it. The whole job stays in the store until it is placed, which
/// keeps a queue of 100,000 jobs in a few hundred bytes each.
package struct QueuedJob: Sendable, Hashable {
    package var id: String
    package var queue: String
    package var sequence: Int64
    package var status: JobStatus
    package var request: Resources
    package var dependsOn: [String]
    package var isRetry: Bool
    package var createdAt: Int64
    package var runnableAt: Int64
    package var schedulingPriority: Int32
    package var shareIdentifier: String?
    /// The consumable resources each attempt locks; nil for none (most jobs).
    package var consumables: [ConsumableResourceUse]?

    package init(_ job: Job) {
        id = job.id
        queue = job.queue
        sequence = job.sequence
        status = job.status
        request = job.container.resources
        dependsOn = job.dependsOn.compactMap(\.jobID)
        isRetry = job.isRetry
        createdAt = job.createdAt
        runnableAt = job.runnableAt ?? job.createdAt
        schedulingPriority = Int32(clamping: job.schedulingPriority ?? 0)
        shareIdentifier = job.shareIdentifier
        consumables = job.consumableResources.flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// What the scheduler hands an executor to launch: the job as resolved and which attempt.
package struct AttemptLaunch: Sendable {
    package var job: Job
    package var attempt: Attempt
    package var queue: JobQueue
    package var environment: ComputeEnvironment
}

/// How a launch went.
package enum LaunchOutcome: Sendable, Equatable {
    case launched
    /// The executor cannot start it now (DOCKET_E_UNAVAILABLE): back to RUNNABLE, no attempt spent.
    case retryLater(String)
    /// It can never run as specified: the attempt fails with this reason.
    case refused(String)
}

/// One compute environment's executor, as the scheduler drives it. Implementations do the I/O
/// (directories, log files, the plugin's [may-block] calls) off the scheduler's executor.
package protocol ExecutorPort: Sendable {
    func launch(_ launch: AttemptLaunch) async -> LaunchOutcome
    /// Stops the attempt (SIGTERM, then SIGKILL after `graceMillis`); its exit is reported as usual.
    func terminate(attemptID: String, graceMillis: Int64) async
}

/// One job queue's scheduling policy, as the scheduler drives it (policy.h, in Swift terms).
/// Called only from the scheduler's isolation domain.
package protocol PolicyPort: AnyObject, Sendable {
    func jobRunnable(_ job: QueuedJob, key: UInt64, queuePriority: Int)
    func jobRemoved(key: UInt64)
    func jobStarted(key: UInt64, usage: Resources, at time: Int64)
    func jobFinished(key: UInt64, usage: Resources, startedAt: Int64, stoppedAt: Int64)
    /// Keys in the order to try, at most `limit`; valid until the next call.
    func pick(free: Resources, limit: Int) -> ArraySlice<UInt64>
    /// Where a runnable job stands in the policy's order (JSON, policy.h's explain_job), if the
    /// policy can say.
    func explain(key: UInt64) -> String?
    /// Every share's standing (JSON, policy.h's describe_shares), if the policy can say.
    func describeShares() -> String?
    /// The running jobs the policy asked to preempt since the last call (policy.h's
    /// docket.preempt/1 service), oldest request first.
    func takePreemptionRequests() -> [(key: UInt64, reason: String)]
    /// Whether the policy looked up the preemption service: the scheduler then asks it to pick
    /// even when nothing is free, since that is when it takes capacity back.
    var mayPreempt: Bool { get }
}

extension PolicyPort {
    package func takePreemptionRequests() -> [(key: UInt64, reason: String)] { [] }
    package var mayPreempt: Bool { false }
    package func explain(key: UInt64) -> String? { nil }
    package func describeShares() -> String? { nil }
}

/// How an attempt ended, as the scheduler needs it.
package struct AttemptEnd: Sendable, Hashable {
    package enum Kind: Sendable, Hashable { case exited, signaled, launchFailed, lost }
    package var kind: Kind
    package var exitCode: Int32?
    package var reason: String?
    package var startedAt: Int64?
    package var stoppedAt: Int64?

    package init(kind: Kind, exitCode: Int32?, reason: String?, startedAt: Int64? = nil, stoppedAt: Int64? = nil) {
        self.kind = kind
        self.exitCode = exitCode
        self.reason = reason
        self.startedAt = startedAt
        self.stoppedAt = stoppedAt
    }
}
