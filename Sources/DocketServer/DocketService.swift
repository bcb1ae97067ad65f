import DocketAPI
import DocketCore
import DocketPluginHost
import DocketScheduler
import DocketStore
import Foundation
import Logging
import Synchronization

/// Compute environments, job queues and job definitions, kept in memory beside the store. This
/// server is the store's only writer, so the submit path reads them without a query; every
/// change is written to the store first, then here.
struct Catalog {
    var environments: [String: ComputeEnvironment] = [:]
    var queues: [String: JobQueue] = [:]
    /// By name, revisions in ascending order.
    var definitions: [String: [JobDefinition]] = [:]
    var policies: [String: SchedulingPolicy] = [:]
    var consumables: [String: ConsumableResource] = [:]
    /// By "QUEUE/NAME".
    var quotaShares: [String: QuotaShare] = [:]
    /// UpdateConsumableResource client tokens seen, with the answer they got (AWS keeps them 8 hours).
    var consumableTokens: [String: (at: Int64, result: ConsumableResource)] = [:]

    init(store: SQLiteStore) throws(DocketError) {
        for environment in try store.computeEnvironments() { environments[environment.name] = environment }
        for queue in try store.jobQueues() { queues[queue.name] = queue }
        for definition in try store.jobDefinitions(name: nil, status: nil) { definitions[definition.name, default: []].append(definition) }
        for policy in try store.resources(SchedulingPolicy.self, kind: .schedulingPolicy) { policies[policy.name] = policy }
        for resource in try store.resources(ConsumableResource.self, kind: .consumableResource) { consumables[resource.name] = resource }
        for share in try store.resources(QuotaShare.self, kind: .quotaShare) { quotaShares[share.jobQueue + "/" + share.name] = share }
    }

    /// A revision, or the latest ACTIVE one when `revision` is nil.
    func definition(name: String, revision: Int?) -> JobDefinition? {
        guard let revisions = definitions[name] else { return nil }
        if let revision { return revisions.first { $0.revision == revision } }
        return revisions.last { $0.isActive }
    }
}

/// The AWS Batch operations over the store, the scheduler and the plugins: what the API calls.
///
/// Reads go to the store (what it says is durable); changes are validated completely before
/// anything is written, so a rejected request leaves nothing behind.
final class DocketService: BatchBackend {
    let arns: ARNBuilder
    let limits: APILimits
    let store: SQLiteStore
    let scheduler: Scheduler
    let runtime: PluginRuntime
    let paths: AttemptPaths
    let info: [String: JSONValue]
    let clock: @Sendable () -> Int64
    /// server.terminate_grace_seconds: how long a stopped attempt may take to end.
    let configurationGraceSeconds: Int
    let catalog: Mutex<Catalog>

    init(arns: ARNBuilder, limits: APILimits = APILimits(), terminateGraceSeconds: Int = 30, store: SQLiteStore, scheduler: Scheduler, runtime: PluginRuntime, paths: AttemptPaths,
         info: [String: JSONValue], clock: @escaping @Sendable () -> Int64) throws(DocketError) {
        catalog = Mutex(try Catalog(store: store))
        self.arns = arns
        self.limits = limits
        self.configurationGraceSeconds = terminateGraceSeconds
        self.store = store
        self.scheduler = scheduler
        self.runtime = runtime
        self.paths = paths
        self.info = info
        self.clock = clock
    }

    // MARK: Compute environments

    func createComputeEnvironment(_ environment: ComputeEnvironment) async throws(DocketError) -> ComputeEnvironment {
        try ResourceName.validate(environment.name, field: "computeEnvironmentName")
        guard catalog.withLock({ $0.environments[environment.name] }) == nil else {
            throw DocketError(.conflict, "Object already exists: compute environment '\(environment.name)' exists; choose another computeEnvironmentName.", field: "computeEnvironmentName")
        }
        var stored = environment
        if stored.executor.isEmpty { stored.executor = runtime.defaultExecutor }
        guard runtime.executorPlugin(named: stored.executor) != nil else {
            throw DocketError.invalid("tags.docket:executor", "executor '\(stored.executor)' is not loaded; loaded executors: \(runtime.executorNames.joined(separator: ", ")). Set the tag docket:executor to one of them or add the plugin to the configuration.")
        }
        stored.arn = arns.computeEnvironment(stored.name)
        stored.uuid = UUID().uuidString.lowercased()
        stored.createdAt = clock()
        try await runtime.attach(stored)
        try store.save(stored)
        catalog.withLock { $0.environments[stored.name] = stored }
        return stored
    }

