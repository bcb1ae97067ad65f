@testable import DocketAPI
import DocketCore

/// An in-memory `BatchBackend` for the wire tests: it records what the API decoded and answers
/// from plain arrays, so every test sees exactly what crossed the API boundary.
actor FakeBackend: BatchBackend {
    nonisolated let arns = ARNBuilder()
    nonisolated let limits = APILimits()
    var environments: [ComputeEnvironment] = []
    var queues: [JobQueue] = []
    var definitions: [JobDefinition] = []
    var submissions: [JobSubmission] = []
    var jobs: [Job] = []
    var stopped: [(job: String, reason: String, isTermination: Bool)] = []
    var listCalls = 0
    var policies: [SchedulingPolicy] = []
    var consumables: [ConsumableResource] = []
    var consumableUpdates: [(reference: String, operation: String, quantity: Int64)] = []
    var quotaShares: [QuotaShare] = []
    var tagsByArn: [String: [String: String]] = [:]
    var events: [JobEvent] = []
    /// Thrown by every operation when set, to test the error mapping.
    var failure: DocketError?

    func fail(with error: DocketError?) { failure = error }
    func add(_ job: Job) { jobs.append(job) }

    func createComputeEnvironment(_ environment: ComputeEnvironment) async throws(DocketError) -> ComputeEnvironment {
        if let failure { throw failure }
        var stored = environment
        stored.arn = arns.computeEnvironment(environment.name)
        stored.uuid = "uuid-\(environment.name)"
        environments.append(stored)
        return stored
    }

    func describeComputeEnvironments(_ references: [String]) async throws(DocketError) -> [ComputeEnvironment] {
        if let failure { throw failure }
        let names = Set(references.map { ARNBuilder.name(from: $0, kind: "compute-environment") })
        return environments.filter { names.isEmpty || names.contains($0.name) }
    }

    func createJobQueue(_ queue: JobQueue) async throws(DocketError) -> JobQueue {
        if let failure { throw failure }
        var stored = queue
        stored.arn = arns.jobQueue(queue.name)
        stored.computeEnvironmentOrder = queue.computeEnvironmentOrder.map {
            ComputeEnvironmentOrder(order: $0.order, computeEnvironment: ARNBuilder.name(from: $0.computeEnvironment, kind: "compute-environment"))
        }
        queues.append(stored)
        return stored
    }

    func describeJobQueues(_ references: [String]) async throws(DocketError) -> [JobQueue] {
        if let failure { throw failure }
        return queues
    }

    func registerJobDefinition(_ definition: JobDefinition) async throws(DocketError) -> JobDefinition {
        if let failure { throw failure }
        var stored = definition
        stored.revision = definitions.filter { $0.name == definition.name }.count + 1
        stored.arn = arns.jobDefinition(definition.name, stored.revision)
        definitions.append(stored)
        return stored
    }

    func describeJobDefinitions(references: [String], name: String?, status: String?) async throws(DocketError) -> [JobDefinition] {
        if let failure { throw failure }
        return definitions.filter { (name == nil || $0.name == name) && (status == nil || $0.status == status) }
    }

    func submitJob(_ submission: JobSubmission) async throws(DocketError) -> Job {
        if let failure { throw failure }
        submissions.append(submission)
        let id = "job-\(submissions.count)"
        return FakeBackend.job(id: id, name: submission.jobName, sequence: Int64(submissions.count))
    }

    func describeJobs(_ references: [String]) async throws(DocketError) -> [Job] {
        if let failure { throw failure }
        let ids = Set(references.map { ARNBuilder.name(from: $0, kind: "job") })
        return jobs.filter { ids.contains($0.id) }
    }

    func listJobs(queue: String, status: JobStatus?, nameFilter: String?, from position: Int64?, newestFirst: Bool, limit: Int)
        async throws(DocketError) -> [Job]
    {
        if let failure { throw failure }
        listCalls += 1
        let matching = jobs.filter { job in
            job.queue == ARNBuilder.name(from: queue, kind: "job-queue") && (status == nil || job.status == status)
                && (position == nil || (newestFirst ? job.sequence < position! : job.sequence > position!))
        }
        return Array((newestFirst ? matching.reversed() : matching).prefix(limit))
    }

    func cancelJob(_ reference: String, reason: String) async throws(DocketError) {
        if let failure { throw failure }
        stopped.append((reference, reason, false))
    }

    func terminateJob(_ reference: String, reason: String) async throws(DocketError) {
        if let failure { throw failure }
        stopped.append((reference, reason, true))
    }

    func readLog(job reference: String, attempt: Int?, offset: Int64, limit: Int) async throws(DocketError) -> LogSlice {
        if let failure { throw failure }
        let data: [UInt8] = Array("line one\n".utf8) + [0xFF] + Array("tail".utf8)
        let slice = Array(data.dropFirst(Int(offset)).prefix(limit))
        return LogSlice(data: slice, nextOffset: offset + Int64(slice.count), isComplete: true, attempt: attempt ?? 2)
    }

    func gpus() async -> [JSONValue] { [] }

    func whyWaiting(job: String) async throws(DocketError) -> JSONValue { ["jobId": .string(job), "reasons": []] }

    func plugins() async -> [PluginSummary] {
        [PluginSummary(path: "/p/libexec.so", id: "docket.executor.process", name: "process", kind: "executor", version: "1.0.0", abiVersion: "1.0"),
         PluginSummary(path: "/p/broken.so", error: "needs ABI 2.0")]
    }

    func serverInfo() async -> [String: JSONValue] { ["version": "0.1.0", "region": "local"] }

    /// A job in queue `queue` with the given status, for DescribeJobs and ListJobs.
    static func job(id: String, name: String, sequence: Int64, queue: String = "q", status: JobStatus = .submitted,
                    createdAt: Int64 = 1_000, definition: String = "train") -> Job {
        var job = Job(id: id, name: name, arn: ARNBuilder().job(id), queue: queue,
                      jobDefinitionArn: ARNBuilder().jobDefinition(definition, 1), jobDefinitionName: definition,
                      sequence: sequence, createdAt: createdAt,
                      container: ContainerSpec(image: "busybox", command: ["true"], environment: [],
                                               resources: Resources(vcpuMillis: 1000, memoryMiB: 64), user: nil,
                                               properties: ["image": "busybox", "command": ["true"]]))
        job.status = status
        return job
    }
}
