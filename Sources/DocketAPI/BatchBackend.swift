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

    // MARK: Compute environments

    /// CreateComputeEnvironment. `environment` arrives with name, type, state, executor and
    /// settings (from the docket: tags), computeResources, tags and extra filled; the backend
    /// assigns arn, uuid and createdAt, checks the executor plugin exists, and stores it.
    func createComputeEnvironment(_ environment: ComputeEnvironment) async throws(DocketError) -> ComputeEnvironment
    /// DescribeComputeEnvironments: all when `references` is empty; names or ARNs otherwise
    /// (unknown ones are left out, as AWS does). Sorted by name.
    func describeComputeEnvironments(_ references: [String]) async throws(DocketError) -> [ComputeEnvironment]

    // MARK: Job queues

    /// CreateJobQueue. The backend assigns arn and createdAt and checks that every compute
    /// environment exists (names or ARNs in computeEnvironmentOrder are normalised to names).
    func createJobQueue(_ queue: JobQueue) async throws(DocketError) -> JobQueue
    func describeJobQueues(_ references: [String]) async throws(DocketError) -> [JobQueue]

    // MARK: Job definitions

    /// RegisterJobDefinition: the backend assigns the next revision, arn and createdAt.
    func registerJobDefinition(_ definition: JobDefinition) async throws(DocketError) -> JobDefinition
    /// DescribeJobDefinitions. `references` are names, name:revision or ARNs; `name` and
    /// `status` filter as in AWS. Sorted by name, then revision.
    func describeJobDefinitions(references: [String], name: String?, status: String?) async throws(DocketError) -> [JobDefinition]

    // MARK: Jobs

    /// SubmitJob: durable before it returns.
    func submitJob(_ submission: JobSubmission) async throws(DocketError) -> Job
    /// DescribeJobs: ids or ARNs; unknown ones are left out.
    func describeJobs(_ references: [String]) async throws(DocketError) -> [Job]
    /// ListJobs for one queue and status, in submission order, starting after `afterSequence`,
    /// at most `limit` jobs. `nameFilter` is a JOB_NAME filter (trailing `*` = prefix).
    func listJobs(queue: String, status: JobStatus?, nameFilter: String?, afterSequence: Int64?, limit: Int)
        async throws(DocketError) -> [Job]
    /// CancelJob (reference §5.6): fails a job that has not started; a no-op on STARTING/RUNNING.
    func cancelJob(_ reference: String, reason: String) async throws(DocketError)
    /// TerminateJob: also stops STARTING and RUNNING attempts through the executor.
    func terminateJob(_ reference: String, reason: String) async throws(DocketError)

    // MARK: Docket extensions (under /docket/v1)

    /// A slice of an attempt's log starting at byte `offset` (attempt nil = the latest).
    func readLog(job reference: String, attempt: Int?, offset: Int64, limit: Int) async throws(DocketError) -> LogSlice
    /// The plugins loaded, and those refused with their reasons.
    func plugins() async -> [PluginSummary]
    /// Version, region, account, data directory, listen address, default executor.
    func serverInfo() async -> [String: JSONValue]
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