    /// Status and statusReason say what the executor says now: an environment whose executor is
    /// unhealthy (an engine down, a plugin that failed to start) is INVALID with AWS's
    /// "CLIENT_ERROR - " prefix and the executor's reason, and VALID again once it recovers. A
    /// healthy executor's notice (a drained GPU) is the statusReason of a VALID environment.
    func describeComputeEnvironments(_ references: [String]) async throws(DocketError) -> [ComputeEnvironment] {
        let unhealthy = await scheduler.unhealthyEnvironments()
        let notices = runtime.executorNotices
        let all = catalog.withLock { $0.environments.values.sorted { $0.name < $1.name } }.map { environment in
            guard let reason = unhealthy[environment.name] else {
                guard let notice = notices[environment.name] else { return environment }
                var described = environment
                described.statusReason = notice
                return described
            }
            var described = environment
            described.status = "INVALID"
            described.statusReason = "CLIENT_ERROR - \(reason)"
            return described
        }
        guard !references.isEmpty else { return all }
        let names = Set(references.map { ARNBuilder.name(from: $0, kind: "compute-environment") })
        return all.filter { names.contains($0.name) }
    }

    // MARK: Job queues

    func createJobQueue(_ queue: JobQueue) async throws(DocketError) -> JobQueue {
        try ResourceName.validate(queue.name, field: "jobQueueName")
        guard catalog.withLock({ $0.queues[queue.name] }) == nil else {
            throw DocketError(.conflict, "Object already exists: job queue '\(queue.name)' exists; choose another jobQueueName.", field: "jobQueueName")
        }
        var stored = queue
        stored.computeEnvironmentOrder = try resolveOrder(queue.computeEnvironmentOrder)
        if let arn = queue.schedulingPolicyArn { stored.schedulingPolicyArn = try resolvePolicyArn(arn) }
        applySchedulingPolicy(to: &stored)
        stored.arn = arns.jobQueue(stored.name)
        stored.createdAt = clock()
        try await runtime.attach(stored)
        try store.save(stored)
        catalog.withLock { $0.queues[stored.name] = stored }
        return stored
    }

    func describeJobQueues(_ references: [String]) async throws(DocketError) -> [JobQueue] {
        let all = catalog.withLock { $0.queues.values.sorted { $0.name < $1.name } }
        guard !references.isEmpty else { return all }
        let names = Set(references.map { ARNBuilder.name(from: $0, kind: "job-queue") })
        return all.filter { names.contains($0.name) }
    }

    // MARK: Job definitions

    func registerJobDefinition(_ definition: JobDefinition) async throws(DocketError) -> JobDefinition {
        try ResourceName.validate(definition.name, field: "jobDefinitionName")
        try checkConsumables(definition.consumableResources, field: "consumableResourceProperties")
        var pending = definition
        pending.createdAt = clock()
        pending.status = "ACTIVE"
        let arns = self.arns
        let registered = try store.register(pending) { arns.jobDefinition($0, $1) }
        catalog.withLock { $0.definitions[registered.name, default: []].append(registered) }
        return registered
    }

    func describeJobDefinitions(references: [String], name: String?, status: String?) async throws(DocketError) -> [JobDefinition] {
        var result = catalog.withLock { catalog in
            catalog.definitions.keys.sorted().flatMap { catalog.definitions[$0]! }
        }.filter { (name == nil || $0.name == name) && (status == nil || $0.status == status) }
        if !references.isEmpty {
            var wanted: [JobDefinitionReference] = []
            for reference in references { wanted.append(try JobDefinitionReference(parsing: reference, field: "jobDefinitions")) }
            result = result.filter { definition in
                wanted.contains { $0.name == definition.name && ($0.revision == nil || $0.revision == definition.revision) }
            }
        }
        return result
    }

    // MARK: Jobs

