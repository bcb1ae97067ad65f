import DocketCore

/// CreateComputeEnvironment and DescribeComputeEnvironments on the wire.
enum ComputeEnvironmentWire {
    /// The request members Docket interprets; every other member is kept in `extra` and returned as sent.
    static let known: Set<String> = ["computeEnvironmentName", "type", "state", "computeResources", "tags"]

    /// CreateComputeEnvironment → {computeEnvironmentName, computeEnvironmentArn}.
    static func create<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let created = try await backend.createComputeEnvironment(try decodeCreate(request))
        return ["computeEnvironmentName": .string(created.name), "computeEnvironmentArn": .string(created.arn)]
    }

    /// DescribeComputeEnvironments → {computeEnvironments, nextToken}.
    static func describe<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let references = try request.strings("computeEnvironments", maxCount: 100) ?? []
        let found = try await backend.describeComputeEnvironments(references)
        return try PageToken.page(found.map(encode), key: "computeEnvironments", request: request)
    }

    /// UpdateComputeEnvironment → {computeEnvironmentName, computeEnvironmentArn}. state and
    /// computeResources.maxvCpus take effect; the AWS-only members are stored as sent.
    static func update<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let reference = try request.requiredString("computeEnvironment")
        guard !reference.isEmpty else {
            throw .invalid("computeEnvironment", "computeEnvironment is empty; give the compute environment's name or ARN.")
        }
        var change = ComputeEnvironmentChange()
        change.state = try request.enumeration("state", ["ENABLED", "DISABLED"]).flatMap(ResourceState.init(rawValue:))
        _ = try request.integer("unmanagedvCpus", in: 0...Int64(Int32.max))
        if let resources = try request.object("computeResources") {
            let maximum = try resources.integer("maxvCpus", in: 0...Int64(Int32.max))
            let minimum = try resources.integer("minvCpus", in: 0...Int64(Int32.max))
            _ = try resources.integer("desiredvCpus", in: 0...Int64(Int32.max))
            if let maximum, let minimum, minimum > maximum {
                throw .invalid(resources.name("minvCpus"), "\(resources.name("minvCpus")) is \(minimum), above maxvCpus \(maximum); lower minvCpus or raise maxvCpus.")
            }
            change.maxVCPUMillis = maximum.map { $0 * 1000 }
            change.computeResources = resources.values
        }
        change.extra = request.extra(excluding: ["computeEnvironment", "state", "computeResources"])
        let updated = try await backend.updateComputeEnvironment(ARNBuilder.name(from: reference, kind: "compute-environment"), change)
        return ["computeEnvironmentName": .string(updated.name), "computeEnvironmentArn": .string(updated.arn)]
    }

    /// DeleteComputeEnvironment → {}.
    static func delete<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let reference = try request.requiredString("computeEnvironment")
        try await backend.deleteComputeEnvironment(ARNBuilder.name(from: reference, kind: "compute-environment"))
        return [:]
    }

    /// Decodes a CreateComputeEnvironment request. The executor comes from the reserved tag
    /// docket:executor ("" = the server's default, which the backend fills in); the other
    /// docket: tags are its settings, with the prefix removed.
    /// - Throws: `.invalidRequest` naming the member and the rule it breaks.
    static func decodeCreate(_ request: Members) throws(DocketError) -> ComputeEnvironment {
        let name = try request.requiredString("computeEnvironmentName")
        try ResourceName.validate(name, field: "computeEnvironmentName")
        guard let type = try request.enumeration("type", ["MANAGED", "UNMANAGED"]) else {
            throw .invalid("type", "type is required; it must be MANAGED or UNMANAGED.")
        }
        let state = try request.enumeration("state", ["ENABLED", "DISABLED"]).flatMap(ResourceState.init(rawValue:)) ?? .enabled
        if try request.integer("unmanagedvCpus", in: 0...Int64(Int32.max)) != nil, type != "UNMANAGED" {
            throw .invalid("unmanagedvCpus", "unmanagedvCpus applies only to UNMANAGED compute environments; drop it or create the environment as UNMANAGED.")
        }
        let tags = try request.tags()
        var settings: [String: JSONValue] = [:]
        for (key, value) in tags where key.hasPrefix(ComputeEnvironment.settingTagPrefix) && key != ComputeEnvironment.executorTag {
            settings[String(key.dropFirst(ComputeEnvironment.settingTagPrefix.count))] = settingValue(value)
        }
        var maxVCPUMillis: Int64?
        if let resources = try request.object("computeResources") {
            guard type == "MANAGED" else {
                throw .invalid("computeResources", "computeResources must be omitted for an UNMANAGED compute environment; create it as MANAGED or drop computeResources.")
            }
            guard try resources.enumeration("type", ["EC2", "SPOT", "FARGATE", "FARGATE_SPOT"]) != nil else {
                throw .invalid(resources.name("type"), "\(resources.name("type")) is required; it must be one of EC2, SPOT, FARGATE, FARGATE_SPOT.")
            }
            let maximum = try resources.requiredInteger("maxvCpus", in: 0...Int64(Int32.max))
            _ = try resources.integer("minvCpus", in: 0...maximum)
            _ = try resources.integer("desiredvCpus", in: 0...maximum)
            guard try resources.strings("subnets", maxCount: 16) != nil else {
                throw .invalid(resources.name("subnets"), "\(resources.name("subnets")) is required (AWS's rule); Docket ignores it, so send an empty list.")
            }
            maxVCPUMillis = maximum * 1000
        } else if type == "MANAGED" {
            throw .invalid("computeResources", "computeResources is required for a MANAGED compute environment (at least {\"type\": \"EC2\", \"maxvCpus\": N, \"subnets\": []}); or create it as UNMANAGED.")
        }
        return ComputeEnvironment(name: name, arn: "", uuid: "", type: type, state: state,
                                  executor: tags[ComputeEnvironment.executorTag] ?? "", executorSettings: settings,
                                  maxVCPUMillis: maxVCPUMillis, computeResources: request.values["computeResources"], tags: tags,
                                  createdAt: 0, extra: request.extra(excluding: known))
    }

    /// A docket: tag's value as an executor setting: a JSON number or boolean when the text is
    /// one ("4", "0.5", "true"), otherwise the text as a string.
    static func settingValue(_ text: String) -> JSONValue {
        switch try? JSONParser.parse(Array(text.utf8)) {
        case .number(let number)?: .number(number)
        case .bool(let flag)?: .bool(flag)
        default: .string(text)
        }
    }

    /// ComputeEnvironmentDetail: the stored extra members first, then Docket's own on top.
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
