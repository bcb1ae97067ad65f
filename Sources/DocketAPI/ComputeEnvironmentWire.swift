import DocketCore

/// CreateComputeEnvironment and DescribeComputeEnvironments on the wire.
enum ComputeEnvironmentWire {
    static let known: Set<String> = ["computeEnvironmentName", "type", "state", "computeResources", "tags"]

    /// Decodes a CreateComputeEnvironment request. The executor comes from the reserved tag
    /// docket:executor ("" = the server's default); other docket: tags are its settings.
    static func decodeCreate(_ request: Members) throws(DocketError) -> ComputeEnvironment {
        let name = try request.requiredString("computeEnvironmentName")
        try ResourceName.validate(name, field: "computeEnvironmentName")
        let type = try request.enumeration("type", ["MANAGED", "UNMANAGED"])
        guard let type else { throw .invalid("type", "type is required; it must be MANAGED or UNMANAGED.") }
        let state = try request.enumeration("state", ["ENABLED", "DISABLED"]).flatMap(ResourceState.init(rawValue:)) ?? .enabled
        let tags = try request.tags()
        var settings: [String: JSONValue] = [:]
        for (key, value) in tags where key.hasPrefix(ComputeEnvironment.settingTagPrefix) && key != ComputeEnvironment.executorTag {
            settings[String(key.dropFirst(ComputeEnvironment.settingTagPrefix.count))] = settingValue(value)
        }
        var maxVCPUMillis: Int64?
        if let resources = try request.object("computeResources") {
            if type == "UNMANAGED" {
                throw .invalid("computeResources", "computeResources must be omitted for an UNMANAGED compute environment; use MANAGED or drop it.")
            }
            if let maximum = try resources.integer("maxvCpus", in: 0...Int64(Int32.max)) { maxVCPUMillis = maximum * 1000 }
            _ = try resources.enumeration("type", ["EC2", "SPOT", "FARGATE", "FARGATE_SPOT"])
        } else if type == "MANAGED" {
            throw .invalid("computeResources", "computeResources is required for a MANAGED compute environment (at least {\"type\": \"EC2\", \"maxvCpus\": N, \"subnets\": []}); or create it as UNMANAGED.")
        }
        return ComputeEnvironment(name: name, arn: "", uuid: "", type: type, state: state,
                                  executor: tags[ComputeEnvironment.executorTag] ?? "", executorSettings: settings,
                                  maxVCPUMillis: maxVCPUMillis, computeResources: request.values["computeResources"], tags: tags,
                                  createdAt: 0, extra: request.extra(excluding: known))
    }

    /// A docket: tag's value as a setting: numbers and booleans as such, the rest as strings.
    static func settingValue(_ text: String) -> JSONValue {
        if text == "true" { return .bool(true) }
        if text == "false" { return .bool(false) }
        if let number = Double(text), number.isFinite { return .number(number) }
        return .string(text)
    }

    static func encode(_ environment: ComputeEnvironment) -> JSONValue {
        var members = environment.extra
        members["computeEnvironmentName"] = .string(environment.name)
        members["computeEnvironmentArn"] = .string(environment.arn)
        members["uuid"] = .string(environment.uuid)
        members["type"] = .string(environment.type)
        members["state"] = .string(environment.state.rawValue)
        members["status"] = .string(environment.status)
        members["statusReason"] = .string(environment.statusReason)
        members["tags"] = .object(environment.tags.mapValues(JSONValue.string))
        members["containerOrchestrationType"] = "ECS"
        if let resources = environment.computeResources { members["computeResources"] = resources }
        return .object(members)
    }
}
