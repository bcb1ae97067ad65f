import DocketCore

/// What the HTTP API needs from the server: the AWS Batch operations on Docket's model, plus
/// Docket's extensions. DocketAPI decodes and validates the wire shapes, calls this, and
/// encodes the answer; the server implements it over the store and the scheduler.
///
/// Every method throws `DocketError`; the API maps client codes to ClientException (400)
/// and the rest to ServerException (500).
package protocol BatchBackend: Sendable {
    /// ARNs and region/account for responses.
    var arns: ARNBuilder { get }
    /// The limits requests are checked against (AWS's by default; a site may change some).
    var limits: APILimits { get }

    // MARK: Compute environments

    /// CreateComputeEnvironment. `environment` arrives with name, type, state, executor and
    /// settings (from the docket: tags), computeResources, tags and extra filled; the backend
    /// assigns arn, uuid and createdAt, checks the executor plugin exists, and stores it.
    func createComputeEnvironment(_ environment: ComputeEnvironment) async throws(DocketError) -> ComputeEnvironment
    /// DescribeComputeEnvironments: all when `references` is empty; names or ARNs otherwise
    /// (unknown ones are left out, as AWS does). Sorted by name.
    func describeComputeEnvironments(_ references: [String]) async throws(DocketError) -> [ComputeEnvironment]
    /// UpdateComputeEnvironment: `change` is applied to the stored environment (state, maxvCpus,
    /// the AWS-only fields kept as sent); the scheduler sees the new capacity and state at once.
    func updateComputeEnvironment(_ reference: String, _ change: ComputeEnvironmentChange) async throws(DocketError) -> ComputeEnvironment
    /// DeleteComputeEnvironment: only a DISABLED environment that no job queue uses.
    func deleteComputeEnvironment(_ reference: String) async throws(DocketError)

    // MARK: Job queues

    /// CreateJobQueue. The backend assigns arn and createdAt and checks that every compute
    /// environment exists (names or ARNs in computeEnvironmentOrder are normalised to names).
    func createJobQueue(_ queue: JobQueue) async throws(DocketError) -> JobQueue
    func describeJobQueues(_ references: [String]) async throws(DocketError) -> [JobQueue]
    /// UpdateJobQueue: validated like CreateJobQueue (compute environments must exist).
    func updateJobQueue(_ reference: String, _ change: JobQueueChange) async throws(DocketError) -> JobQueue
    /// DeleteJobQueue: only a DISABLED queue; its unfinished jobs are terminated.
    func deleteJobQueue(_ reference: String) async throws(DocketError)
    /// GetJobQueueSnapshot.
    func jobQueueSnapshot(_ reference: String) async throws(DocketError) -> JobQueueSnapshot

    // MARK: Job definitions

    /// RegisterJobDefinition: the backend assigns the next revision, arn and createdAt.
    func registerJobDefinition(_ definition: JobDefinition) async throws(DocketError) -> JobDefinition
    /// DescribeJobDefinitions. `references` are names, name:revision or ARNs; `name` and
    /// `status` filter as in AWS. Sorted by name, then revision.
    func describeJobDefinitions(references: [String], name: String?, status: String?) async throws(DocketError) -> [JobDefinition]
    /// DeregisterJobDefinition: name:revision or ARN; the revision becomes INACTIVE.
    func deregisterJobDefinition(_ reference: String) async throws(DocketError)

    // MARK: Scheduling policies, consumable resources, quota shares

    func createSchedulingPolicy(_ policy: SchedulingPolicy) async throws(DocketError) -> SchedulingPolicy
    /// All policies, by name.
    func schedulingPolicies() async throws(DocketError) -> [SchedulingPolicy]
    /// UpdateSchedulingPolicy: replaces the fair-share or quota-share policy (its kind cannot change).
    func updateSchedulingPolicy(arn: String, fairsharePolicy: JSONValue?, quotaSharePolicy: JSONValue?) async throws(DocketError)
    /// DeleteSchedulingPolicy: only when no job queue uses it.
    func deleteSchedulingPolicy(arn: String) async throws(DocketError)

    func createConsumableResource(_ resource: ConsumableResource) async throws(DocketError) -> ConsumableResource
    /// All consumable resources, by name.
    func consumableResources() async throws(DocketError) -> [ConsumableResource]
    /// One by name or ARN.
    func consumableResource(_ reference: String) async throws(DocketError) -> ConsumableResource
    /// UpdateConsumableResource: SET, ADD or REMOVE `quantity` of the total.
    func updateConsumableResource(_ reference: String, operation: String, quantity: Int64, clientToken: String?)
        async throws(DocketError) -> ConsumableResource
    func deleteConsumableResource(_ reference: String) async throws(DocketError)
    /// Jobs whose definition or submission asks for the resource, in submission order.
    func jobsUsing(consumableResource reference: String) async throws(DocketError) -> [Job]

    /// CreateQuotaShare: the job queue must exist; names are unique within a queue.
    func createQuotaShare(_ share: QuotaShare) async throws(DocketError) -> QuotaShare
    /// The quota shares of one job queue, by name.
    func quotaShares(queue reference: String) async throws(DocketError) -> [QuotaShare]
    func quotaShare(arn: String) async throws(DocketError) -> QuotaShare
    /// UpdateQuotaShare: the members given replace the stored ones.
    func updateQuotaShare(arn: String, _ change: QuotaShareChange) async throws(DocketError) -> QuotaShare
    /// DeleteQuotaShare: only a DISABLED share.
    func deleteQuotaShare(arn: String) async throws(DocketError)

    // MARK: Tags

    /// The tags of the resource an ARN names (compute environment, job queue, job definition,
    /// job, scheduling policy, consumable resource, quota share).
    func tags(of arn: String) async throws(DocketError) -> [String: String]
    /// TagResource (`remove` empty) or UntagResource (`add` empty): adds or overwrites, then removes.
    func retag(_ arn: String, add: [String: String], remove: [String]) async throws(DocketError)

    // MARK: Jobs

    /// SubmitJob: durable before it returns.
    func submitJob(_ submission: JobSubmission) async throws(DocketError) -> Job
    /// DescribeJobs: ids or ARNs; unknown ones are left out.
    func describeJobs(_ references: [String]) async throws(DocketError) -> [Job]
    /// ListJobs for one queue and status, at most `limit` jobs: in submission order after the
    /// job with sequence `from`, or with `newestFirst` in reverse order before it. `nameFilter`
    /// is a JOB_NAME filter (trailing `*` = prefix).
    func listJobs(queue: String, status: JobStatus?, nameFilter: String?, from position: Int64?, newestFirst: Bool, limit: Int)
        async throws(DocketError) -> [Job]
    /// An array parent's statusSummary: its children by status, now.
    func arrayStatusSummary(_ parentID: String) async throws(DocketError) -> [JobStatus: Int]
    /// ListJobs with arrayJobId: the array's children in index order (status nil = all).
    func listArrayChildren(_ parentID: String, status: JobStatus?, afterSequence: Int64?, limit: Int) async throws(DocketError) -> [Job]
    /// CancelJob (reference §5.6): fails a job that has not started; a no-op on STARTING/RUNNING.
    func cancelJob(_ reference: String, reason: String) async throws(DocketError)
    /// TerminateJob: also stops STARTING and RUNNING attempts through the executor.
    func terminateJob(_ reference: String, reason: String) async throws(DocketError)

    // MARK: Docket extensions (under /docket/v1)

    /// A slice of an attempt's log starting at byte `offset` (attempt nil = the latest).
    func readLog(job reference: String, attempt: Int?, offset: Int64, limit: Int) async throws(DocketError) -> LogSlice
    /// Job state changes after `cursor`, oldest first, at most `limit`.
    func jobEvents(after cursor: Int64, limit: Int) async throws(DocketError) -> [JobEvent]
    /// The plugins loaded, and those refused with their reasons.
    func plugins() async -> [PluginSummary]
    /// Version, region, account, data directory, listen address, default executor.
    func serverInfo() async -> [String: JSONValue]
    /// Each compute environment whose executor owns GPUs, with its GPUs (see GET /docket/v1/gpus).
    func gpus() async -> [JSONValue]
    /// Why a job is not running (see GET /docket/v1/jobs/{jobId}/why).
    func whyWaiting(job: String) async throws(DocketError) -> JSONValue
}

