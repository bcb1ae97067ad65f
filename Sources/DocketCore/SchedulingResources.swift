/// The resources that shape scheduling beside queues and compute environments: scheduling
/// policies, consumable resources and quota shares. This release stores and returns them as
/// AWS Batch does; the fair-share and quota policies and consumable-resource accounting that
/// act on them are plugins and scheduler rules of their own.

/// A scheduling policy: a fair-share policy or a quota-share policy (never both, and the kind
/// never changes), referenced by job queues through its ARN.
public struct SchedulingPolicy: Sendable, Codable, Hashable {
    public var name: String
    public var arn: String
    /// FairsharePolicy as sent (shareDecaySeconds, computeReservation, shareDistribution).
    public var fairsharePolicy: JSONValue?
    /// QuotaSharePolicy as sent (idleResourceAssignmentStrategy).
    public var quotaSharePolicy: JSONValue?
    public var tags: [String: String]
    public var createdAt: Int64

    public init(name: String, arn: String, fairsharePolicy: JSONValue?, quotaSharePolicy: JSONValue?,
                tags: [String: String], createdAt: Int64) {
        self.name = name
        self.arn = arn
        self.fairsharePolicy = fairsharePolicy
        self.quotaSharePolicy = quotaSharePolicy
        self.tags = tags
        self.createdAt = createdAt
    }
}

/// A consumable resource (licences, database connections, ...): a named quantity that jobs
/// lock while they run (REPLENISHABLE) or use up (NON_REPLENISHABLE). Reference §6.4.
public struct ConsumableResource: Sendable, Codable, Hashable {
    public var name: String
    public var arn: String
    /// REPLENISHABLE (the default) or NON_REPLENISHABLE.
    public var resourceType: String
    public var totalQuantity: Int64
    public var inUseQuantity: Int64
    public var tags: [String: String]
    public var createdAt: Int64

    public var availableQuantity: Int64 { max(0, totalQuantity - inUseQuantity) }

    public init(name: String, arn: String, resourceType: String, totalQuantity: Int64, inUseQuantity: Int64 = 0,
                tags: [String: String], createdAt: Int64) {
        self.name = name
        self.arn = arn
        self.resourceType = resourceType
        self.totalQuantity = totalQuantity
        self.inUseQuantity = inUseQuantity
        self.tags = tags
        self.createdAt = createdAt
    }
}

/// A quota share: a virtual queue inside a job queue with its own capacity limits, lending and
/// borrowing rules and in-share preemption. Reference §6.5.
public struct QuotaShare: Sendable, Codable, Hashable {
    public var name: String
    public var arn: String
    /// The job queue's name.
    public var jobQueue: String
    /// QuotaShareCapacityLimits as sent: 1 to 5 {capacityUnit, maxCapacity}.
    public var capacityLimits: JSONValue
    /// {strategy RESERVE | LEND | LEND_AND_BORROW, borrowLimit}.
    public var resourceSharingConfiguration: JSONValue
    /// {inSharePreemption ENABLED | DISABLED}.
    public var preemptionConfiguration: JSONValue
    public var state: ResourceState
    public var status: String
    public var tags: [String: String]
    public var createdAt: Int64

    public init(name: String, arn: String, jobQueue: String, capacityLimits: JSONValue, resourceSharingConfiguration: JSONValue,
                preemptionConfiguration: JSONValue, state: ResourceState, status: String = "VALID",
                tags: [String: String], createdAt: Int64) {
        self.name = name
        self.arn = arn
        self.jobQueue = jobQueue
        self.capacityLimits = capacityLimits
        self.resourceSharingConfiguration = resourceSharingConfiguration
        self.preemptionConfiguration = preemptionConfiguration
        self.state = state
        self.status = status
        self.tags = tags
        self.createdAt = createdAt
    }
}

/// One entry of consumableResourceProperties.consumableResourceList: a resource (by name once
/// resolved) and the quantity one job needs of it.
public struct ConsumableResourceUse: Sendable, Codable, Hashable {
    public var resource: String
    public var quantity: Int64

    public init(resource: String, quantity: Int64) {
        self.resource = resource
        self.quantity = quantity
    }
}
