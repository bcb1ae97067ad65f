import DocketAPI
import DocketCore
import DocketStore
import Foundation

/// The update and delete operations on compute environments, job queues and job definitions,
/// and GetJobQueueSnapshot. Each checks everything first, then writes the store, then the
/// catalog and the scheduler, so a refused request changes nothing.
extension DocketService {
    /// Resources the configuration file declares are rewritten from it at every start, so a
    /// change through the API would silently come undone: refuse it and say where to change it.
    private func refuseIfConfigured(_ isFromConfiguration: Bool, kind: String, name: String, field: String) throws(DocketError) {
        guard isFromConfiguration else { return }
        throw DocketError.invalid(field, "\(kind) '\(name)' is declared in the server's configuration file, which is re-applied at every start; change or remove it there and restart the server.")
    }

    func environment(named name: String) throws(DocketError) -> ComputeEnvironment {
        guard let environment = catalog.withLock({ $0.environments[name] }) else {
            throw DocketError(.notFound, "computeEnvironment '\(name)' does not exist; list them with `aws batch describe-compute-environments`.", field: "computeEnvironment")
        }
        return environment
    }

    func queue(named name: String) throws(DocketError) -> JobQueue {
        guard let queue = catalog.withLock({ $0.queues[name] }) else {
            throw DocketError(.notFound, "jobQueue '\(name)' does not exist; list them with `aws batch describe-job-queues`.", field: "jobQueue")
        }
        return queue
    }

    // MARK: Compute environments

    func updateComputeEnvironment(_ reference: String, _ change: ComputeEnvironmentChange) async throws(DocketError) -> ComputeEnvironment {
        var environment = try environment(named: reference)
        try refuseIfConfigured(environment.isFromConfiguration, kind: "compute environment", name: environment.name, field: "computeEnvironment")
        if !change.computeResources.isEmpty {
            guard environment.type == "MANAGED", case .object(var resources)? = environment.computeResources else {
                throw DocketError.invalid("computeResources", "compute environment '\(environment.name)' is UNMANAGED, so it has no computeResources to update; change its state only.")
            }
            let minimum = change.computeResources["minvCpus"]?.doubleValue ?? resources["minvCpus"]?.doubleValue ?? 0
            let maximum = change.computeResources["maxvCpus"]?.doubleValue ?? resources["maxvCpus"]?.doubleValue ?? 0
            guard minimum <= maximum else {
                throw DocketError.invalid("computeResources.maxvCpus", "computeResources.maxvCpus \(Int(maximum)) is below minvCpus \(Int(minimum)); raise maxvCpus or lower minvCpus.")
            }
            // AWS's rule (reference §2.2): desiredvCpus may be raised within [minvCpus, maxvCpus], never lowered.
            if let desired = change.computeResources["desiredvCpus"]?.doubleValue {
                let current = resources["desiredvCpus"]?.doubleValue ?? minimum
                guard desired >= current, desired >= minimum, desired <= maximum else {
                    throw DocketError.invalid("computeResources.desiredvCpus", "Manually scaling down compute environment is not supported. Disconnecting job queues from compute environment will cause it to scale-down to minvCpus. (computeResources.desiredvCpus \(Int(desired)) must be between the current \(Int(current)) and maxvCpus \(Int(maximum)); change minvCpus instead.)")
                }
            }
            for (key, value) in change.computeResources { resources[key] = value }
            environment.computeResources = .object(resources)
        }
        if let state = change.state { environment.state = state }
        if let maximum = change.maxVCPUMillis { environment.maxVCPUMillis = maximum }
        for (key, value) in change.extra { environment.extra[key] = value }
        try store.save(environment)
        catalog.withLock { $0.environments[environment.name] = environment }
        await runtime.update(environment)
        return environment
    }