/// Limits AWS Batch fixes that a site may want otherwise: larger arrays, more dependencies,
/// shorter timeouts (tests use one-second timeouts).
package struct APILimits: Sendable, Hashable {
    /// timeout.attemptDurationSeconds may not be below this (AWS: 60).
    package var minimumTimeoutSeconds: Int64 = 60
    /// arrayProperties.size may not be above this (AWS: 10,000).
    package var maximumArraySize: Int = 10_000
    /// dependsOn may not have more entries than this (AWS: 20).
    package var maximumDependencies: Int = 20
    /// jobStateTimeLimitActions[].maxTimeSeconds may not be below this (AWS: 600).
    package var minimumTimeLimitSeconds: Int64 = 600

    package init(minimumTimeoutSeconds: Int64 = 60, maximumArraySize: Int = 10_000, maximumDependencies: Int = 20,
                 minimumTimeLimitSeconds: Int64 = 600) {
        self.minimumTimeoutSeconds = minimumTimeoutSeconds
        self.maximumArraySize = maximumArraySize
        self.maximumDependencies = maximumDependencies
        self.minimumTimeLimitSeconds = minimumTimeLimitSeconds
    }
}

/// What UpdateComputeEnvironment may change; nil leaves a member as it is.
package struct ComputeEnvironmentChange: Sendable {
    package var state: ResourceState?
    /// computeResources.maxvCpus, in thousandths.
    package var maxVCPUMillis: Int64?
    /// computeResources members as sent, merged over the stored ones.
    package var computeResources: [String: JSONValue]
    /// Other request members (serviceRole, updatePolicy, unmanagedvCpus, context), kept as sent.
    package var extra: [String: JSONValue]

    package init(state: ResourceState? = nil, maxVCPUMillis: Int64? = nil, computeResources: [String: JSONValue] = [:],
                 extra: [String: JSONValue] = [:]) {
        self.state = state
        self.maxVCPUMillis = maxVCPUMillis
        self.computeResources = computeResources
        self.extra = extra
    }
}

