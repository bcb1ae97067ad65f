/// One entry of a queue's computeEnvironmentOrder: lower `order` is tried first.
public struct ComputeEnvironmentOrder: Sendable, Codable, Hashable {
    public var order: Int
    public var computeEnvironment: String

    public init(order: Int, computeEnvironment: String) {
        self.order = order
        self.computeEnvironment = computeEnvironment
    }
}

/// A job queue: where jobs wait, with a priority across queues and an ordered list of
/// compute environments.
public struct JobQueue: Sendable, Codable, Hashable {
    public var name: String
    public var arn: String
    public var state: ResourceState
    public var status: String
    public var statusReason: String
    /// Higher runs first when queues share a compute environment (reference §3.1).
    public var priority: Int
    /// Compute environment names, sorted by ascending order.
    public var computeEnvironmentOrder: [ComputeEnvironmentOrder]
    public var schedulingPolicyArn: String?
    /// The policy plugin's name ("fifo" when the queue has no scheduling policy).
    public var policy: String
    /// The policy plugin's settings as a JSON object.
    public var policySettings: JSONValue
    public var jobStateTimeLimitActions: JSONValue?
    public var tags: [String: String]
    public var createdAt: Int64
    public var isFromConfiguration: Bool

    public init(name: String, arn: String, state: ResourceState = .enabled, status: String = "VALID",
                statusReason: String = "JobQueue Healthy", priority: Int,
                computeEnvironmentOrder: [ComputeEnvironmentOrder], schedulingPolicyArn: String? = nil,
                policy: String = "fifo", policySettings: JSONValue = .object([:]),
                jobStateTimeLimitActions: JSONValue? = nil, tags: [String: String] = [:], createdAt: Int64,
                isFromConfiguration: Bool = false) {
        self.name = name
        self.arn = arn
        self.state = state
        self.status = status
        self.statusReason = statusReason
        self.priority = priority
        self.computeEnvironmentOrder = computeEnvironmentOrder.sorted { $0.order < $1.order }
        self.schedulingPolicyArn = schedulingPolicyArn
        self.policy = policy
        self.policySettings = policySettings
        self.jobStateTimeLimitActions = jobStateTimeLimitActions
        self.tags = tags
        self.createdAt = createdAt
        self.isFromConfiguration = isFromConfiguration
    }
}

/// One jobStateTimeLimitActions entry, as the scheduler applies it.
public struct TimeLimitAction: Sendable, Hashable {
    /// The blocked-queue reason code it applies to ("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT").
    public var reason: String
    public var maxTimeSeconds: Int64
    /// CANCEL (TERMINATE is for SageMaker queues, which Docket does not run).
    public var action: String
}

extension JobQueue {
    /// jobStateTimeLimitActions decoded (the API validated them), in order.
    public var timeLimitActions: [TimeLimitAction] {
        (jobStateTimeLimitActions?.arrayValue ?? []).compactMap { entry in
            guard let reason = entry["reason"]?.stringValue, let seconds = entry["maxTimeSeconds"]?.intValue,
                  entry["state"]?.stringValue == "RUNNABLE" else { return nil }
            return TimeLimitAction(reason: reason, maxTimeSeconds: seconds, action: entry["action"]?.stringValue ?? "CANCEL")
        }
    }
}