    func submitJob(_ submission: JobSubmission) async throws(DocketError) -> Job {
        try ResourceName.validate(submission.jobName, field: "jobName")
        let queueName = ARNBuilder.name(from: submission.jobQueue, kind: "job-queue")
        guard let queue = catalog.withLock({ $0.queues[queueName] }) else {
            throw DocketError(.notFound, "jobQueue '\(submission.jobQueue)' does not exist; list the queues with `aws batch describe-job-queues`.", field: "jobQueue")
        }
        guard queue.state == .enabled else {
            throw DocketError.invalid("jobQueue", "job queue '\(queue.name)' is DISABLED and accepts no new jobs; enable it with update-job-queue --state ENABLED.")
        }
        let reference = try JobDefinitionReference(parsing: submission.jobDefinition)
        guard let definition = catalog.withLock({ $0.definition(name: reference.name, revision: reference.revision) }) else {
            let message = reference.revision == nil
                ? "JobDefinition name \(reference.name) does not exist or is not in ACTIVE status; register it with register-job-definition."
                : "JobDefinition \(arns.jobDefinition(reference.name, reference.revision!)) not found; list the revisions with describe-job-definitions --job-definition-name \(reference.name)."
            throw DocketError(.notFound, message, field: "jobDefinition")
        }
        guard definition.isActive else {
            throw DocketError.invalid("jobDefinition", "JobDefinition \(definition.arn) is not in ACTIVE status: it was deregistered; submit with an ACTIVE revision (or the name alone for the latest).")
        }
        if let platform = catalog.withLock({ catalog in queue.computeEnvironmentOrder.first.flatMap { catalog.environments[$0.computeEnvironment]?.platform } }),
           !definition.platformCapabilities.contains(platform) {
            throw DocketError.invalid("jobDefinition", "job definition '\(definition.reference)' has platformCapabilities \(definition.platformCapabilities.joined(separator: ", ")), but job queue '\(queue.name)' runs on \(platform) compute environments; register the definition with platformCapabilities [\"\(platform)\"] or submit to a \(platform == "EC2" ? "FARGATE" : "EC2") queue.")
        }
        let container = try ContainerResolution.resolve(definition: definition, submission: submission)
        let consumables = submission.consumableResourceOverride ?? definition.consumableResources
        try checkConsumables(consumables, field: "consumableResourcePropertiesOverride")
        try checkShareIdentifier(submission.shareIdentifier, queue: queue)
        // Dependencies name jobs that exist already, so a new job can never close a cycle.
        for dependency in submission.dependsOn {
            guard let id = dependency.jobID else { continue }
            guard try store.status(ofJob: id) != nil else {
                throw DocketError.invalid("dependsOn", "dependsOn names job '\(id)', which does not exist; give the jobId SubmitJob returned (PARENT:INDEX for an array child).")
            }
            if dependency.type == "N_TO_N" {
                let target = try store.jobs(ids: [id]).first
                guard let targetSize = target?.arraySize, target?.isArrayParent == true else {
                    throw DocketError.invalid("dependsOn", "dependsOn: N_TO_N pairs children by index, but job '\(id)' is not an array job; drop the type to wait for the whole job.")
                }
                guard targetSize == submission.arraySize else {
                    throw DocketError.invalid("dependsOn", "dependsOn: N_TO_N pairs child i with child i, but array job '\(id)' has \(targetSize) children and this one \(submission.arraySize ?? 0); give both arrays the same size.")
                }
            }
        }
        let id = UUID().uuidString.lowercased()
        var job = Job(id: id, name: submission.jobName, arn: arns.job(id), queue: queue.name,
                      jobDefinitionArn: definition.arn, jobDefinitionName: definition.name,
                      sequence: await scheduler.allocateSequence(), createdAt: clock(), container: container,
                      parameters: definition.parameters.merging(submission.parameters) { _, submitted in submitted },
                      retryStrategy: submission.retryStrategy ?? definition.retryStrategy,
                      timeoutSeconds: submission.timeoutSeconds ?? definition.timeoutSeconds,
                      dependsOn: submission.dependsOn,
                      tags: submission.tags,
                      shareIdentifier: submission.shareIdentifier,
                      schedulingPriority: submission.schedulingPriorityOverride ?? definition.schedulingPriority,
                      platformCapabilities: definition.platformCapabilities)
        job.consumableResources = consumables
        job.propagateTags = submission.propagateTags ?? definition.propagateTags
        if job.propagateTags == true {
            // Reference §4.8: the job's tags win a clash, and over 50 together the job fails.
            let propagated = definition.tags.merging(submission.tags) { _, submitted in submitted }
            if propagated.count > 50 {
                try? job.move(to: .failed, reason: "Tag propagation failed: the job and its job definition have \(propagated.count) tags together; at most 50 can be propagated. Drop tags or submit with --no-propagate-tags.", at: clock())
            }
        }
        guard let size = submission.arraySize, !job.status.isTerminal else {
            job.arraySize = submission.arraySize
            try await scheduler.submit(job)
            return job
        }
        // An array job: the parent and its children, which wait for the parent's plain
        // dependencies, for the previous child (SEQUENTIAL) and for child i of N_TO_N arrays.
        job.arraySize = size
        let plain = submission.dependsOn.filter { $0.jobID != nil && $0.type == nil }
        let pairedArrays = submission.dependsOn.filter { $0.type == "N_TO_N" }.compactMap(\.jobID)
        let isSequential = submission.dependsOn.contains { $0.type == "SEQUENTIAL" }
        let first = await scheduler.allocateSequences(size)
        var children: [Job] = []
        children.reserveCapacity(size)
        for index in 0..<size {
            var dependencies = plain
            if isSequential, index > 0 { dependencies.append(JobDependency(jobID: "\(id):\(index - 1)", type: "SEQUENTIAL")) }
            for array in pairedArrays { dependencies.append(JobDependency(jobID: "\(array):\(index)", type: "N_TO_N")) }
            children.append(job.arrayChild(index: index, sequence: first + Int64(index), dependsOn: dependencies))
        }
        try await scheduler.submitArray(parent: job, children: children)
        return job
    }

