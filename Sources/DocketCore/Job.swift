/// One attempt at running a job (AttemptDetail), recorded when it starts and completed when it ends.
public struct Attempt: Sendable, Codable, Hashable {
    /// 1 for the first attempt (AWS_BATCH_JOB_ATTEMPT).
    public var number: Int
    public var computeEnvironment: String
    /// When the job's process started running (STARTING -> RUNNING), epoch ms.
    public var startedAt: Int64?
    public var stoppedAt: Int64?
    public var exitCode: Int32?
    /// The container-level reason ("OutOfMemoryError: ...").
    public var reason: String?
    public var statusReason: String?
    public var logStreamName: String
    /// What ran it, as the executor said ("pid 4242", a container id): AWS's taskArn slot.
    public var taskDetail: String?
    /// The policy preempted it (a quota share took back lent capacity): the job went back to
    /// RUNNABLE, and this attempt does not count against its retry strategy.
    public var wasPreempted = false

    public init(number: Int, computeEnvironment: String, logStreamName: String) {
        self.number = number
        self.computeEnvironment = computeEnvironment
        self.logStreamName = logStreamName
    }

    /// "<jobId>-<number>": unique, stable across restarts; the executor's name for it.
    public static func id(jobID: String, number: Int) -> String { "\(jobID)-\(number)" }
}

/// A job's dependency (dependsOn[]).
public struct JobDependency: Sendable, Codable, Hashable {
    public var jobID: String?
    public var type: String?

    public init(jobID: String?, type: String?) {
        self.jobID = jobID
        self.type = type
    }
}

/// What runs: the job definition's containerProperties with overrides and Ref:: substitution applied.
public struct ContainerSpec: Sendable, Codable, Hashable {
    public var image: String?
    public var command: [String]
    /// Name/value pairs in order; later entries win.
    public var environment: [EnvironmentVariable]
    public var resources: Resources
    public var user: String?
    /// The whole containerProperties as resolved, for executors that read more (ulimits, volumes...).
    public var properties: JSONValue

    public init(image: String?, command: [String], environment: [EnvironmentVariable], resources: Resources,
                user: String?, properties: JSONValue) {
        self.image = image
        self.command = command
        self.environment = environment
        self.resources = resources
        self.user = user
        self.properties = properties
    }
}

public struct EnvironmentVariable: Sendable, Codable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A job: its request as resolved at submit, its state and its attempts.
public struct Job: Sendable, Codable, Hashable {
    public var id: String
    public var name: String
    public var arn: String
    public var queue: String
    public var jobDefinitionArn: String
    public var jobDefinitionName: String
    public var status: JobStatus
    public var statusReason: String?
    /// Strictly increasing per server: FIFO order and a stable tie-break.
    public var sequence: Int64
    public var createdAt: Int64
    public var startedAt: Int64?
    public var stoppedAt: Int64?
    public var container: ContainerSpec
    public var parameters: [String: String]
    public var retryStrategy: RetryStrategy?
    public var timeoutSeconds: Int64?
    public var dependsOn: [JobDependency]
    public var tags: [String: String]
    /// Whether the job's and its definition's tags go to what runs it (reference §4.8).
    public var propagateTags: Bool?
    public var shareIdentifier: String?
    public var schedulingPriority: Int?
    public var platformCapabilities: [String]
    public var attempts: [Attempt]
    public var isCancelled: Bool
    /// CancelJob's reason while a PENDING job waits for its dependencies to complete before
    /// the cancellation takes effect (reference §5.6).
    public var cancelReason: String?
    public var isTerminated: Bool
    /// When the job last entered RUNNABLE (policies and time-limit actions use it).
    public var runnableAt: Int64?
    /// True while the job sits in RUNNABLE again after a failed attempt: AWS puts retries first.
    public var isRetry: Bool
    /// The consumable resources each attempt needs (the submission's override, else the job
    /// definition's list); nil for none. Optional so documents stored before it decode.
    public var consumableResources: [ConsumableResourceUse]?
    /// An array parent's size; on a child, its parent's size (AWS_BATCH_JOB_ARRAY_SIZE).
    public var arraySize: Int?
    /// A child's index in its array, 0 to size - 1 (AWS_BATCH_JOB_ARRAY_INDEX).
    public var arrayIndex: Int?

    public init(id: String, name: String, arn: String, queue: String, jobDefinitionArn: String,
                jobDefinitionName: String, sequence: Int64, createdAt: Int64, container: ContainerSpec,
                parameters: [String: String] = [:], retryStrategy: RetryStrategy? = nil, timeoutSeconds: Int64? = nil,
                dependsOn: [JobDependency] = [], tags: [String: String] = [:], shareIdentifier: String? = nil,
                schedulingPriority: Int? = nil, platformCapabilities: [String] = ["EC2"]) {
        self.id = id
        self.name = name
        self.arn = arn
        self.queue = queue
        self.jobDefinitionArn = jobDefinitionArn
        self.jobDefinitionName = jobDefinitionName
        self.status = .submitted
        self.sequence = sequence
        self.createdAt = createdAt
        self.container = container
        self.parameters = parameters
        self.retryStrategy = retryStrategy
        self.timeoutSeconds = timeoutSeconds
        self.dependsOn = dependsOn
        self.tags = tags
        self.shareIdentifier = shareIdentifier
        self.schedulingPriority = schedulingPriority
        self.platformCapabilities = platformCapabilities
        self.attempts = []
        self.isCancelled = false
        self.isTerminated = false
        self.isRetry = false
    }

    /// The attempt in progress or last finished.
    public var currentAttempt: Attempt? { attempts.last }

    /// An array job's parent: it never runs itself; its children do (reference §5.8).
    public var isArrayParent: Bool { arraySize != nil && arrayIndex == nil }

    /// For an array child, the parent's id ("PARENT" of "PARENT:INDEX").
    public var arrayParentID: String? {
        guard arrayIndex != nil, let colon = id.lastIndex(of: ":") else { return nil }
        return String(id[..<colon])
    }

    /// Child `index` of this array parent, as it is created: the parent's request with the
    /// child's id ("PARENT:INDEX"), ARN, sequence and dependencies. Deterministic, so the store
    /// can keep a child it has not changed as (parent, index, sequence, dependencies) and rebuild it.
    public func arrayChild(index: Int, sequence: Int64, dependsOn: [JobDependency]) -> Job {
        var child = self
        child.id = "\(id):\(index)"
        child.arn = "\(arn):\(index)"
        child.sequence = sequence
        child.dependsOn = dependsOn
        child.arrayIndex = index
        child.status = .submitted
        child.statusReason = nil
        child.startedAt = nil
        child.stoppedAt = nil
        child.runnableAt = nil
        child.attempts = []
        child.isCancelled = false
        child.isTerminated = false
        child.isRetry = false
        return child
    }

    /// Moves the job to `next`, enforcing the state machine.
    /// - Throws: `.internalError` for an illegal transition: a scheduler bug, never user input.
    public mutating func move(to next: JobStatus, reason: String?, at now: Int64) throws(DocketError) {
        guard status.canMove(to: next) else {
            throw DocketError(.internalError, "job \(id): illegal transition \(status.rawValue) -> \(next.rawValue)")
        }
        status = next
        statusReason = reason
        switch next {
        case .runnable: runnableAt = now
        case .running: if startedAt == nil { startedAt = now }
        case .succeeded, .failed: stoppedAt = now
        default: break
        }
    }
}
