/// ENABLED or DISABLED, for compute environments and job queues (CEState, JQState).
public enum ResourceState: String, Sendable, Codable {
    case enabled = "ENABLED"
    case disabled = "DISABLED"
}

/// A compute environment: capacity on this host (or beyond it) run through one executor plugin.
///
/// Fields that only mean something on AWS (subnets, instance roles, launch templates) are kept in
/// `computeResources` and `extra` exactly as sent and returned unchanged.
public struct ComputeEnvironment: Sendable, Codable, Hashable {
    public var name: String
    public var arn: String
    public var uuid: String
    public var type: String
    public var state: ResourceState
    public var status: String
    public var statusReason: String
    /// The executor plugin's name (the docket:executor tag, or the configuration's `executor`).
    public var executor: String
    /// The executor's settings: the docket:* tags with the prefix removed, or the configuration's `settings`.
    public var executorSettings: [String: JSONValue]
    /// `computeResources.maxvCpus` in thousandths: a hard cap on what the executor reports.
    public var maxVCPUMillis: Int64?
    public var computeResources: JSONValue?
    public var tags: [String: String]
    public var createdAt: Int64
    /// Other members of the CreateComputeEnvironment request, stored and returned as sent.
    public var extra: [String: JSONValue]
    /// Declared in the configuration file: the server re-applies it at every start.
    public var isFromConfiguration: Bool

    public init(name: String, arn: String, uuid: String, type: String = "MANAGED", state: ResourceState = .enabled,
                status: String = "VALID", statusReason: String = "ComputeEnvironment Healthy",
                executor: String, executorSettings: [String: JSONValue] = [:], maxVCPUMillis: Int64? = nil,
                computeResources: JSONValue? = nil, tags: [String: String] = [:], createdAt: Int64,
                extra: [String: JSONValue] = [:], isFromConfiguration: Bool = false) {
        self.name = name
        self.arn = arn
        self.uuid = uuid
        self.type = type
        self.state = state
        self.status = status
        self.statusReason = statusReason
        self.executor = executor
        self.executorSettings = executorSettings
        self.maxVCPUMillis = maxVCPUMillis
        self.computeResources = computeResources
        self.tags = tags
        self.createdAt = createdAt
        self.extra = extra
        self.isFromConfiguration = isFromConfiguration
    }

    /// FARGATE for environments whose computeResources.type is FARGATE or FARGATE_SPOT, else EC2
    /// (EC2, SPOT and UNMANAGED): the platform capability a job definition needs to run here.
    public var platform: String {
        let type = computeResources?["type"]?.stringValue ?? "EC2"
        return type.hasPrefix("FARGATE") ? "FARGATE" : "EC2"
    }

    /// The reserved tag key that names a compute environment's executor plugin.
    public static let executorTag = "docket:executor"
    /// Tags with this prefix (other than `executorTag`) are settings for the executor.
    public static let settingTagPrefix = "docket:"
}