    func deleteComputeEnvironment(_ reference: String) async throws(DocketError) {
        let environment = try environment(named: reference)
        try refuseIfConfigured(environment.isFromConfiguration, kind: "compute environment", name: environment.name, field: "computeEnvironment")
        guard environment.state == .disabled else {
            throw DocketError.invalid("computeEnvironment", "compute environment '\(environment.name)' is ENABLED; disable it first with update-compute-environment --state DISABLED, then delete it.")
        }
        let users = catalog.withLock { catalog in
            catalog.queues.values.filter { queue in queue.computeEnvironmentOrder.contains { $0.computeEnvironment == environment.name } }
                .map(\.name).sorted()
        }
        guard users.isEmpty else {
            throw DocketError.invalid("computeEnvironment", "Cannot delete, found existing JobQueue relationship: compute environment '\(environment.name)' is still used by job queue(s) \(users.joined(separator: ", ")); remove it from their computeEnvironmentOrder with update-job-queue (or delete the queues) first.")
        }
        guard environment.status != "DELETING" else { return }
        // As on AWS: the environment is DELETING while the attempts it still runs are stopped
        // (they fail like jobs on a terminated host, and retry if their strategy allows), then
        // it is gone. The status is stored, so a restart finishes the deletion.
        var deleting = environment
        deleting.status = "DELETING"
        deleting.statusReason = "Compute environment is being deleted"
        try store.save(deleting)
        catalog.withLock { $0.environments[environment.name] = deleting }
        await finishDeleting(deleting)
    }

    /// Stops what a DELETING environment still runs and removes it once nothing runs there.
    /// Returns at once; the removal happens when the last attempt has ended.
    func finishDeleting(_ environment: ComputeEnvironment) async {
        let reason = "Host terminated: compute environment '\(environment.name)' was deleted"
        _ = await scheduler.evacuate(environment: environment.name, reason: reason)
        let grace = Double(configurationGraceSeconds) + 10
        Task {
            let deadline = Date().addingTimeInterval(grace)
            while await scheduler.activeAttemptCount(environment: environment.name) > 0, Date() < deadline {
                try? await Task.sleep(for: .milliseconds(100))
            }
            do {
                try store.deleteComputeEnvironment(named: environment.name)
            } catch {
                return  // the status stays DELETING; the next start tries again
            }
            catalog.withLock { $0.environments[environment.name] = nil }
            await scheduler.removeEnvironment(named: environment.name)
            runtime.detach(environment: environment.name)
        }
    }

    // MARK: Job queues

    /// Compute environment names from names or ARNs, each of which must exist, all of one
    /// platform (AWS does not mix EC2 and Fargate capacity in one queue).
    func resolveOrder(_ order: [ComputeEnvironmentOrder]) throws(DocketError) -> [ComputeEnvironmentOrder] {
        let environments = catalog.withLock { $0.environments }
        let resolved = try order.map { entry throws(DocketError) in
            let name = ARNBuilder.name(from: entry.computeEnvironment, kind: "compute-environment")
            guard environments[name] != nil else {
                throw DocketError.invalid("computeEnvironmentOrder", "computeEnvironmentOrder names compute environment '\(entry.computeEnvironment)', which does not exist; create it first or fix the name.")
            }
            return ComputeEnvironmentOrder(order: entry.order, computeEnvironment: name)
        }
        let platforms = Set(resolved.compactMap { environments[$0.computeEnvironment]?.platform })
        guard platforms.count <= 1 else {
            let described = resolved.map { "\($0.computeEnvironment) (\(environments[$0.computeEnvironment]!.platform))" }.joined(separator: ", ")
            throw DocketError.invalid("computeEnvironmentOrder", "computeEnvironmentOrder mixes EC2 and FARGATE compute environments (\(described)); a job queue's compute environments must all be of one kind.")
        }
        return resolved
    }