    /// statusSummary of an array parent: how many children are in each status now.
    func arrayStatusSummary(_ parentID: String) async throws(DocketError) -> [JobStatus: Int] {
        try store.arrayChildCounts(of: parentID)
    }

    func listArrayChildren(_ parentID: String, status: JobStatus?, afterSequence: Int64?, limit: Int) async throws(DocketError) -> [Job] {
        guard let parent = try store.jobs(ids: [parentID]).first else {
            throw DocketError(.notFound, "arrayJobId '\(parentID)' does not exist; give the jobId SubmitJob returned for the array job.", field: "arrayJobId")
        }
        guard parent.isArrayParent else {
            throw DocketError.invalid("arrayJobId", "arrayJobId '\(parentID)' is not an array job (it has no arrayProperties.size); list it by jobQueue instead.")
        }
        return try store.arrayChildren(of: parentID, status: status, afterSequence: afterSequence, limit: limit)
    }

    /// AWS's rule (reference §6.3): a queue with a fair-share policy needs a shareIdentifier on
    /// every job; Docket's: a queue with a quota-share policy needs one naming an ENABLED quota
    /// share of the queue; any other queue refuses one.
    private func checkShareIdentifier(_ share: String?, queue: JobQueue) throws(DocketError) {
        // The queue's policy plugin decides (its scheduling policy chose it, or the configuration).
        let policySource = queue.schedulingPolicyArn.map { "scheduling policy '\(ARNBuilder.name(from: $0, kind: "scheduling-policy"))'" }
            ?? "scheduling policy set in the configuration"
        if queue.policy == "quota" {
            // Docket's rule for compute jobs (AWS has quota shares for service jobs only): the
            // job names its quota share in shareIdentifier.
            let shares = catalog.withLock { $0.quotaShares.values.filter { $0.jobQueue == queue.name } }
            guard let share, !share.isEmpty else {
                throw DocketError.invalid("shareIdentifier", "shareIdentifier is required: job queue '\(queue.name)' has a quota-share \(policySource); name the quota share this job counts against (\(shares.map(\.name).sorted().joined(separator: ", ")).")
            }
            guard let named = shares.first(where: { $0.name == share }) else {
                throw DocketError.invalid("shareIdentifier", "shareIdentifier '\(share)' names no quota share of job queue '\(queue.name)'; its quota shares are \(shares.isEmpty ? "none yet (create one with create-quota-share)" : shares.map(\.name).sorted().joined(separator: ", ")).")
            }
            guard named.state == .enabled else {
                throw DocketError.invalid("shareIdentifier", "quota share '\(share)' of job queue '\(queue.name)' is DISABLED and takes no new jobs; enable it with update-quota-share --state ENABLED or use another share.")
            }
        } else if queue.policy == "fairshare" {
            guard let share, !share.isEmpty else {
                throw DocketError.invalid("shareIdentifier", "shareIdentifier is required: job queue '\(queue.name)' has a fair-share \(policySource); give the share this job counts against.")
            }
            guard share.count <= 255 else {
                throw DocketError.invalid("shareIdentifier", "shareIdentifier is \(share.count) characters long; at most 255 are allowed.")
            }
        } else if let share {
            throw DocketError.invalid("shareIdentifier", "shareIdentifier '\(share)': job queue '\(queue.name)' has no fair-share or quota-share scheduling policy, so it takes no share identifier; drop it or submit to such a queue.")
        }
    }

