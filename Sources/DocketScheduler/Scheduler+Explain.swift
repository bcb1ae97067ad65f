import DocketCore

/// Why a job is not running, as `docket why` and GET /docket/v1/jobs/{id}/why show it.
package struct JobWait: Sendable {
    /// One cause, with the numbers. The order of `reasons` is the order to fix them in: what
    /// stops the job outright first, what it only waits for last.
    package struct Reason: Sendable, Hashable {
        /// dependency, queue, computeEnvironment, executor, resource, consumableResource, policy.
        package var kind: String
        package var message: String

        package init(kind: String, message: String) {
            self.kind = kind
            self.message = message
        }
    }

    package var jobID: String
    package var status: JobStatus
    package var queue: String
    package var reasons: [Reason]
    /// The policy's own account of the job's place (policy.h's explain_job), as JSON text.
    package var policyStanding: String?
}

extension Scheduler {
    /// Why the job waits, ranked; nil when the scheduler does not hold it (finished, or unknown).
    /// A job with an attempt in hand is not waiting: its reasons are empty.
    package func whyWaiting(jobID: String) -> JobWait? {
        if let job = active[jobID] {
            return JobWait(jobID: jobID, status: job.status, queue: job.queue, reasons: [], policyStanding: nil)
        }
        guard let key = keyOfJob[jobID], let job = queuedByKey[key] else { return nil }
        var wait = JobWait(jobID: jobID, status: job.status, queue: job.queue, reasons: [], policyStanding: nil)
        let pending = job.dependsOn.compactMap { dependency -> (String, String)? in
            let status = status(ofJob: dependency)
            guard status != .succeeded else { return nil }
            return (dependency, status?.rawValue ?? "finished or unknown to the scheduler")
        }
        if job.status != .runnable {
            for (dependency, status) in pending {
                wait.reasons.append(.init(kind: "dependency", message: "it depends on job \(dependency), which is \(status); it becomes RUNNABLE once every dependency has succeeded"))
            }
            if pending.isEmpty {
                wait.reasons.append(.init(kind: "dependency", message: "it is \(job.status.rawValue) and is settled in the next scheduling cycle"))
            }
            return wait
        }
        guard let state = queues[job.queue] else {
            wait.reasons.append(.init(kind: "queue", message: "job queue '\(job.queue)' is not known to the scheduler"))
            return wait
        }
        if state.queue.state != .enabled {
            wait.reasons.append(.init(kind: "queue", message: "job queue '\(job.queue)' is DISABLED; its jobs wait until it is ENABLED (update-job-queue --state ENABLED)"))
        }
        if state.policy == nil {
            wait.reasons.append(.init(kind: "queue", message: "job queue '\(job.queue)' has no scheduling policy loaded, so nothing orders its jobs; see the server's log"))
        }
        var fitsSomewhereLater = false
        var shortages: [JobWait.Reason] = []
        for entry in state.queue.computeEnvironmentOrder {
            let name = entry.computeEnvironment
            guard let environment = environments[name] else {
                wait.reasons.append(.init(kind: "computeEnvironment", message: "compute environment '\(name)' is not attached to the scheduler"))
                continue
            }
            if environment.environment.state != .enabled {
                wait.reasons.append(.init(kind: "computeEnvironment", message: "compute environment '\(name)' is DISABLED"))
                continue
            }
            if !environment.isHealthy || environment.port == nil {
                wait.reasons.append(.init(kind: "executor", message: "compute environment '\(name)' cannot run jobs now: \(environment.healthReason ?? "its executor is not loaded")"))
                continue
            }
            if !environment.total.accommodates(job.request) {
                wait.reasons.append(.init(kind: "resource", message: "compute environment '\(name)' can never run it: it asks for \(describe(job.request)); '\(name)' has \(describe(environment.total)) in all"))
                continue
            }
            fitsSomewhereLater = true
            let free = environment.free
            if !free.accommodates(job.request) {
                shortages.append(.init(kind: "resource", message: "compute environment '\(name)' is short: the job asks for \(describe(job.request)); \(describe(free)) of \(describe(environment.total)) are free"))
            }
        }
        for use in job.consumables ?? [] {
            guard let resource = consumables[use.resource] else { continue }
            let available = resource.totalQuantity - resource.inUseQuantity
            if use.quantity > available {
                shortages.append(.init(kind: "consumableResource", message: "consumable resource '\(use.resource)' is short: the job needs \(use.quantity); \(available) of \(resource.totalQuantity) are free"))
            }
        }
        wait.reasons += shortages
        if let policy = state.policy {
            wait.policyStanding = policy.explain(key: key)
            if wait.policyStanding == nil, fitsSomewhereLater {
                // A policy without the explain capability: its pick order gives the place.
                let unlimited = Resources(vcpuMillis: .max / 4, memoryMiB: .max / 4, gpus: .max / 4)
                let order = policy.pick(free: unlimited, limit: settings.pickLimit)
                if let position = order.firstIndex(of: key) {
                    let ahead = position - order.startIndex
                    wait.reasons.append(.init(kind: "policy", message: ahead == 0
                        ? "it is first in the order of job queue '\(job.queue)' (policy '\(state.queue.policy)')"
                        : "\(ahead) job(s) of job queue '\(job.queue)' go before it (policy '\(state.queue.policy)')"))
                } else {
                    wait.reasons.append(.init(kind: "policy", message: "more than \(order.count) jobs of job queue '\(job.queue)' go before it (policy '\(state.queue.policy)')"))
                }
            }
        }
        if wait.reasons.isEmpty && wait.policyStanding == nil {
            wait.reasons.append(.init(kind: "resource", message: "nothing stops it: it starts in the next scheduling cycle"))
        }
        return wait
    }

    /// The first RUNNABLE job of each share of a queue, in the order a share orders its own
    /// jobs (retries, then higher schedulingPriority, then submission): GetJobQueueSnapshot's
    /// frontOfQuotaShares. Read from the queue itself, since a quota policy's pick leaves out
    /// the jobs of a share at its limit.
    package func firstRunnablePerShare(queue: String) -> [String: (id: String, runnableAt: Int64)] {
        var firsts: [String: QueuedJob] = [:]
        for job in queuedByKey.values where job.queue == queue && job.status == .runnable {
            guard let share = job.shareIdentifier else { continue }
            if let best = firsts[share],
               (best.isRetry ? 0 : 1, -best.schedulingPriority, best.sequence) <= (job.isRetry ? 0 : 1, -job.schedulingPriority, job.sequence) {
                continue
            }
            firsts[share] = job
        }
        return firsts.mapValues { ($0.id, $0.runnableAt) }
    }

    /// The queue's shares as its policy reports them (policy.h's describe_shares), if it can.
    package func shareStanding(queue: String) -> String? { queues[queue]?.policy?.describeShares() }

    private func describe(_ resources: Resources) -> String {
        var parts = ["\(Resources.formatVCPUs(resources.vcpuMillis))", "\(resources.memoryMiB) MiB"]
        if resources.gpus > 0 { parts.append("\(resources.gpus) GPU(s)") }
        return parts.joined(separator: ", ")
    }
}
