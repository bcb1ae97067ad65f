/// A SubmitJob request after wire decoding: what the caller asked for, before it is resolved
/// against a job definition and a queue.
public struct JobSubmission: Sendable, Hashable {
    public var jobName: String
    public var jobQueue: String
    public var jobDefinition: String
    public var parameters: [String: String]
    public var commandOverride: [String]?
    public var environmentOverride: [EnvironmentVariable]
    public var resourceOverride: ResourceOverride
    public var retryStrategy: RetryStrategy?
    public var timeoutSeconds: Int64?
    public var dependsOn: [JobDependency]
    public var tags: [String: String]
    /// Overrides the job definition's propagateTags.
    public var propagateTags: Bool?
    public var shareIdentifier: String?
    public var schedulingPriorityOverride: Int?
    /// consumableResourcePropertiesOverride: replaces the definition's list when given.
    public var consumableResourceOverride: [ConsumableResourceUse]?
    /// arrayProperties.size: makes the job an array job of this many children.
    public var arraySize: Int?

    public init(jobName: String, jobQueue: String, jobDefinition: String, parameters: [String: String] = [:],
                commandOverride: [String]? = nil, environmentOverride: [EnvironmentVariable] = [],
                resourceOverride: ResourceOverride = ResourceOverride(), retryStrategy: RetryStrategy? = nil,
                timeoutSeconds: Int64? = nil, dependsOn: [JobDependency] = [], tags: [String: String] = [:],
                shareIdentifier: String? = nil, schedulingPriorityOverride: Int? = nil) {
        self.jobName = jobName
        self.jobQueue = jobQueue
        self.jobDefinition = jobDefinition
        self.parameters = parameters
        self.commandOverride = commandOverride
        self.environmentOverride = environmentOverride
        self.resourceOverride = resourceOverride
        self.retryStrategy = retryStrategy
        self.timeoutSeconds = timeoutSeconds
        self.dependsOn = dependsOn
        self.tags = tags
        self.shareIdentifier = shareIdentifier
        self.schedulingPriorityOverride = schedulingPriorityOverride
    }
}

/// resourceRequirements overrides (VCPU, MEMORY, GPU), each optional.
public struct ResourceOverride: Sendable, Hashable {
    public var vcpuMillis: Int64?
    public var memoryMiB: Int64?
    public var gpus: Int64?
    /// The deprecated containerOverrides members used ("vcpus", "memory"), which may not
    /// override what the definition sets in resourceRequirements (reference §5.1).
    public var deprecatedMembers: Set<String> = []

    public init(vcpuMillis: Int64? = nil, memoryMiB: Int64? = nil, gpus: Int64? = nil) {
        self.vcpuMillis = vcpuMillis
        self.memoryMiB = memoryMiB
        self.gpus = gpus
    }
}

/// Turns a job definition's containerProperties plus a submission into what runs.
public enum ContainerResolution {
    /// Parses one resourceRequirements value: VCPU may be fractional ("0.5"), MEMORY and GPU are integers.
    /// - Parameter field: the requirement's path ("containerOverrides.resourceRequirements[0]");
    ///   errors name its `.type` or `.value`.
    public static func parseRequirement(type: String, value: String, field: String) throws(DocketError) -> Int64 {
        let valueField = "\(field).value"
        switch type {
        case "VCPU":
            guard let vcpus = Double(value), vcpus > 0, vcpus.isFinite else {
                throw .invalid(valueField, "\(valueField) is '\(value)'; a VCPU value is a positive number: 1 or more, or a fraction such as 0.5.")
            }
            return Int64((vcpus * 1000).rounded())
        case "MEMORY":
            guard let mib = Int64(value), mib >= 4 else {
                throw .invalid(valueField, "\(valueField) is '\(value)'; a MEMORY value is a whole number of MiB, at least 4.")
            }
            return mib
        case "GPU":
            guard let gpus = Int64(value), gpus >= 1 else {
                throw .invalid(valueField, "\(valueField) is '\(value)'; a GPU value is a whole number, at least 1 (omit the requirement for no GPUs).")
            }
            return gpus
        default:
            throw .invalid("\(field).type", "\(field).type is '\(type)'; it must be one of GPU, MEMORY, VCPU.")
        }
    }