    func describeJobs(_ references: [String]) async throws(DocketError) -> [Job] {
        try store.jobs(ids: references.map { ARNBuilder.name(from: $0, kind: "job") })
    }

    func listJobs(queue: String, status: JobStatus?, nameFilter: String?, from position: Int64?, newestFirst: Bool, limit: Int)
        async throws(DocketError) -> [Job]
    {
        let queueName = ARNBuilder.name(from: queue, kind: "job-queue")
        guard catalog.withLock({ $0.queues[queueName] }) != nil else {
            throw DocketError(.notFound, "jobQueue '\(queue)' does not exist.", field: "jobQueue")
        }
        var exact: String?
        var prefix: String?
        if let nameFilter {
            if nameFilter.hasSuffix("*") { prefix = String(nameFilter.dropLast()) } else { exact = nameFilter }
        }
        return try store.jobs(queue: queueName, status: status, exactName: exact, namePrefix: prefix,
                              from: position, newestFirst: newestFirst, limit: limit)
    }

    func cancelJob(_ reference: String, reason: String) async throws(DocketError) {
        let id = ARNBuilder.name(from: reference, kind: "job")
        if try await scheduler.cancel(jobID: id, reason: reason) { return }
        // An array parent: cancelling it cancels its children (reference §5.6).
        let children = await scheduler.unfinishedChildren(of: id)
        for child in children { try await scheduler.cancel(jobID: child, reason: reason) }
        if !children.isEmpty { return }
        guard try !store.jobs(ids: [id]).isEmpty else {
            throw DocketError(.notFound, "jobId '\(reference)' does not exist.", field: "jobId")
        }
    }

    func terminateJob(_ reference: String, reason: String) async throws(DocketError) {
        let id = ARNBuilder.name(from: reference, kind: "job")
        if try await scheduler.terminate(jobID: id, reason: reason) { return }
        let children = await scheduler.unfinishedChildren(of: id)
        for child in children { _ = try await scheduler.terminate(jobID: child, reason: reason) }
        if !children.isEmpty { return }
        guard try !store.jobs(ids: [id]).isEmpty else {
            throw DocketError(.notFound, "jobId '\(reference)' does not exist.", field: "jobId")
        }
    }

    // MARK: Extensions

    func readLog(job reference: String, attempt: Int?, offset: Int64, limit: Int) async throws(DocketError) -> LogSlice {
        let id = ARNBuilder.name(from: reference, kind: "job")
        guard let job = try store.jobs(ids: [id]).first else {
            throw DocketError(.notFound, "job '\(reference)' does not exist.", field: "jobId")
        }
        guard let current = job.attempts.last else {
            return LogSlice(data: [], nextOffset: 0, isComplete: job.status.isTerminal, attempt: 0)
        }
        let number = attempt ?? current.number
        guard let chosen = job.attempts.first(where: { $0.number == number }) else {
            throw DocketError.invalid("attempt", "job \(id) has attempts 1 to \(current.number); attempt \(number) does not exist.")
        }
        let path = paths.log(Attempt.id(jobID: id, number: number))
        var data: [UInt8] = []
        if let handle = FileHandle(forReadingAtPath: path) {
            defer { try? handle.close() }
            try? handle.seek(toOffset: UInt64(max(0, offset)))
            data = Array((try? handle.read(upToCount: max(1, limit))) ?? Data())
        }
        let complete = chosen.stoppedAt != nil || (job.status.isTerminal && number == current.number)
        return LogSlice(data: data, nextOffset: offset + Int64(data.count), isComplete: complete, attempt: number)
    }

    func jobEvents(after cursor: Int64, limit: Int) async throws(DocketError) -> [JobEvent] {
        try store.jobEvents(after: cursor, limit: limit)
    }

    func plugins() async -> [PluginSummary] { runtime.summaries }

    func gpus() async -> [JSONValue] {
        let documents = runtime.gpuInventories()
        let environments = catalog.withLock { $0.environments }
        return documents.keys.sorted().map { name in
            let gpus: JSONValue
            if let parsed = try? JSONParser.parse(Array(documents[name]!.utf8)), case .object(let object) = parsed, let list = object["gpus"] {
                gpus = list
            } else {
                gpus = .array([])
            }
            return ["computeEnvironmentName": .string(name), "executor": .string(environments[name]?.executor ?? ""), "gpus": gpus]
        }
    }

    func serverInfo() async -> [String: JSONValue] {
        var result = info
        if let counts = try? store.jobCounts() {
            result["jobs"] = .object(Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, .number(Double($0.value))) }))
        }
        return result
    }
}
