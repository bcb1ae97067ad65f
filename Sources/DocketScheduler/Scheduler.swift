import DocketCore

/// The scheduler: owns every unfinished job's state, matches RUNNABLE jobs to
/// compute-environment capacity in the order each queue's policy gives, and moves jobs through
/// AWS Batch's state machine as executors report.
///
/// It does no I/O itself: it reaches storage, executors and policies only through the ports in
/// Ports.swift. Jobs that wait are held compactly (`QueuedJob`); a job is loaded whole from the
/// store when it is placed. Work is batched into cycles: events (submissions, reports,
/// cancels) change state; one cycle then
///   1. settles SUBMITTED and PENDING jobs (dependencies);
///   2. asks each queue's policy for an order, highest queue priority first;
///   3. fits each picked job to the first compute environment in the queue's order with room;
///   4. commits every change in one durable transaction;
///   5. dispatches the new attempts to their executors.
/// Nothing is dispatched before the transition that records it is durable.
package actor Scheduler {
    package struct Settings: Sendable {
        /// Grace between SIGTERM and SIGKILL for TerminateJob.
        package var terminateGraceMillis: Int64 = 30_000
        /// The most keys asked of a policy per queue per cycle.
        package var pickLimit: Int = 256
        /// Run cycles by themselves after each event. Tests turn this off and call `cycle()`.
        package var runsCyclesAutomatically = true
        package init() {}
    }

    struct EnvironmentState {
        var environment: ComputeEnvironment
        var port: (any ExecutorPort)?
        var total: Resources
        var used: Resources = .zero
        var isHealthy: Bool
        var healthReason: String?

        /// What the scheduler may still place here: the executor's total (capped by maxvCpus) less what is reserved.
        var free: Resources { total - used }
        var isSchedulable: Bool { environment.state == .enabled && isHealthy && port != nil }
    }

    struct QueueState {
        var queue: JobQueue
        var policy: (any PolicyPort)?
    }

    private let store: any SchedulerStore
    private let clock: @Sendable () -> Int64
    let settings: Settings
    var environments: [String: EnvironmentState] = [:]
    var queues: [String: QueueState] = [:]
    /// Jobs waiting to run (SUBMITTED, PENDING, RUNNABLE), compactly, by job key (what
    /// policies pick), so a queued job costs one map entry beside its key.
    var queuedByKey: [UInt64: QueuedJob] = [:]
    /// Jobs with an attempt in hand (STARTING, RUNNING), whole.
    var active: [String: Job] = [:]
    var keyOfJob: [String: UInt64] = [:]
    private var nextKey: UInt64 = 1
    private var jobOfAttempt: [String: String] = [:]
    /// Attempts whose executor accepted them (start returned, or re-adopted).
    private var launchedAttempts: Set<String> = []
    /// PENDING jobs waiting on each job id.
    private var dependents: [String: [String]] = [:]
    private var lastSequence: Int64
    /// What the next commit writes.
    private var jobsToSave: [String: Job] = [:]
    private var statusesToSave: [String: JobStatusChange] = [:]
    /// SUBMITTED and PENDING jobs to settle in the next cycle.
    /// By job key: keys grow with submission order, so sorting them settles jobs in that order.
    private var unsettled: Set<UInt64> = []
    private var pendingLaunches: [AttemptLaunch] = []
    /// Jobs whose TerminateJob arrived while their attempt was starting.
    private var terminateRequested: [String: String] = [:]
    /// RUNNING attempts with a timeout: job id -> when it expires (epoch ms).
    private var timeoutDeadlines: [String: Int64] = [:]
    /// Jobs whose attempt was stopped because its timeout expired.
    private var timedOut: Set<String> = []
    /// Jobs whose attempt was stopped because its compute environment is being deleted, with the
    /// statusReason: like a lost host on AWS, the attempt fails and the job may be retried.
    private var hostLost: [String: String] = [:]
    /// PENDING jobs cancelled while their dependencies run: job id -> CancelJob's reason.
    private var pendingCancels: [String: String] = [:]
    /// Running jobs a policy asked to preempt (policy.h's docket.preempt/1): job id -> reason.
    private var preempting: [String: String] = [:]
    private var timerRunning = false
    /// Array jobs with unfinished children: how many remain and how many failed. The parent
    /// ends when the last child does (reference §5.8).
    private var arrays: [String: (remaining: Int, failed: Int)] = [:]
    /// Consumable resources by name, with their live quantities (reference §6.4): the scheduler
    /// owns the in-use count, and commits it with the job changes that move it.
    var consumables: [String: ConsumableResource] = [:]
    /// Consumable resources whose quantities the next commit writes.
    private var consumablesToSave: Set<String> = []
    /// Jobs waiting RUNNABLE for a consumable resource, with the reason they were given.
    private var consumableWaits: [String: String] = [:]
    /// Per queue with jobStateTimeLimitActions: the job at its head, why it is blocked, since when.
    private var blockedHeads: [String: (jobID: String, reason: String, since: Int64)] = [:]
    private var cycleRequested = false
    private var lazyCommitScheduled = false
    private static let lazyCommitDelay = Duration.milliseconds(20)
    private static let retainedCapacity = 4_096
    private var cycleRunning = false
    /// Placements made since start, for benchmarks and server info.
    package private(set) var decisions: Int = 0

    package init(store: any SchedulerStore, lastSequence: Int64, settings: Settings = Settings(),
                 clock: @escaping @Sendable () -> Int64) {
        self.store = store
        self.lastSequence = lastSequence
        self.settings = settings
        self.clock = clock
    }

    // MARK: Configuration

    /// Adds or replaces a compute environment with its executor and capacity.
    package func setEnvironment(_ environment: ComputeEnvironment, port: (any ExecutorPort)?, capacity: Resources,
                                isHealthy: Bool, healthReason: String?) {
        var total = capacity
        if let cap = environment.maxVCPUMillis { total.vcpuMillis = min(total.vcpuMillis, cap) }
        let used = environments[environment.name]?.used ?? .zero
        environments[environment.name] = EnvironmentState(environment: environment, port: port, total: total, used: used,
                                                          isHealthy: isHealthy, healthReason: healthReason)
        requestCycle()
    }

    /// Adds or replaces a job queue with its policy instance.
    package func setQueue(_ queue: JobQueue, policy: (any PolicyPort)?) {
        queues[queue.name] = QueueState(queue: queue, policy: policy)
        if !queue.timeLimitActions.isEmpty { startTimer() }
        requestCycle()
    }

    /// Gives a job queue a new policy instance on a live server (its scheduling policy was
    /// changed or replaced): the new instance is handed the queue's runnable jobs in submission
    /// order, retries marked, and told which of its jobs run, so nothing queued is lost or
    /// reordered by anything but the new policy.
    package func replacePolicy(queue name: String, policy: (any PolicyPort)?) {
        guard var state = queues[name] else { return }
        state.policy = policy
        queues[name] = state
        guard let policy else { return }
        let runnable = queuedByKey.filter { $0.value.queue == name && $0.value.status == .runnable }
        for job in runnable.values.sorted(by: { $0.sequence < $1.sequence }) { offerToPolicy(job) }
        let now = clock()
        for job in active.values where job.queue == name {
            guard let key = keyOfJob[job.id] else { continue }
            introduceRunning(job, key: key, startedAt: job.currentAttempt?.startedAt ?? now)
        }
        requestCycle()
    }

    /// Tells a queue's policy about a job that already runs (after a restart, or to a new
    /// policy instance): as runnable first, so the policy learns its share and priority, then
    /// started, so it counts what the job holds.
    private func introduceRunning(_ job: Job, key: UInt64, startedAt: Int64) {
        guard let state = queues[job.queue], let policy = state.policy else { return }
        policy.jobRunnable(QueuedJob(job), key: key, queuePriority: state.queue.priority)
        policy.jobStarted(key: key, usage: job.container.resources, at: startedAt)
    }

    /// Replaces a job queue's settings (priority, state, compute environments) and keeps its
    /// policy instance, so the jobs it orders keep their places.
    package func updateQueue(_ queue: JobQueue) {
        guard let policy = queues[queue.name]?.policy else { return setQueue(queue, policy: nil) }
        setQueue(queue, policy: policy)
    }

    /// Forgets a job queue. The caller has ended its unfinished jobs first.
    package func removeQueue(named name: String) {
        queues[name] = nil
    }

    /// Forgets a compute environment. The caller has made sure no attempt runs there.
    package func removeEnvironment(named name: String) {
        environments[name] = nil
    }

    /// The ids of the jobs of `queue` the scheduler holds (waiting or with an attempt in hand).
    package func unfinishedJobs(queue: String) -> [String] {
        queuedByKey.values.filter { $0.queue == queue }.sorted { $0.sequence < $1.sequence }.map(\.id)
            + active.values.filter { $0.queue == queue }.sorted { $0.sequence < $1.sequence }.map(\.id)
    }

    /// DeleteComputeEnvironment on an environment that still runs attempts (reference §2.5,
    /// blue/green: jobs on removed capacity fail, and are retried if their strategy allows):
    /// stops each attempt through the executor; each then fails with `reason`.
    /// - Returns: how many attempts were stopped.
    package func evacuate(environment: String, reason: String) async -> Int {
        var stopped = 0
        for (jobID, job) in active.sorted(by: { $0.key < $1.key }) {
            guard let attempt = job.currentAttempt, attempt.computeEnvironment == environment, attempt.stoppedAt == nil else { continue }
            hostLost[jobID] = reason
            stopped += 1
            let attemptID = Attempt.id(jobID: jobID, number: attempt.number)
            if launchedAttempts.contains(attemptID), let port = environments[environment]?.port {
                await port.terminate(attemptID: attemptID, graceMillis: settings.terminateGraceMillis)
            }
        }
        return stopped
    }

    /// How many jobs have an attempt in hand on `environment`.
    package func activeAttemptCount(environment: String) -> Int {
        active.values.count { $0.currentAttempt?.computeEnvironment == environment && $0.currentAttempt?.stoppedAt == nil }
    }

    /// The front of a queue for GetJobQueueSnapshot: up to `limit` RUNNABLE jobs in the order its
    /// policy would try them with unlimited capacity, each with the time it became RUNNABLE;
    /// and the capacity its jobs hold now.
    package func frontOfQueue(_ name: String, limit: Int) -> (jobs: [(id: String, runnableAt: Int64)], inUse: Resources) {
        var inUse = Resources.zero
        for job in active.values where job.queue == name { inUse = inUse + job.container.resources }
        guard let policy = queues[name]?.policy else { return ([], inUse) }
        let unlimited = Resources(vcpuMillis: .max / 4, memoryMiB: .max / 4, gpus: .max / 4)
        var front: [(id: String, runnableAt: Int64)] = []
        for key in policy.pick(free: unlimited, limit: limit) {
            guard let waiting = queuedByKey[key], waiting.status == .runnable else { continue }
            front.append((waiting.id, waiting.runnableAt))
        }
        return (front, inUse)
    }

    /// The capacity a job could ever get on its queue: per resource, the most any compute
    /// environment of the queue has in total.
    package func largestOffer(queue: String) -> Resources {
        guard let state = queues[queue] else { return .zero }
        return state.queue.computeEnvironmentOrder.reduce(Resources.zero) { offer, entry in
            guard let environment = environments[entry.computeEnvironment] else { return offer }
            return offer.maximum(environment.total)
        }
    }

    /// Why each unhealthy compute environment's executor cannot run jobs now.
    package func unhealthyEnvironments() -> [String: String] {
        environments.filter { !$0.value.isHealthy }.mapValues { $0.healthReason ?? "the executor reports it cannot run jobs" }
    }

    package func environmentUsage() -> [String: (total: Resources, used: Resources, healthy: Bool)] {
        environments.mapValues { ($0.total, $0.used, $0.isHealthy) }
    }

    /// The job's status as the scheduler holds it, nil once it is finished (or unknown).
    package func status(ofJob id: String) -> JobStatus? { queuedJob(id)?.status ?? active[id]?.status }

    /// A job with an attempt in hand, whole.
    package func activeJob(_ id: String) -> Job? { active[id] }

    // MARK: Recovery

    /// Reloads unfinished jobs after a start. `runningByEnvironment` holds, per compute
    /// environment, the attempt ids its executor still has (list_running). Attempts it still
    /// has are re-adopted; those it lost fail (and retry if their strategy allows); attempts it
    /// has that no job owns are returned so the caller can terminate them.
    package func recover(jobs stored: [Job], runningByEnvironment: [String: Set<String>]) -> [(environment: String, attemptID: String)] {
        recover(page: stored, runningByEnvironment: runningByEnvironment)
        return finishRecovery(runningByEnvironment: runningByEnvironment)
    }

    /// Attempts of recovered jobs, until `finishRecovery` has compared them with the executors'.
    private var recoveredAttempts: Set<String> = []

    /// Recovers one page of unfinished jobs at a time, in submission order, so a start on a
    /// large queue never holds every job whole at once; `finishRecovery` ends it.
    package func recover(page stored: [Job], runningByEnvironment: [String: Set<String>]) {
        let now = clock()
        for job in stored.sorted(by: { $0.sequence < $1.sequence }) {
            lastSequence = max(lastSequence, job.sequence)
            let key = register(job.id)
            if job.isArrayParent {
                // Unfinished children arrive in `stored` too; the finished ones are only counted.
                let counts = (try? store.arrayChildCounts(of: job.id)) ?? [:]
                let finished = (counts[.succeeded] ?? 0) + (counts[.failed] ?? 0)
                arrays[job.id] = ((job.arraySize ?? 0) - finished, counts[.failed] ?? 0)
                continue
            }
            switch job.status {
            case .starting, .running:
                guard let attempt = job.currentAttempt else { continue }
                let attemptID = Attempt.id(jobID: job.id, number: attempt.number)
                recoveredAttempts.insert(attemptID)
                active[job.id] = job
                if runningByEnvironment[attempt.computeEnvironment]?.contains(attemptID) == true {
                    jobOfAttempt[attemptID] = job.id
                    launchedAttempts.insert(attemptID)
                    if job.status == .running, let started = attempt.startedAt { armTimeout(job, startedAt: started) }
                    reserve(job.container.resources, on: attempt.computeEnvironment)
                    introduceRunning(job, key: key, startedAt: attempt.startedAt ?? now)
                } else {
                    // Its consumables were stored as locked; the lost attempt gives them back.
                    unlockConsumables(job.consumableResources, undoingPlacement: false)
                    let reason = "Host lost: the server restarted and the executor of compute environment '\(attempt.computeEnvironment)' no longer had attempt \(attemptID)"
                    finishAttempt(jobID: job.id, end: AttemptEnd(kind: .lost, exitCode: nil, reason: reason), now: now, holdsCapacity: false)
                }
            case .runnable:
                let waiting = QueuedJob(job)
                setQueuedJob(job.id, waiting)
                offerToPolicy(waiting)
            case .submitted, .pending:
                if let reason = job.cancelReason { pendingCancels[job.id] = reason }
                setQueuedJob(job.id, QueuedJob(job))
                unsettled.insert(key)
            case .succeeded, .failed:
                continue
            }
        }
    }

    /// Ends a recovery: returns the attempts executors still have that no job owns.
    package func finishRecovery(runningByEnvironment: [String: Set<String>]) -> [(environment: String, attemptID: String)] {
        var orphans: [(String, String)] = []
        for (environment, attempts) in runningByEnvironment {
            for attemptID in attempts.sorted() where !recoveredAttempts.contains(attemptID) { orphans.append((environment, attemptID)) }
        }
        recoveredAttempts = []
        requestCycle()
        return orphans
    }

    // MARK: Requests

    /// The next submission sequence number.
    package func allocateSequence() -> Int64 {
        lastSequence += 1
        return lastSequence
    }

    /// `count` consecutive sequence numbers (an array's children); returns the first.
    package func allocateSequences(_ count: Int) -> Int64 {
        let first = lastSequence + 1
        lastSequence += Int64(count)
        return first
    }

    /// SubmitJob: stores the job durably and schedules it. A job without dependencies is
    /// settled on the spot (SUBMITTED -> RUNNABLE, the scheduler's first step for it) and
    /// stored RUNNABLE, which saves a second durable write per job; a job with dependencies is
    /// stored SUBMITTED and settled by the next cycle.
    /// - Throws: the store's error; nothing is kept then.
    package func submit(_ job: Job) throws(DocketError) {
        if job.status.isTerminal {  // failed at submit (tag propagation): stored, never queued
            try store.insert(newJobs: [job])
            return
        }
        var stored = job
        let settlesNow = job.dependsOn.allSatisfy { $0.jobID == nil }
        if settlesNow {
            try? stored.move(to: .runnable, reason: nil, at: clock())
            stored.statusReason = unsatisfiableReason(QueuedJob(stored))
        }
        try store.insert(newJobs: [stored])
        let key = register(job.id)
        let waiting = QueuedJob(stored)
        setQueuedJob(job.id, waiting)
        if settlesNow { offerToPolicy(waiting) } else { unsettled.insert(key) }
        requestCycle()
    }

    /// SubmitJob for an array job (reference §5.8): the parent (PENDING from the start; it never
    /// runs) and all its children are stored in one transaction, then the children are
    /// scheduled like single jobs. Children without job dependencies are settled to RUNNABLE here.
    /// - Throws: the store's error; nothing is kept then.
    package func submitArray(parent: Job, children: consuming [Job]) throws(DocketError) {
        var storedParent = parent
        try? storedParent.move(to: .pending, reason: nil, at: clock())
        let now = clock()
        var stored = children  // consumed: the children are changed in place, not copied
        // Children ask for what the parent asks for, on the parent's queue: one reason fits all.
        let reason = stored.first.map { unsatisfiableReason(QueuedJob($0)) } ?? nil
        for index in stored.indices where stored[index].dependsOn.isEmpty {
            try? stored[index].move(to: .runnable, reason: reason, at: now)
        }
        let childCount = stored.count
        stored.insert(storedParent, at: 0)
        try store.insert(newJobs: stored)
        arrays[parent.id] = (childCount, 0)
        for child in stored.dropFirst() {
            let key = register(child.id)
            let waiting = QueuedJob(child)
            setQueuedJob(child.id, waiting)
            if child.status == .runnable { offerToPolicy(waiting) } else { unsettled.insert(key) }
        }
        requestCycle()
    }

    /// The unfinished children of an array job, for CancelJob and TerminateJob on the parent.
    package func unfinishedChildren(of parentID: String) -> [String] {
        guard arrays[parentID] != nil else { return [] }
        let prefix = parentID + ":"
        return (queuedByKey.values.map(\.id) + active.keys).filter { $0.hasPrefix(prefix) }
            .sorted { (Int($0.dropFirst(prefix.count)) ?? 0) < (Int($1.dropFirst(prefix.count)) ?? 0) }
    }

    /// Counts a finished child against its array; the last one ends the parent: SUCCEEDED when
    /// every child succeeded, FAILED otherwise. Its dependents then settle as usual.
    private func arrayChildFinished(_ child: Job) {
        guard let parentID = child.arrayParentID, var state = arrays[parentID] else { return }
        state.remaining -= 1
        if child.status == .failed { state.failed += 1 }
        guard state.remaining == 0 else {
            arrays[parentID] = state
            return
        }
        arrays[parentID] = nil
        guard var parent = try? store.loadJobs(ids: [parentID]).first else { return }
        parent.status = state.failed == 0 ? .succeeded : .failed
        parent.statusReason = state.failed == 0 ? nil : "\(state.failed) of \(parent.arraySize ?? 0) child jobs failed"
        parent.stoppedAt = clock()
        active[parentID] = parent  // retired once the commit is durable
        jobsToSave[parentID] = parent
        requestCycle()
    }

    /// CancelJob (reference §5.6): a job that has not reached STARTING fails with `reason`;
    /// on STARTING and RUNNING jobs it is a no-op, as in AWS. A job waiting for dependencies
    /// (PENDING) is cancelled only once they have completed, as AWS does it: the request is
    /// stored now and `settle` carries it out.
    /// - Returns: whether the scheduler held the job (false: finished or unknown).
    @discardableResult
    package func cancel(jobID: String, reason: String) throws(DocketError) -> Bool {
        if active[jobID] != nil { return true }
        guard let waiting = queuedJob(jobID) else { return false }
        guard var job = try loadWhole([jobID]).first else { return false }
        job.status = waiting.status
        if !waiting.dependsOn.isEmpty && (waiting.status == .pending || waiting.status == .submitted) {
            job.isCancelled = true
            job.cancelReason = reason
            try store.commit(jobs: [job], statuses: [])
            if jobsToSave[jobID] != nil { jobsToSave[jobID] = job }
            statusesToSave[jobID] = nil
            pendingCancels[jobID] = reason
            if let key = keyOfJob[jobID] { unsettled.insert(key) }  // its dependencies may be done already
            requestCycle()
            return true
        }
        try job.move(to: .failed, reason: reason, at: clock())
        job.isCancelled = true
        try store.commit(jobs: [job], statuses: [])
        if waiting.status == .runnable, let key = keyOfJob[jobID] { queues[waiting.queue]?.policy?.jobRemoved(key: key) }
        setQueuedJob(jobID, nil)
        statusesToSave[jobID] = nil
        if let key = keyOfJob[jobID] { unsettled.remove(key) }
        arrayChildFinished(job)
        retire(jobID)
        return true
    }

    /// TerminateJob: cancels jobs that have not started; stops STARTING and RUNNING attempts
    /// through their executor (the job fails with `reason` when the exit arrives, no retry).
    /// - Returns: whether the scheduler held the job.
    @discardableResult
    package func terminate(jobID: String, reason: String) async throws(DocketError) -> Bool {
        guard var job = active[jobID] else { return try cancel(jobID: jobID, reason: reason) }
        terminateRequested[jobID] = reason
        job.isTerminated = true
        active[jobID] = job
        if let attempt = job.currentAttempt, launchedAttempts.contains(Attempt.id(jobID: jobID, number: attempt.number)),
           let port = environments[attempt.computeEnvironment]?.port {
            await port.terminate(attemptID: Attempt.id(jobID: jobID, number: attempt.number),
                                 graceMillis: settings.terminateGraceMillis)
        }
        return true
    }

    // MARK: Executor reports

    /// The attempt's process is running. A repeat (after a re-adoption) is ignored.
    package func attemptRunning(attemptID: String, detail: String, at time: Int64) {
        guard let jobID = jobOfAttempt[attemptID], var job = active[jobID], job.status == .starting else { return }
        try? job.move(to: .running, reason: nil, at: time)
        job.attempts[job.attempts.count - 1].startedAt = time
        job.attempts[job.attempts.count - 1].taskDetail = detail
        active[jobID] = job
        jobsToSave[jobID] = job
        armTimeout(job, startedAt: time)
        // Nothing waits on RUNNING being durable (a restart re-adopts a STARTING attempt just
        // the same), so it rides along with the next commit, at most `lazyCommitDelay` later.
        if !lazyCommitScheduled {
            lazyCommitScheduled = true
            Task {
                try? await Task.sleep(for: Self.lazyCommitDelay)
                await self.lazyCommitDue()
            }
        }
    }

    // MARK: Timeouts

    /// The statusReason of an attempt stopped by its timeout (AWS's wording).
    package static let timeoutReason = "Job attempt duration exceeded timeout"

    /// Starts counting a RUNNING attempt's timeout from `startedAt` (reference §4.7: time in
    /// STARTING does not count; each attempt and each array child counts on its own).
    private func armTimeout(_ job: Job, startedAt: Int64) {
        guard let seconds = job.timeoutSeconds, seconds > 0 else { return }
        timeoutDeadlines[job.id] = startedAt + seconds * 1000
        startTimer()
    }

    private var hasTimeLimitActions: Bool {
        queues.values.contains { !$0.queue.timeLimitActions.isEmpty }
    }

    private func startTimer() {
        guard settings.runsCyclesAutomatically, !timerRunning else { return }
        timerRunning = true
        Task { await self.runTimer() }
    }

    /// While there are timeouts or time-limit actions to watch: wakes at the earliest timeout
    /// (at least once a second, so a deadline armed later but due sooner is seen within a
    /// second), stops expired attempts and applies the queues' time-limit actions.
    private func runTimer() async {
        while !timeoutDeadlines.isEmpty || hasTimeLimitActions {
            let earliest = timeoutDeadlines.values.min() ?? .max
            let wait = min(max(earliest - clock(), 0), 1_000)
            if wait > 0 { try? await Task.sleep(for: .milliseconds(wait)) }
            await expireTimeouts()
            applyTimeLimitActions()
        }
        timerRunning = false
    }

    // MARK: Consumable resources

    /// Adds a consumable resource or applies an UpdateConsumableResource (a new total; the
    /// quantity in use stays as the running jobs hold it). Durable before it returns.
    package func setConsumableResource(_ resource: ConsumableResource) throws(DocketError) {
        var updated = resource
        updated.inUseQuantity = consumables[resource.name]?.inUseQuantity ?? resource.inUseQuantity
        try store.commit(jobs: [], statuses: [], consumables: [updated])
        consumables[resource.name] = updated
        consumablesToSave.remove(resource.name)
        requestCycle()
    }

    /// UpdateConsumableResource: SET the total, or ADD or REMOVE from it, against the live
    /// total (NON_REPLENISHABLE totals fall as jobs consume them). Durable before it returns.
    /// - Throws: `.notFound` for an unknown name; `.invalidRequest` for a REMOVE beyond the total.
    package func adjustConsumableResource(named name: String, operation: String, quantity: Int64) throws(DocketError) -> ConsumableResource {
        guard var resource = consumables[name] else {
            throw DocketError(.notFound, "consumableResource '\(name)' does not exist; list them with list-consumable-resources.", field: "consumableResource")
        }
        switch operation {
        case "ADD": resource.totalQuantity += quantity
        case "REMOVE":
            guard quantity <= resource.totalQuantity else {
                throw DocketError.invalid("quantity", "quantity \(quantity) is more than the total \(resource.totalQuantity) of '\(name)'; REMOVE at most \(resource.totalQuantity).")
            }
            resource.totalQuantity -= quantity
        default: resource.totalQuantity = quantity
        }
        try setConsumableResource(resource)
        return resource
    }

    /// Loads the consumable resources at start, as stored (quantities included).
    package func loadConsumableResources(_ resources: [ConsumableResource]) {
        for resource in resources { consumables[resource.name] = resource }
    }

    /// DeleteConsumableResource: jobs holding it keep running; what they release is ignored.
    package func removeConsumableResource(named name: String) {
        consumables[name] = nil
        consumablesToSave.remove(name)
    }

    /// The live quantities: exact at every moment (AWS's may lag up to 30 s).
    package func consumableResource(named name: String) -> ConsumableResource? { consumables[name] }

    /// Locks what a job needs as it is placed (STARTING): REPLENISHABLE quantities move to in
    /// use, NON_REPLENISHABLE ones leave the total for good (reference §6.4). When one is short,
    /// nothing is locked and the job waits RUNNABLE, its statusReason naming the resource.
    private func lockConsumables(_ uses: [ConsumableResourceUse], for job: QueuedJob) -> Bool {
        for use in uses {
            let available = consumables[use.resource]?.availableQuantity ?? 0
            guard available >= use.quantity else {
                let reason = consumables[use.resource] == nil
                    ? "RESOURCE:CONSUMABLE_RESOURCE_UNAVAILABLE - The job needs \(use.quantity) of consumable resource '\(use.resource)', which has been deleted; re-create it to run the job."
                    : "RESOURCE:CONSUMABLE_RESOURCE_UNAVAILABLE - The job needs \(use.quantity) of consumable resource '\(use.resource)'; \(available) of \(consumables[use.resource]!.totalQuantity) are available."
                if consumableWaits[job.id] != reason {
                    consumableWaits[job.id] = reason
                    statusesToSave[job.id] = JobStatusChange(jobID: job.id, status: .runnable, statusReason: reason)
                }
                return false
            }
        }
        for use in uses {
            guard var resource = consumables[use.resource] else { continue }
            if resource.resourceType == "NON_REPLENISHABLE" {
                resource.totalQuantity -= use.quantity
            } else {
                resource.inUseQuantity += use.quantity
            }
            consumables[use.resource] = resource
            consumablesToSave.insert(use.resource)
        }
        consumableWaits[job.id] = nil
        return true
    }

    /// Returns what an attempt locked when it ends (REPLENISHABLE only), or undoes a lock whose
    /// placement was not committed (both kinds).
    private func unlockConsumables(_ uses: [ConsumableResourceUse]?, undoingPlacement: Bool) {
        for use in uses ?? [] {
            guard var resource = consumables[use.resource] else { continue }
            if resource.resourceType == "NON_REPLENISHABLE" {
                guard undoingPlacement else { continue }
                resource.totalQuantity += use.quantity
            } else {
                resource.inUseQuantity = max(0, resource.inUseQuantity - use.quantity)
            }
            consumables[use.resource] = resource
            consumablesToSave.insert(use.resource)
        }
    }

    // MARK: Blocked queues and time-limit actions

    /// Why the job at the head of `queue` cannot start, as AWS words it (reference §12.1), or
    /// nil when it only waits its turn for capacity that is in use.
    package func blockingReason(of job: QueuedJob, queue: JobQueue) -> String? {
        let members = queue.computeEnvironmentOrder.compactMap { environments[$0.computeEnvironment] }
        let enabled = members.filter { $0.environment.state == .enabled }
        if !enabled.isEmpty, enabled.allSatisfy({ !$0.isHealthy || $0.port == nil }) {
            return "ACTION_REQUIRED - CE(s) associated with the job queue are invalid."
        }
        if !members.isEmpty, members.allSatisfy({ ($0.environment.maxVCPUMillis ?? .max) < job.request.vcpuMillis }) {
            return "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - CE(s) associated with the job queue cannot meet the CPU requirement of the job."
        }
        if !members.isEmpty, !members.contains(where: { $0.total.accommodates(job.request) }) {
            return "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement (vCPU/memory/GPU) is higher than that can be met by the CE(s) attached to the job queue."
        }
        return nil
    }

    /// jobStateTimeLimitActions (reference §3.4): when the job at the head of a queue has been
    /// RUNNABLE and blocked for the same reason for maxTimeSeconds, it is cancelled with
    /// "Canceled by JobStateTimeLimit action due to reason: <REASON>", and the next job is
    /// judged from then on. Tests call this directly.
    package func applyTimeLimitActions() {
        let now = clock()
        let unlimited = Resources(vcpuMillis: .max / 4, memoryMiB: .max / 4, gpus: .max / 4)
        for (name, state) in queues.sorted(by: { $0.key < $1.key }) where !state.queue.timeLimitActions.isEmpty {
            guard let policy = state.policy else { continue }
            var head: QueuedJob?
            for key in policy.pick(free: unlimited, limit: 1) {
                if let waiting = queuedByKey[key], waiting.status == .runnable { head = waiting }
            }
            guard let head, let reason = blockingReason(of: head, queue: state.queue) else {
                blockedHeads[name] = nil
                continue
            }
            if blockedHeads[name]?.jobID != head.id || blockedHeads[name]?.reason != reason {
                blockedHeads[name] = (head.id, reason, now)
            }
            let since = blockedHeads[name]!.since
            guard let action = state.queue.timeLimitActions.first(where: { reason.hasPrefix($0.reason) }),
                  now - since >= action.maxTimeSeconds * 1000 else { continue }
            blockedHeads[name] = nil
            _ = try? cancel(jobID: head.id, reason: "Canceled by JobStateTimeLimit action due to reason: \(action.reason)")
        }
    }

    /// Stops every RUNNING attempt whose timeout has expired: SIGTERM, then SIGKILL after the
    /// grace period, through its executor. The attempt then fails with `timeoutReason` and is
    /// not retried (reference §4.6). Tests call this directly.
    package func expireTimeouts() async {
        let now = clock()
        let expired = timeoutDeadlines.filter { $0.value <= now }.map(\.key).sorted()
        for jobID in expired {
            timeoutDeadlines[jobID] = nil
            guard let job = active[jobID], job.status == .running, let attempt = job.currentAttempt else { continue }
            timedOut.insert(jobID)
            let attemptID = Attempt.id(jobID: jobID, number: attempt.number)
            if launchedAttempts.contains(attemptID), let port = environments[attempt.computeEnvironment]?.port {
                await port.terminate(attemptID: attemptID, graceMillis: settings.terminateGraceMillis)
            }
        }
    }

    private func lazyCommitDue() {
        lazyCommitScheduled = false
        requestCycle()
    }

    /// The attempt has ended.
    package func attemptEnded(attemptID: String, end: AttemptEnd, at time: Int64) {
        launchedAttempts.remove(attemptID)
        guard let jobID = jobOfAttempt.removeValue(forKey: attemptID), active[jobID] != nil else { return }
        finishAttempt(jobID: jobID, end: end, now: time, holdsCapacity: true)
        requestCycle()
    }

    // MARK: The cycle

    /// Asks for a cycle; several requests before it runs make one cycle.
    package func requestCycle() {
        cycleRequested = true
        guard settings.runsCyclesAutomatically, !cycleRunning else { return }
        cycleRunning = true
        Task { await self.runCycles() }
    }

    private func runCycles() async {
        while cycleRequested {
            cycleRequested = false
            let launches = cycle()
            for launch in launches { dispatch(launch) }
            await Task.yield()
        }
        cycleRunning = false
    }

    /// TagResource and UntagResource on a job: changes its tags durably. Done here because the
    /// scheduler may hold a newer version of the job than the store, which a write from outside
    /// would overwrite (or be overwritten by).
    /// - Returns: the job with its new tags, nil when no job has this id.
    package func retag(jobID: String, _ change: @Sendable (inout [String: String]) throws(DocketError) -> Void)
        throws(DocketError) -> Job?
    {
        var found = jobsToSave[jobID] ?? active[jobID]
        if found == nil { found = try store.loadJobs(ids: [jobID]).first }
        guard var job = found else { return nil }
        if let waiting = queuedJob(jobID) { job.status = waiting.status }
        if let change = statusesToSave[jobID] {
            job.status = change.status
            job.statusReason = change.statusReason
        }
        try change(&job.tags)
        try store.commit(jobs: [job], statuses: [])
        statusesToSave[jobID] = nil
        if jobsToSave[jobID] != nil { jobsToSave[jobID] = job }
        if active[jobID] != nil { active[jobID] = job }
        return job
    }

    /// One cycle (steps 1–4 of the type's comment); returns the launches to dispatch (step 5).
    package func cycle() -> [AttemptLaunch] {
        let now = clock()
        // Dependents of jobs that ended since the last commit are settled in this cycle, so a
        // dependent's STARTING is written in the same transaction as its dependency's end (one
        // commit per link of a chain, not two; atomic, so a crash keeps both or neither).
        for job in jobsToSave.values where job.status.isTerminal {
            for dependent in dependents[job.id] ?? [] {
                if let key = keyOfJob[dependent] { unsettled.insert(key) }
            }
        }
        for key in unsettled.sorted() {
            if let jobID = queuedByKey[key]?.id { settle(jobID: jobID, now: now) }
        }
        // Capacity is kept for a cycle's usual size, not for a burst's, which must not pin its memory.
        unsettled.removeAll(keepingCapacity: unsettled.count <= Self.retainedCapacity)
        placeRunnableJobs(now: now)
        let jobs = Array(jobsToSave.values)
        let changedConsumables = consumablesToSave.compactMap { consumables[$0] }
        do {
            try store.commit(jobs: jobs, statuses: Array(statusesToSave.values), consumables: changedConsumables)
        } catch {
            // The store is unavailable: launch nothing, so no attempt runs without its durable
            // record; placements are undone and everything is written again next cycle.
            for launch in pendingLaunches { undoPlacement(launch) }
            pendingLaunches.removeAll()
            cycleRequested = true
            return []
        }
        jobsToSave.removeAll(keepingCapacity: jobsToSave.count <= Self.retainedCapacity)
        consumablesToSave.removeAll()
        statusesToSave.removeAll(keepingCapacity: statusesToSave.count <= Self.retainedCapacity)
        for job in jobs where job.status.isTerminal {
            active[job.id] = nil
            arrayChildFinished(job)
            retire(job.id)
        }
        let launches = pendingLaunches
        pendingLaunches.removeAll(keepingCapacity: true)
        return launches
    }

    /// Step 1: SUBMITTED -> PENDING/RUNNABLE, PENDING -> RUNNABLE/FAILED.
    private func settle(jobID: String, now: Int64) {
        guard var waiting = queuedJob(jobID), waiting.status == .submitted || waiting.status == .pending else { return }
        var unresolved: [String] = []
        for dependencyID in waiting.dependsOn {
            let status = self.status(ofJob: dependencyID) ?? (try? store.status(ofJob: dependencyID)) ?? nil
            switch status {
            case .succeeded: continue
            case .failed:
                failWaitingJob(jobID, reason: pendingCancels.removeValue(forKey: jobID) ?? "Dependent Job \(dependencyID) failed", now: now)
                return
            default: unresolved.append(dependencyID)
            }
        }
        if !unresolved.isEmpty {
            for dependencyID in unresolved { dependents[dependencyID, default: []].append(jobID) }
            if waiting.status == .submitted {
                waiting.status = .pending
                setQueuedJob(jobID, waiting)
                statusesToSave[jobID] = JobStatusChange(jobID: jobID, status: .pending, statusReason: nil)
            }
            return
        }
        if let reason = pendingCancels.removeValue(forKey: jobID) {
            failWaitingJob(jobID, reason: reason, now: now)  // cancelled once its dependencies completed
            return
        }
        waiting.status = .runnable
        waiting.runnableAt = now
        setQueuedJob(jobID, waiting)
        statusesToSave[jobID] = JobStatusChange(jobID: jobID, status: .runnable, statusReason: unsatisfiableReason(waiting))
        offerToPolicy(waiting)
    }

    /// Fails a job that never ran (a dependency failed): loaded whole, written whole.
    private func failWaitingJob(_ jobID: String, reason: String, now: Int64) {
        guard let waiting = queuedJob(jobID), var job = (try? loadWhole([jobID]))?.first else { return }
        job.status = waiting.status
        try? job.move(to: .failed, reason: reason, at: now)
        setQueuedJob(jobID, nil)
        statusesToSave[jobID] = nil
        active[jobID] = job  // retired once the commit is durable
        jobsToSave[jobID] = job
    }

    /// Why a job can never start on its queue as configured now, with the numbers, or nil.
    /// Docket keeps such jobs RUNNABLE (as AWS does) so that a later capacity change can run
    /// them, and says why here rather than leaving them waiting silently.
    private func unsatisfiableReason(_ job: QueuedJob) -> String? {
        let offer = largestOffer(queue: job.queue)
        let request = job.request
        // maxvCpus below the job's vCPUs on every compute environment is AWS's own reason
        // (reference §12.1 #2), said before the executors' totals, which maxvCpus caps.
        let members = queues[job.queue]?.queue.computeEnvironmentOrder.compactMap { environments[$0.computeEnvironment] } ?? []
        let caps = members.map { $0.environment.maxVCPUMillis ?? .max }
        if !caps.isEmpty, caps.allSatisfy({ $0 < request.vcpuMillis }) {
            return "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - CE(s) associated with the job queue cannot meet the CPU requirement of the job: it asks for \(Resources.formatVCPUs(request.vcpuMillis)); the largest maxvCpus of job queue '\(job.queue)' is \(Resources.formatVCPUs(caps.max() ?? 0))."
        }
        let prefix = "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job asks for"
        let suffix = "the largest compute environment of job queue '\(job.queue)' offers"
        if request.vcpuMillis > offer.vcpuMillis {
            return "\(prefix) \(Resources.formatVCPUs(request.vcpuMillis)); \(suffix) \(Resources.formatVCPUs(offer.vcpuMillis))."
        }
        if request.memoryMiB > offer.memoryMiB {
            return "\(prefix) \(request.memoryMiB) MiB of memory; \(suffix) \(offer.memoryMiB) MiB."
        }
        if request.gpus > offer.gpus {
            return "\(prefix) \(request.gpus) GPU(s); \(suffix) \(offer.gpus)."
        }
        // Every enabled compute environment's executor is down (a Docker engine that stopped):
        // the job waits for one to come back, and says which and why.
        let enabled = members.filter { $0.environment.state == .enabled }
        if !enabled.isEmpty, enabled.allSatisfy({ !$0.isHealthy }) {
            let reasons = enabled.map { "'\($0.environment.name)': \($0.healthReason ?? "the executor reports it cannot run jobs")" }
            return "CLIENT_ERROR - no compute environment of job queue '\(job.queue)' can run jobs now; the job waits until one recovers. \(reasons.joined(separator: "; "))"
        }
        return nil
    }

    /// Steps 2 and 3: policy order, then fit. Queues with higher priority go first, so they
    /// get first claim on compute environments they share with lower ones (reference §3.1).
    private func placeRunnableJobs(now: Int64) {
        let ordered = queues.values.sorted {
            ($0.queue.priority, $1.queue.name) > ($1.queue.priority, $0.queue.name)
        }
        for queueState in ordered {
            guard let policy = queueState.policy else { continue }
            // The queue's schedulable compute environments and what each has free, as plain
            // values: the per-job fitting below touches no dictionary.
            var candidates: [(name: String, free: Resources)] = []
            for entry in queueState.queue.computeEnvironmentOrder {
                guard let state = environments[entry.computeEnvironment], state.isSchedulable else { continue }
                candidates.append((entry.computeEnvironment, state.free))
            }
            let free = candidates.reduce(Resources.zero) { $0.maximum($1.free) }
            // A full queue is still asked when its policy preempts: a quota policy takes back
            // lent capacity exactly when nothing is free.
            guard (free.vcpuMillis > 0 && free.memoryMiB > 0) || policy.mayPreempt else { continue }
            var placements: [(jobID: String, key: UInt64, environment: String, request: Resources)] = []
            let order = Array(policy.pick(free: free, limit: settings.pickLimit))
            // Every request a policy made, in this pick or in a query's (docket why, the
            // snapshot), is acted on here, where the scheduler changes what runs.
            preempt(policy.takePreemptionRequests())
            guard free.vcpuMillis > 0 && free.memoryMiB > 0 else { continue }
            for key in order {
                guard let waiting = queuedByKey[key], waiting.status == .runnable else { continue }
                guard let index = candidates.firstIndex(where: { $0.free.accommodates(waiting.request) }) else { continue }
                if let uses = waiting.consumables, !lockConsumables(uses, for: waiting) { continue }
                candidates[index].free = candidates[index].free - waiting.request
                placements.append((waiting.id, key, candidates[index].name, waiting.request))
            }
            guard !placements.isEmpty else { continue }
            let loaded: [String: Job]
            do {
                loaded = Dictionary(uniqueKeysWithValues: try loadWhole(placements.map(\.jobID)).map { ($0.id, $0) })
            } catch {
                // Only consumables were locked yet; the jobs stay RUNNABLE for the next cycle.
                for placement in placements { unlockConsumables(queuedByKey[placement.key]?.consumables, undoingPlacement: true) }
                continue
            }
            var environmentValues: [String: ComputeEnvironment] = [:]
            for candidate in candidates { environmentValues[candidate.name] = environments[candidate.name]?.environment }
            for placement in placements {
                guard let waiting = queuedByKey[placement.key], var job = loaded[placement.jobID],
                      let environment = environmentValues[placement.environment] else {
                    unlockConsumables(queuedByKey[placement.key]?.consumables, undoingPlacement: true)
                    continue
                }
                reserve(placement.request, on: placement.environment)
                decisions += 1
                job.status = .runnable
                job.runnableAt = waiting.runnableAt
                let number = job.attempts.count + 1
                let attemptID = Attempt.id(jobID: job.id, number: number)
                let attempt = Attempt(number: number, computeEnvironment: placement.environment,
                                      logStreamName: "\(job.jobDefinitionName)/default/\(attemptID)")
                job.attempts.append(attempt)
                job.isRetry = false
                try? job.move(to: .starting, reason: nil, at: now)
                queuedByKey[placement.key] = nil
                if !statusesToSave.isEmpty { statusesToSave[job.id] = nil }
                update(job)
                jobOfAttempt[attemptID] = job.id
                policy.jobStarted(key: placement.key, usage: waiting.request, at: now)
                pendingLaunches.append(AttemptLaunch(job: job, attempt: attempt, queue: queueState.queue, environment: environment))
            }
        }
    }

    /// Stops the running jobs a policy asked to preempt; each comes back RUNNABLE when its
    /// attempt ends (finishAttempt). A job not yet launched is stopped once it is.
    private func preempt(_ requests: [(key: UInt64, reason: String)]) {
        for request in requests {
            guard let (jobID, job) = active.first(where: { keyOfJob[$0.key] == request.key }),
                  preempting[jobID] == nil, terminateRequested[jobID] == nil, let attempt = job.currentAttempt else { continue }
            preempting[jobID] = request.reason
            let attemptID = Attempt.id(jobID: jobID, number: attempt.number)
            guard launchedAttempts.contains(attemptID), let port = environments[attempt.computeEnvironment]?.port else { continue }
            let grace = settings.terminateGraceMillis
            Task { await port.terminate(attemptID: attemptID, graceMillis: grace) }
        }
    }

    /// Reverses a placement whose commit failed: the job waits RUNNABLE again, untouched.
    private func undoPlacement(_ launch: AttemptLaunch) {
        guard var job = active[launch.job.id] else { return }
        let attemptID = Attempt.id(jobID: job.id, number: launch.attempt.number)
        release(job.container.resources, on: launch.attempt.computeEnvironment)
        unlockConsumables(job.consumableResources, undoingPlacement: true)
        jobOfAttempt[attemptID] = nil
        job.attempts.removeLast()
        job.status = .runnable
        requeue(job, release: true)
    }

    /// Step 5: hands an attempt to its executor, off the actor.
    private func dispatch(_ launch: AttemptLaunch) {
        guard let port = environments[launch.attempt.computeEnvironment]?.port else { return }
        Task {
            let outcome = await port.launch(launch)
            await self.launched(launch, outcome: outcome)
        }
    }

    private func launched(_ launch: AttemptLaunch, outcome: LaunchOutcome) async {
        let jobID = launch.job.id
        let attemptID = Attempt.id(jobID: jobID, number: launch.attempt.number)
        switch outcome {
        case .launched:
            guard jobOfAttempt[attemptID] != nil else { return }  // already ended
            launchedAttempts.insert(attemptID)
            if terminateRequested[jobID] != nil || preempting[jobID] != nil, let port = environments[launch.attempt.computeEnvironment]?.port {
                await port.terminate(attemptID: attemptID, graceMillis: settings.terminateGraceMillis)
            }
        case .retryLater(let message):
            guard jobOfAttempt.removeValue(forKey: attemptID) != nil, var job = active[jobID] else { return }
            // The executor cannot start anything now: hold its compute environment until the
            // next capacity report rather than spinning on it.
            environments[launch.attempt.computeEnvironment]?.isHealthy = false
            environments[launch.attempt.computeEnvironment]?.healthReason = message
            release(job.container.resources, on: launch.attempt.computeEnvironment)
            job.attempts.removeLast()
            preempting[jobID] = nil  // it never ran, so there is nothing to take back
            if let reason = terminateRequested.removeValue(forKey: jobID) {
                try? job.move(to: .failed, reason: reason, at: clock())
                update(job)
                finishedWithoutAttempt(job)
            } else {
                try? job.move(to: .runnable, reason: "Executor unavailable: \(message)", at: clock())
                requeue(job, release: true)
            }
            requestCycle()
        case .refused(let message):
            attemptEnded(attemptID: attemptID, end: AttemptEnd(kind: .launchFailed, exitCode: nil, reason: message), at: clock())
        }
    }

    // MARK: Attempt endings

    private func finishAttempt(jobID: String, end: AttemptEnd, now: Int64, holdsCapacity: Bool) {
        guard var job = active[jobID], let attempt = job.currentAttempt else { return }
        let index = job.attempts.count - 1
        let stoppedAt = end.stoppedAt ?? now
        if holdsCapacity {
            release(job.container.resources, on: attempt.computeEnvironment)
            unlockConsumables(job.consumableResources, undoingPlacement: false)
            if let key = keyOfJob[jobID] {
                queues[job.queue]?.policy?.jobFinished(key: key, usage: job.container.resources,
                                                        startedAt: attempt.startedAt ?? stoppedAt, stoppedAt: stoppedAt)
            }
        }
        if job.status == .starting, end.kind != .launchFailed, end.kind != .lost {
            // The executor reported the exit without (or before we saw) RUNNING: it did run.
            try? job.move(to: .running, reason: nil, at: end.startedAt ?? now)
            job.attempts[index].startedAt = end.startedAt ?? now
        }
        // The executor's own start time where it gave one: RUNNING's report is stamped on
        // arrival, which under load can be later than the exit the executor measured.
        if let started = end.startedAt, started <= stoppedAt {
            job.attempts[index].startedAt = started
            if let jobStarted = job.startedAt, jobStarted > started { job.startedAt = started }
        }
        job.attempts[index].stoppedAt = stoppedAt
        job.attempts[index].exitCode = end.exitCode
        job.attempts[index].reason = end.reason

        timeoutDeadlines[jobID] = nil
        let terminationReason = terminateRequested.removeValue(forKey: jobID)
            ?? (timedOut.remove(jobID) != nil ? Self.timeoutReason : nil)
        let lostReason = hostLost.removeValue(forKey: jobID)
        let preemption = preempting.removeValue(forKey: jobID)
        let succeeded = end.kind == .exited && end.exitCode == 0
        let statusReason: String
        switch end.kind {
        case _ where terminationReason != nil: statusReason = terminationReason!
        case _ where lostReason != nil: statusReason = lostReason!
        case _ where preemption != nil && !succeeded: statusReason = "Preempted: \(preemption!)"
        case .launchFailed: statusReason = "Task failed to start"
        case .lost: statusReason = end.reason ?? "Host lost"
        case .exited, .signaled: statusReason = "Essential container in task exited"
        }
        job.attempts[index].statusReason = statusReason

        if succeeded && terminationReason == nil && lostReason == nil {
            try? job.move(to: .succeeded, reason: statusReason, at: now)
        } else if preemption != nil && terminationReason == nil && lostReason == nil {
            // Back in its place (by its own priority and sequence, not as a retry), and the
            // attempt costs the job nothing: preempted attempts are not counted below.
            job.attempts[index].wasPreempted = true
            try? job.move(to: .runnable, reason: statusReason, at: now)
            job.isRetry = false
            requeue(job, release: false)
            return
        } else if terminationReason == nil,
                  (job.retryStrategy ?? RetryStrategy(attempts: 1)).shouldRetry(
                      afterAttempt: attempt.number - job.attempts.count(where: \.wasPreempted), exitCode: end.exitCode,
                      reason: end.reason, statusReason: statusReason) {
            // AWS puts retried jobs at the front of the queue (reference §4.6).
            try? job.move(to: .runnable, reason: statusReason, at: now)
            job.isRetry = true
            requeue(job, release: false)
            return
        } else {
            try? job.move(to: .failed, reason: statusReason, at: now)
        }
        update(job)
    }

    /// A job that fails before its attempt started (terminated while its start was refused).
    private func finishedWithoutAttempt(_ job: Job) {
        if let key = keyOfJob[job.id] {
            queues[job.queue]?.policy?.jobFinished(key: key, usage: job.container.resources, startedAt: clock(), stoppedAt: clock())
        }
    }

    /// Puts a whole job back among the waiting ones (a retry, or an attempt that could not
    /// start), writing it whole once.
    private func requeue(_ job: Job, release: Bool) {
        if release, let key = keyOfJob[job.id] {
            queues[job.queue]?.policy?.jobFinished(key: key, usage: job.container.resources, startedAt: clock(), stoppedAt: clock())
        }
        active[job.id] = nil
        jobsToSave[job.id] = job
        let waiting = QueuedJob(job)
        setQueuedJob(job.id, waiting)
        offerToPolicy(waiting)
    }

    // MARK: Bookkeeping

    private func queuedJob(_ jobID: String) -> QueuedJob? { keyOfJob[jobID].flatMap { queuedByKey[$0] } }

    private func setQueuedJob(_ jobID: String, _ job: QueuedJob?) {
        guard let key = keyOfJob[jobID] else { return }
        queuedByKey[key] = job
    }

    /// Whole jobs: the version the next commit writes where there is one (a retried job's last
    /// attempt is not in the store yet), else the store's.
    private func loadWhole(_ ids: [String]) throws(DocketError) -> [Job] {
        let missing = ids.filter { jobsToSave[$0] == nil }
        return ids.compactMap { jobsToSave[$0] } + (missing.isEmpty ? [] : try store.loadJobs(ids: missing))
    }

    // Computed first, then stored: `environments[name]?.used = environments[name]...` would
    // read the dictionary while its own modify access is in progress (an exclusivity trap).
    private func reserve(_ amount: Resources, on environment: String) {
        guard let used = environments[environment]?.used else { return }
        environments[environment]!.used = used + amount
    }

    private func release(_ amount: Resources, on environment: String) {
        guard let used = environments[environment]?.used else { return }
        environments[environment]!.used = used - amount
    }

    private func update(_ job: Job) {
        active[job.id] = job
        jobsToSave[job.id] = job
    }

    @discardableResult
    private func register(_ jobID: String) -> UInt64 {
        if let key = keyOfJob[jobID] { return key }
        let key = nextKey
        nextKey += 1
        keyOfJob[jobID] = key
        return key
    }

    private func offerToPolicy(_ job: QueuedJob) {
        guard let key = keyOfJob[job.id], let state = queues[job.queue] else { return }
        state.policy?.jobRunnable(job, key: key, queuePriority: state.queue.priority)
    }

    /// Forgets a finished job and wakes the jobs that wait on it.
    private func retire(_ jobID: String) {
        if let key = keyOfJob.removeValue(forKey: jobID) { queuedByKey[key] = nil }
        terminateRequested[jobID] = nil
        preempting[jobID] = nil
        consumableWaits[jobID] = nil
        pendingCancels[jobID] = nil
        hostLost[jobID] = nil
        timeoutDeadlines[jobID] = nil
        timedOut.remove(jobID)
        if let waiting = dependents.removeValue(forKey: jobID) {
            unsettled.formUnion(waiting.compactMap { keyOfJob[$0] })
            cycleRequested = true
            if settings.runsCyclesAutomatically && !cycleRunning { requestCycle() }
        }
    }
}
