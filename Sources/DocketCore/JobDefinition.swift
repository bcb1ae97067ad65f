/// One revision of a job definition: the template a job is made from.
public struct JobDefinition: Sendable, Codable, Hashable {
    public var name: String
    public var revision: Int
    public var arn: String
    /// ACTIVE, or INACTIVE once deregistered.
    public var status: String
    public var type: String
    public var containerProperties: JSONValue?
    public var parameters: [String: String]
    public var retryStrategy: RetryStrategy?
    public var timeoutSeconds: Int64?
    public var schedulingPriority: Int?
    public var platformCapabilities: [String]
    public var propagateTags: Bool?
    public var tags: [String: String]
    public var createdAt: Int64
    /// Other members of the RegisterJobDefinition request, stored and returned as sent.
    public var extra: [String: JSONValue]
    /// consumableResourceProperties: what each job needs; nil for none.
    public var consumableResources: [ConsumableResourceUse]?

    public init(name: String, revision: Int, arn: String, status: String = "ACTIVE", type: String = "container",
                containerProperties: JSONValue?, parameters: [String: String] = [:], retryStrategy: RetryStrategy? = nil,
                timeoutSeconds: Int64? = nil, schedulingPriority: Int? = nil, platformCapabilities: [String] = ["EC2"],
                propagateTags: Bool? = nil, tags: [String: String] = [:], createdAt: Int64,
                extra: [String: JSONValue] = [:]) {
        self.name = name
        self.revision = revision
        self.arn = arn
        self.status = status
        self.type = type
        self.containerProperties = containerProperties
        self.parameters = parameters
        self.retryStrategy = retryStrategy
        self.timeoutSeconds = timeoutSeconds
        self.schedulingPriority = schedulingPriority
        self.platformCapabilities = platformCapabilities
        self.propagateTags = propagateTags
        self.tags = tags
        self.createdAt = createdAt
        self.extra = extra
    }

    public var isActive: Bool { status == "ACTIVE" }

    /// "name:revision", how AWS and `docket describe` show a definition reference.
    public var reference: String { "\(name):\(revision)" }
}

/// A job definition reference as AWS accepts it: a name (latest ACTIVE revision),
/// name:revision, or an ARN.
public struct JobDefinitionReference: Sendable, Hashable {
    public var name: String
    public var revision: Int?

    public init(name: String, revision: Int?) {
        self.name = name
        self.revision = revision
    }

    public init(parsing reference: String, field: String = "jobDefinition") throws(DocketError) {
        let tail = ARNBuilder.name(from: reference, kind: "job-definition")
        let parts = tail.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 1 {
            self.init(name: tail, revision: nil)
        } else if parts.count == 2, let revision = Int(parts[1]), revision >= 1 {
            self.init(name: String(parts[0]), revision: revision)
        } else {
            throw .invalid(field, "\(field) '\(reference)' is not a job definition name, name:revision or ARN; use e.g. 'my-definition' or 'my-definition:3'.")
        }
        try ResourceName.validate(name, field: field)
    }
}