    /// A scheduling policy ARN given to CreateJobQueue or UpdateJobQueue, which must exist.
    func resolvePolicyArn(_ arn: String) throws(DocketError) -> String {
        let name = ARNBuilder.name(from: arn, kind: "scheduling-policy")
        guard let policy = catalog.withLock({ $0.policies[name] }), policy.arn == arn || name == arn else {
            throw DocketError.invalid("schedulingPolicyArn", "schedulingPolicyArn '\(arn)' names no scheduling policy; create it with create-scheduling-policy and pass the ARN it returns.")
        }
        return policy.arn
    }

    func updateJobQueue(_ reference: String, _ change: JobQueueChange) async throws(DocketError) -> JobQueue {
        var queue = try queue(named: reference)
        try refuseIfConfigured(queue.isFromConfiguration, kind: "job queue", name: queue.name, field: "jobQueue")
        if let order = change.computeEnvironmentOrder { queue.computeEnvironmentOrder = try resolveOrder(order).sorted { $0.order < $1.order } }
        if let arn = change.schedulingPolicyArn {
            // AWS: a FIFO queue cannot gain a policy later; a policy can be replaced, not removed.
            guard queue.schedulingPolicyArn != nil else {
                throw DocketError.invalid("schedulingPolicyArn", "job queue '\(queue.name)' was created without a scheduling policy (FIFO), and AWS Batch does not add one later; create a new queue with schedulingPolicyArn.")
            }
            queue.schedulingPolicyArn = try resolvePolicyArn(arn)
        }
        if let state = change.state { queue.state = state }
        if let priority = change.priority { queue.priority = priority }
        if let actions = change.jobStateTimeLimitActions { queue.jobStateTimeLimitActions = actions == .null ? nil : actions }
        let before = catalog.withLock { $0.queues[queue.name] }
        applySchedulingPolicy(to: &queue)
        let policyChanged = before?.policy != queue.policy || before?.policySettings != queue.policySettings
        if policyChanged {
            // A new policy instance first: settings it refuses leave the queue as it was.
            try await runtime.attach(queue, replacingPolicy: true)
        }
        try store.save(queue)
        catalog.withLock { $0.queues[queue.name] = queue }
        await scheduler.updateQueue(queue)
        return queue
    }

    /// Sets the policy plugin and settings a queue with a scheduling policy runs under: a
    /// fair-share policy runs the `fairshare` plugin with the policy's parameters (and, for the
    /// compute reservation, the queue's compute environments' maxvCpus where they have one); a
    /// quota-share policy runs the `quota` plugin with the queue's quota shares. A queue
    /// without a scheduling policy keeps the configuration's `policy` (FIFO by default).
    func applySchedulingPolicy(to queue: inout JobQueue) {
        guard let arn = queue.schedulingPolicyArn else { return }
        let (policy, environments, shares) = catalog.withLock { catalog in
            (catalog.policies[ARNBuilder.name(from: arn, kind: "scheduling-policy")], catalog.environments,
             catalog.quotaShares.values.filter { $0.jobQueue == queue.name }.sorted { $0.name < $1.name })
        }
        if policy?.quotaSharePolicy != nil {
            queue.policy = "quota"
            queue.policySettings = ["quotaShares": .array(shares.map { share in
                ["name": .string(share.name), "state": .string(share.state.rawValue), "capacityLimits": share.capacityLimits,
                 "resourceSharingConfiguration": share.resourceSharingConfiguration,
                 "preemptionConfiguration": share.preemptionConfiguration]
            })]
            return
        }
        guard case .object(var settings)? = policy?.fairsharePolicy else {
            queue.policy = "fifo"
            queue.policySettings = .object([:])
            return
        }
        let capacities = queue.computeEnvironmentOrder.compactMap { environments[$0.computeEnvironment]?.maxVCPUMillis }
        if !capacities.isEmpty { settings["capacityVcpuMillis"] = .number(Double(capacities.reduce(0, +))) }
        queue.policy = "fairshare"
        queue.policySettings = .object(settings)
    }

