import DocketCore

/// RegisterJobDefinition and DescribeJobDefinitions on the wire.
enum JobDefinitionWire {
    static let known: Set<String> = ["jobDefinitionName", "type", "containerProperties", "parameters", "retryStrategy",
                                     "timeout", "schedulingPriority", "platformCapabilities", "propagateTags", "tags",
                                     "consumableResourceProperties"]

    /// RegisterJobDefinition → {jobDefinitionName, jobDefinitionArn, revision}.
    /// AWS's quota on a job definition's size (reference §11).
    static let maximumDefinitionBytes = 24 * 1024

    static func register<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let size = JSONValue.object(request.values).serialized().count
        guard size <= maximumDefinitionBytes else {
            throw .invalid("jobDefinitionName", "the job definition is \(size) bytes; AWS Batch's limit is 24 KiB (24,576 bytes). Move large values (scripts, parameters) into the image or files the job reads.")
        }
        let registered = try await backend.registerJobDefinition(try decodeRegister(request, limits: backend.limits))
        return ["jobDefinitionName": .string(registered.name), "jobDefinitionArn": .string(registered.arn),
                "revision": .number(Double(registered.revision))]
    }

    /// DescribeJobDefinitions → {jobDefinitions, nextToken}: by references (names, name:revision,
    /// ARNs), jobDefinitionName and status, all optional.
    static func describe<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let references = try request.strings("jobDefinitions", maxCount: 100) ?? []
        for reference in references { _ = try JobDefinitionReference(parsing: reference, field: "jobDefinitions") }
        let name = try request.string("jobDefinitionName")
        if let name { try ResourceName.validate(name, field: "jobDefinitionName") }
        let status = try request.enumeration("status", ["ACTIVE", "INACTIVE"])
        let found = try await backend.describeJobDefinitions(references: references, name: name, status: status)
        let arns = backend.arns
        return try PageToken.page(found.map { encode($0, arns: arns) }, key: "jobDefinitions", request: request)
    }

    /// DeregisterJobDefinition → {}: name:revision or ARN.
    static func deregister<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let reference = try request.requiredString("jobDefinition")
        let parsed = try JobDefinitionReference(parsing: reference, field: "jobDefinition")
        guard parsed.revision != nil else {
            throw .invalid("jobDefinition", "jobDefinition '\(reference)' names no revision; deregister one revision at a time as name:revision or its ARN.")
        }
        try await backend.deregisterJobDefinition(reference)
        return [:]
    }

    /// Decodes a RegisterJobDefinition request: container definitions only (multinode, ECS and
    /// EKS properties are refused), with an image, as AWS requires.
    /// - Throws: `.invalidRequest` naming the member and the rule it breaks.
    static func decodeRegister(_ request: Members, limits: APILimits = APILimits()) throws(DocketError) -> JobDefinition {
        let name = try request.requiredString("jobDefinitionName")
        try ResourceName.validate(name, field: "jobDefinitionName")
        let type = try request.enumeration("type", ["container", "multinode"])
        guard let type else { throw .invalid("type", "type is required; it must be container or multinode.") }
        guard type == "container" else {
            throw .invalid("type", "type multinode: Docket does not run multi-node parallel jobs yet; register a container job definition.")
        }
        for unsupported in ["ecsProperties", "eksProperties", "nodeProperties"] where request.has(unsupported) {
            throw .invalid(unsupported, "\(unsupported): Docket runs container jobs from containerProperties; \(unsupported) is not supported.")
        }
        guard let container = try request.object("containerProperties") else {
            throw .invalid("containerProperties", "containerProperties is required for a container job definition.")
        }
        guard let image = try container.string("image"), !image.isEmpty else {
            throw .invalid("containerProperties.image", "containerProperties.image is required: AWS Batch requires an image on every container job definition (the process executor ignores it).")
        }
        guard image.count <= 255 else { throw .invalid("containerProperties.image", "containerProperties.image is longer than 255 characters.") }
        _ = try container.strings("command")
        _ = try container.integer("vcpus", in: 1...Int64(Int32.max))
        _ = try container.integer("memory", in: 4...Int64(Int32.max))
        _ = try container.string("user")
        try validateEnvironment(container.objects("environment"))
        _ = try ContainerResolution.resources(of: .object(container.values), field: "containerProperties")
        var definition = JobDefinition(name: name, revision: 0, arn: "", type: type, containerProperties: .object(container.values),
                             parameters: try request.stringMap("parameters") ?? [:],
                             retryStrategy: try decodeRetryStrategy(request.object("retryStrategy")),
                             timeoutSeconds: try decodeTimeout(request.object("timeout"), minimum: limits.minimumTimeoutSeconds),
                             schedulingPriority: try request.integer("schedulingPriority", in: 0...9999).map(Int.init),
                             platformCapabilities: try decodePlatformCapabilities(request),
                             propagateTags: try request.bool("propagateTags"), tags: try request.tags(), createdAt: 0,
                             extra: request.extra(excluding: known))
        definition.consumableResources = try ConsumableResourceWire.decodeProperties(request.object("consumableResourceProperties"))
        return definition
    }

    static func decodePlatformCapabilities(_ request: Members) throws(DocketError) -> [String] {
        guard let capabilities = try request.strings("platformCapabilities", maxCount: 2) else { return ["EC2"] }
        for capability in capabilities where !["EC2", "FARGATE"].contains(capability) {
            throw .invalid("platformCapabilities", "platformCapabilities holds '\(capability)'; each entry must be EC2 or FARGATE.")
        }
        return capabilities
    }

    /// environment entries: names required, and none may start with AWS_BATCH (reserved).
    static func validateEnvironment(_ entries: [Members]?) throws(DocketError) {
        for entry in entries ?? [] {
            let name = try entry.requiredString("name")
            guard !name.hasPrefix("AWS_BATCH") else {
                throw .invalid(entry.name("name"), "\(entry.name("name")) '\(name)': names starting with AWS_BATCH are reserved for the variables Batch sets; rename it.")
            }
            _ = try entry.string("value")
        }
    }

    /// retryStrategy: attempts 1 to 10 (required with evaluateOnExit), at most 5 evaluateOnExit
    /// rules, each with action RETRY or EXIT and AWS's glob patterns.
    static func decodeRetryStrategy(_ members: Members?) throws(DocketError) -> RetryStrategy? {
        guard let members else { return nil }
        let rules = try members.objects("evaluateOnExit", maxCount: 5) ?? []
        guard let attempts = try members.integer("attempts", in: 1...10) else {
            if !rules.isEmpty { throw .invalid(members.name("attempts"), "\(members.name("attempts")) is required when evaluateOnExit is given (1 to 10).") }
            return nil
        }
        var decoded: [RetryStrategy.Rule] = []
        for rule in rules {
            let action = try rule.requiredString("action")
            guard ["RETRY", "EXIT"].contains(action.uppercased()) else {
                throw .invalid(rule.name("action"), "\(rule.name("action")) is '\(action)'; it must be RETRY or EXIT.")
            }
            let exitCode = try rule.string("onExitCode")
            if let exitCode, !isGlob(exitCode, allowing: { $0.isNumber }) {
                throw .invalid(rule.name("onExitCode"), "\(rule.name("onExitCode")) '\(exitCode)' may hold only digits, optionally ending with *.")
            }
            let allowed: (Character) -> Bool = { $0.isLetter || $0.isNumber || $0 == "." || $0 == ":" || $0.isWhitespace }
            for member in ["onReason", "onStatusReason"] {
                if let pattern = try rule.string(member), !isGlob(pattern, allowing: allowed) || pattern.count > 512 {
                    throw .invalid(rule.name(member), "\(rule.name(member)) '\(pattern)' may hold only letters, digits, '.', ':' and spaces (at most 512), optionally ending with *.")
                }
            }
            decoded.append(RetryStrategy.Rule(action: action, onStatusReason: try rule.string("onStatusReason"),
                                              onReason: try rule.string("onReason"), onExitCode: exitCode))
        }
        return RetryStrategy(attempts: Int(attempts), evaluateOnExit: decoded)
    }

    private static func isGlob(_ pattern: String, allowing allowed: (Character) -> Bool) -> Bool {
        let body = pattern.hasSuffix("*") ? pattern.dropLast() : Substring(pattern)
        return body.allSatisfy(allowed)
    }

    /// timeout.attemptDurationSeconds: at least `minimum` (60, as AWS requires, unless the
    /// server's minimum_timeout_seconds lowers it).
    static func decodeTimeout(_ members: Members?, minimum: Int64 = 60) throws(DocketError) -> Int64? {
        guard let members else { return nil }
        guard let seconds = try members.integer("attemptDurationSeconds") else { return nil }
        guard seconds >= minimum else {
            throw .invalid(members.name("attemptDurationSeconds"), "\(members.name("attemptDurationSeconds")) is \(seconds); the minimum is \(minimum) seconds.")
        }
        return seconds
    }

    static func encodeRetryStrategy(_ strategy: RetryStrategy) -> JSONValue {
        var members: [String: JSONValue] = ["attempts": .number(Double(strategy.attempts))]
        if !strategy.evaluateOnExit.isEmpty {
            members["evaluateOnExit"] = .array(strategy.evaluateOnExit.map { rule in
                var entry: [String: JSONValue] = ["action": .string(rule.action)]
                if let value = rule.onExitCode { entry["onExitCode"] = .string(value) }
                if let value = rule.onReason { entry["onReason"] = .string(value) }
                if let value = rule.onStatusReason { entry["onStatusReason"] = .string(value) }
                return .object(entry)
            })
        }
        return .object(members)
    }

    /// JobDefinition as DescribeJobDefinitions returns it: stored extra members, then Docket's own.
    static func encode(_ definition: JobDefinition, arns: ARNBuilder) -> JSONValue {
        var members = definition.extra
        members["jobDefinitionName"] = .string(definition.name)
        members["jobDefinitionArn"] = .string(definition.arn)
        members["revision"] = .number(Double(definition.revision))
        members["status"] = .string(definition.status)
        members["type"] = .string(definition.type)
        members["parameters"] = .object(definition.parameters.mapValues(JSONValue.string))
        members["platformCapabilities"] = .array(definition.platformCapabilities.map(JSONValue.string))
        members["tags"] = .object(definition.tags.mapValues(JSONValue.string))
        members["containerOrchestrationType"] = "ECS"
        if let properties = definition.containerProperties { members["containerProperties"] = properties }
        if let strategy = definition.retryStrategy { members["retryStrategy"] = encodeRetryStrategy(strategy) }
        if let seconds = definition.timeoutSeconds { members["timeout"] = ["attemptDurationSeconds": .number(Double(seconds))] }
        if let priority = definition.schedulingPriority { members["schedulingPriority"] = .number(Double(priority)) }
        if let propagate = definition.propagateTags { members["propagateTags"] = .bool(propagate) }
        if let uses = definition.consumableResources {
            members["consumableResourceProperties"] = ConsumableResourceWire.encodeProperties(uses, arns: arns)
        }
        return .object(members)
    }
}