    /// The resources a containerProperties object asks for: resourceRequirements, else the
    /// deprecated vcpus/memory members.
    public static func resources(of properties: JSONValue, field: String) throws(DocketError) -> Resources {
        var result = Resources()
        if let vcpus = properties["vcpus"]?.doubleValue { result.vcpuMillis = Int64((vcpus * 1000).rounded()) }
        if let memory = properties["memory"]?.intValue { result.memoryMiB = memory }
        for (index, requirement) in (properties["resourceRequirements"]?.arrayValue ?? []).enumerated() {
            let item = "\(field).resourceRequirements[\(index)]"
            guard let type = requirement["type"]?.stringValue, let value = requirement["value"]?.stringValue else {
                throw .invalid(item, "\(item) needs both 'type' and 'value'.")
            }
            let amount = try parseRequirement(type: type, value: value, field: item)
            switch type {
            case "VCPU": result.vcpuMillis = amount
            case "MEMORY": result.memoryMiB = amount
            default: result.gpus = amount
            }
        }
        return result
    }

    /// Replaces each command element of the form `Ref::name` with the parameter's value
    /// (the submit call's parameters win over the definition's defaults). An element naming
    /// no parameter is left as written, as AWS does.
    public static func substitute(_ command: [String], parameters: [String: String]) -> [String] {
        command.map { element in
            guard element.hasPrefix("Ref::") else { return element }
            return parameters[String(element.dropFirst(5))] ?? element
        }
    }

    /// Resolves a submission against its definition: overrides applied, Ref:: substituted.
    /// - Throws: `.invalidRequest` naming the field when the result cannot run (no command,
    ///   no vCPU or memory requirement).
    public static func resolve(definition: JobDefinition, submission: JobSubmission) throws(DocketError) -> ContainerSpec {
        let base = definition.containerProperties ?? .object([:])
        let parameters = definition.parameters.merging(submission.parameters) { _, submitted in submitted }
        let rawCommand = submission.commandOverride ?? base["command"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let command = substitute(rawCommand, parameters: parameters)
        guard !command.isEmpty else {
            throw .invalid("containerOverrides.command", "job definition '\(definition.reference)' has no command and the submission gives none; set containerProperties.command or containerOverrides.command.")
        }

        var environment = (base["environment"]?.arrayValue ?? []).compactMap { entry -> EnvironmentVariable? in
            guard let name = entry["name"]?.stringValue else { return nil }
            return EnvironmentVariable(name: name, value: entry["value"]?.stringValue ?? "")
        }
        for variable in submission.environmentOverride {
            environment.removeAll { $0.name == variable.name }
            environment.append(variable)
        }

        let required = Set((base["resourceRequirements"]?.arrayValue ?? []).compactMap { $0["type"]?.stringValue })
        for (member, type) in [("vcpus", "VCPU"), ("memory", "MEMORY")]
        where submission.resourceOverride.deprecatedMembers.contains(member) && required.contains(type) {
            throw .invalid("containerOverrides.\(member)", "containerOverrides.\(member): This value was submitted using a deprecated key and may conflict with the value provided by the job definition's resource requirements. Override it with containerOverrides.resourceRequirements type \(type) instead.")
        }
        var resources = try self.resources(of: base, field: "containerProperties")
        if let vcpus = submission.resourceOverride.vcpuMillis { resources.vcpuMillis = vcpus }
        if let memory = submission.resourceOverride.memoryMiB { resources.memoryMiB = memory }
        if let gpus = submission.resourceOverride.gpus { resources.gpus = gpus }
        guard resources.vcpuMillis > 0 else {
            throw .invalid("containerOverrides.resourceRequirements", "job definition '\(definition.reference)' asks for no VCPU; add a VCPU resourceRequirement of 1 or more to the definition or the override.")
        }
        guard resources.memoryMiB > 0 else {
            throw .invalid("containerOverrides.resourceRequirements", "job definition '\(definition.reference)' asks for no MEMORY; add a MEMORY resourceRequirement (MiB, at least 4) to the definition or the override.")
        }

        var requirements: [JSONValue] = [
            ["type": "VCPU", "value": .string(formatVCPUValue(resources.vcpuMillis))],
            ["type": "MEMORY", "value": .string(String(resources.memoryMiB))],
        ]
        if resources.gpus > 0 { requirements.append(["type": "GPU", "value": .string(String(resources.gpus))]) }
        let properties = base
            .setting("command", .array(command.map(JSONValue.string)))
            .setting("environment", .array(environment.map { ["name": .string($0.name), "value": .string($0.value)] }))
            .setting("resourceRequirements", .array(requirements))
            .setting("vcpus", nil)
            .setting("memory", nil)
        return ContainerSpec(image: base["image"]?.stringValue, command: command, environment: environment,
                             resources: resources, user: base["user"]?.stringValue, properties: properties)
    }

    /// "1", "0.5": a vCPU amount as AWS writes it in resourceRequirements.
    public static func formatVCPUValue(_ millis: Int64) -> String {
        millis % 1000 == 0 ? String(millis / 1000) : String(Double(millis) / 1000)
    }
}