    /// After a quota share of `queueName` changed: a quota queue gets an instance with the new
    /// shares, handed its queued and running jobs.
    func reapplyQuotaShares(queue queueName: String) async throws(DocketError) {
        guard var queue = catalog.withLock({ $0.queues[queueName] }), queue.policy == "quota" else { return }
        applySchedulingPolicy(to: &queue)
        try await runtime.attach(queue, replacingPolicy: true)
        try store.save(queue)
        catalog.withLock { $0.queues[queue.name] = queue }
    }

    /// On a queue whose scheduling policy is a quota-share policy, a share limits units Docket
    /// counts (VCPU, MEMORY in MiB, GPU, JOBS running), each to no more than the queue's compute
    /// environments have in all. Shares on other queues are records the scheduler does not use.
    func checkQuotaLimits(_ limits: JSONValue, queue: JobQueue) async throws(DocketError) {
        guard queue.policy == "quota" else { return }
        let usage = await scheduler.environmentUsage()
        let total = queue.computeEnvironmentOrder.reduce(Resources.zero) { sum, entry in sum + (usage[entry.computeEnvironment]?.total ?? .zero) }
        for (index, limit) in (limits.arrayValue ?? []).enumerated() {
            let field = "capacityLimits[\(index)]"
            let unit = limit["capacityUnit"]?.stringValue ?? ""
            let maximum = limit["maxCapacity"]?.intValue ?? 0
            let available: Int64?
            switch unit {
            case "VCPU": available = total.vcpuMillis / 1000
            case "MEMORY": available = total.memoryMiB
            case "GPU": available = total.gpus
            case "JOBS": available = nil
            default:
                throw DocketError.invalid("\(field).capacityUnit", "\(field).capacityUnit is '\(unit)'; a compute job queue's quota shares count VCPU, MEMORY (MiB), GPU or JOBS (running jobs).")
            }
            if let available, maximum > available {
                throw DocketError.invalid("\(field).maxCapacity", "\(field).maxCapacity is \(maximum) \(unit), more than the \(available) that job queue '\(queue.name)''s compute environments have in all; lower it, or add capacity to the queue first.")
            }
        }
    }

    /// After UpdateSchedulingPolicy: every queue using the policy gets an instance with the new
    /// parameters, handed its queued jobs in order (no restart, nothing lost).
    func reapplySchedulingPolicy(arn: String) async throws(DocketError) {
        let users = catalog.withLock { $0.queues.values.filter { $0.schedulingPolicyArn == arn }.sorted { $0.name < $1.name } }
        for var queue in users {
            applySchedulingPolicy(to: &queue)
            try await runtime.attach(queue, replacingPolicy: true)
            try store.save(queue)
            catalog.withLock { $0.queues[queue.name] = queue }
        }
    }

    func deleteJobQueue(_ reference: String) async throws(DocketError) {
        let queue = try queue(named: reference)
        try refuseIfConfigured(queue.isFromConfiguration, kind: "job queue", name: queue.name, field: "jobQueue")
        guard queue.state == .disabled else {
            throw DocketError.invalid("jobQueue", "job queue '\(queue.name)' is ENABLED; disable it first with update-job-queue --state DISABLED, then delete it.")
        }
        // As AWS does: the queue's unfinished jobs are terminated (waiting ones fail at once,
        // running ones are stopped and fail when their attempt ends).
        for id in await scheduler.unfinishedJobs(queue: queue.name) {
            _ = try await scheduler.terminate(jobID: id, reason: "Job queue \(queue.name) was deleted")
        }
        try store.deleteJobQueue(named: queue.name)
        catalog.withLock { catalog in
            catalog.queues[queue.name] = nil
            for key in catalog.quotaShares.keys where key.hasPrefix(queue.name + "/") { catalog.quotaShares[key] = nil }
        }
        await scheduler.removeQueue(named: queue.name)
    }