/// What UpdateJobQueue may change; nil leaves a member as it is.
package struct JobQueueChange: Sendable {
    package var state: ResourceState?
    package var priority: Int?
    /// Names or ARNs, as sent; the backend checks they exist.
    package var computeEnvironmentOrder: [ComputeEnvironmentOrder]?
    package var schedulingPolicyArn: String?
    package var jobStateTimeLimitActions: JSONValue?

    package init() {}
}

/// What UpdateQuotaShare may change; nil leaves a member as it is.
package struct QuotaShareChange: Sendable {
    package var capacityLimits: JSONValue?
    package var resourceSharingConfiguration: JSONValue?
    package var preemptionConfiguration: JSONValue?
    package var state: ResourceState?

    package init() {}
}

/// GetJobQueueSnapshot's answer: the first RUNNABLE jobs in dispatch order and what the
/// queue's running jobs hold.
package struct JobQueueSnapshot: Sendable {
    package var front: [(jobArn: String, earliestTimeAtPosition: Int64)]
    package var vcpusInUse: Double
    package var takenAt: Int64
    /// A fair-share queue's shares: how many are active, and the vCPUs each holds, most first.
    package var fairshare: (activeShareCount: Int, shares: [(shareIdentifier: String, vcpus: Double)])?
    /// A quota queue's shares: the vCPUs each holds, most first, and the first RUNNABLE job of
    /// each share in dispatch order.
    package var quotaShares: (usage: [(name: String, vcpus: Double)], front: [String: (jobArn: String, earliestTimeAtPosition: Int64)])?

    package init(front: [(jobArn: String, earliestTimeAtPosition: Int64)], vcpusInUse: Double, takenAt: Int64,
                 fairshare: (activeShareCount: Int, shares: [(shareIdentifier: String, vcpus: Double)])? = nil,
                 quotaShares: (usage: [(name: String, vcpus: Double)], front: [String: (jobArn: String, earliestTimeAtPosition: Int64)])? = nil) {
        self.front = front
        self.vcpusInUse = vcpusInUse
        self.takenAt = takenAt
        self.fairshare = fairshare
        self.quotaShares = quotaShares
    }
}

/// Part of an attempt's log, for `docket logs` (and --follow, which polls with nextOffset).
package struct LogSlice: Sendable, Hashable {
    package var data: [UInt8]
    package var nextOffset: Int64
    /// The attempt has ended, so no more output will come after nextOffset.
    package var isComplete: Bool
    package var attempt: Int

    package init(data: [UInt8], nextOffset: Int64, isComplete: Bool, attempt: Int) {
        self.data = data
        self.nextOffset = nextOffset
        self.isComplete = isComplete
        self.attempt = attempt
    }
}

/// One plugin file as the server sees it: loaded (with its descriptor's fields) or refused.
package struct PluginSummary: Sendable, Hashable, Codable {
    package var path: String
    package var id: String?
    package var name: String?
    package var kind: String?
    package var version: String?
    package var abiVersion: String?
    /// Why it was refused; nil when it loaded.
    package var error: String?

    package init(path: String, id: String? = nil, name: String? = nil, kind: String? = nil, version: String? = nil,
                 abiVersion: String? = nil, error: String? = nil) {
        self.path = path
        self.id = id
        self.name = name
        self.kind = kind
        self.version = version
        self.abiVersion = abiVersion
        self.error = error
    }
}