    func jobQueueSnapshot(_ reference: String) async throws(DocketError) -> JobQueueSnapshot {
        let queue = try queue(named: reference)
        let isQuota = queue.policy == "quota"
        let (front, inUse) = await scheduler.frontOfQueue(queue.name, limit: 100)
        let arns = self.arns
        var fairshare: (activeShareCount: Int, shares: [(shareIdentifier: String, vcpus: Double)])?
        var quotaShares: (usage: [(name: String, vcpus: Double)], front: [String: (jobArn: String, earliestTimeAtPosition: Int64)])?
        if let text = await scheduler.shareStanding(queue: queue.name),
           let standing = try? JSONParser.parse(Array(text.utf8)) {
            let shares = (standing["shares"]?.arrayValue ?? []).compactMap { share -> (String, Double)? in
                guard let name = share["shareIdentifier"]?.stringValue else { return nil }
                return (name, (share["vcpuMillisInUse"]?.doubleValue ?? 0) / 1000)
            }.sorted { $0.1 > $1.1 }
            if isQuota {
                let firsts = await scheduler.firstRunnablePerShare(queue: queue.name).mapValues { (arns.job($0.id), $0.runnableAt) }
                quotaShares = (shares, firsts)
            } else {
                fairshare = (Int(standing["activeShareCount"]?.intValue ?? Int64(shares.count)), shares)
            }
        }
        return JobQueueSnapshot(front: front.map { (arns.job($0.id), $0.runnableAt) }, vcpusInUse: Double(inUse.vcpuMillis) / 1000,
                                takenAt: clock(), fairshare: fairshare, quotaShares: quotaShares)
    }

    /// Why a job is not running: the scheduler's ranked reasons, and the policy's standing.
    func whyWaiting(job reference: String) async throws(DocketError) -> JSONValue {
        let id = ARNBuilder.name(from: reference, kind: "job")
        guard let wait = await scheduler.whyWaiting(jobID: id) else {
            guard let job = try store.jobs(ids: [id]).first else {
                throw DocketError(.notFound, "job '\(reference)' does not exist; list jobs with `docket jobs`.", field: "jobId")
            }
            return ["jobId": .string(job.id), "status": .string(job.status.rawValue), "waiting": false,
                    "reasons": .array([["kind": "finished", "message": .string("it is \(job.status.rawValue); it no longer waits")]])]
        }
        var answer: [String: JSONValue] = [
            "jobId": .string(wait.jobID), "status": .string(wait.status.rawValue), "jobQueue": .string(wait.queue),
            "waiting": .bool(!wait.reasons.isEmpty || wait.policyStanding != nil),
            "reasons": .array(wait.reasons.map { ["kind": .string($0.kind), "message": .string($0.message)] }),
        ]
        if let text = wait.policyStanding, let standing = try? JSONParser.parse(Array(text.utf8)) {
            answer["policy"] = standing
            if let reason = standing["reason"]?.stringValue {
                answer["reasons"] = .array((answer["reasons"]?.arrayValue ?? []) + [["kind": "policy", "message": .string(reason)]])
            }
        }
        if wait.status == .starting || wait.status == .running {
            answer["waiting"] = false
            answer["reasons"] = [["kind": "running", "message": .string("it is \(wait.status.rawValue); it no longer waits")]]
        }
        return .object(answer)
    }

    // MARK: Job definitions

    func deregisterJobDefinition(_ reference: String) async throws(DocketError) {
        let parsed = try JobDefinitionReference(parsing: reference)
        guard var definition = catalog.withLock({ $0.definition(name: parsed.name, revision: parsed.revision) }) else {
            throw DocketError(.notFound, "jobDefinition '\(reference)' does not exist; list the revisions with describe-job-definitions --job-definition-name \(parsed.name).", field: "jobDefinition")
        }
        guard definition.isActive else { return }  // deregistering twice changes nothing, as in AWS
        definition.status = "INACTIVE"
        try store.update(definition)
        catalog.withLock { catalog in
            if let index = catalog.definitions[definition.name]?.firstIndex(where: { $0.revision == definition.revision }) {
                catalog.definitions[definition.name]![index] = definition
            }
        }
    }
}
