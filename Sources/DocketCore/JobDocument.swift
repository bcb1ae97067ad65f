/// The job as the store keeps it: a JSON document with the keys `Codable` would write, read and
/// written by hand through `JSONParser` and `JSONValue.serialized()`. Foundation's
/// `JSONDecoder` cost about 120 µs a job here (most of it probing types for the container
/// properties), which made a restart on 100,000 queued jobs take 15 s and every 100-job read
/// 15–20 ms; this path is several times cheaper. `JobDocumentTests` pin it to the Codable
/// form both ways, so documents written by either decode with the other.
extension Job {
    /// The document's bytes (compact JSON, keys sorted).
    public func documentJSON() -> [UInt8] { documentValue().serialized() }

    /// Reads a document written by `documentJSON()` or by `JSONEncoder`.
    /// - Throws: `DocketError(.internalError)` naming the member that is missing or mistyped.
    public init(documentJSON bytes: [UInt8]) throws(DocketError) {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch {
            throw DocketError(.internalError, "a stored job document is not valid JSON (\(error.message) at byte \(error.offset))")
        }
        let d = try Document(value, path: "job")
        self.init(id: try d.string("id"), name: try d.string("name"), arn: try d.string("arn"), queue: try d.string("queue"),
                  jobDefinitionArn: try d.string("jobDefinitionArn"), jobDefinitionName: try d.string("jobDefinitionName"),
                  sequence: try d.int64("sequence"), createdAt: try d.int64("createdAt"),
                  container: try ContainerSpec(document: d.object("container")))
        guard let status = JobStatus(rawValue: try d.string("status")) else { throw d.mistyped("status") }
        self.status = status
        statusReason = try d.optionalString("statusReason")
        startedAt = try d.optionalInt64("startedAt")
        stoppedAt = try d.optionalInt64("stoppedAt")
        parameters = try d.stringMap("parameters")
        if let strategy = try d.optionalObject("retryStrategy") { retryStrategy = try RetryStrategy(document: strategy) }
        timeoutSeconds = try d.optionalInt64("timeoutSeconds")
        dependsOn = try d.objects("dependsOn").map { entry throws(DocketError) in
            JobDependency(jobID: try entry.optionalString("jobID"), type: try entry.optionalString("type"))
        }
        tags = try d.stringMap("tags")
        propagateTags = try d.optionalBool("propagateTags")
        shareIdentifier = try d.optionalString("shareIdentifier")
        schedulingPriority = try d.optionalInt64("schedulingPriority").map(Int.init)
        platformCapabilities = try d.strings("platformCapabilities")
        attempts = try d.objects("attempts").map { entry throws(DocketError) in try Attempt(document: entry) }
        isCancelled = try d.bool("isCancelled")
        cancelReason = try d.optionalString("cancelReason")
        isTerminated = try d.bool("isTerminated")
        runnableAt = try d.optionalInt64("runnableAt")
        isRetry = try d.bool("isRetry")
        if d.has("consumableResources") {
            consumableResources = try d.objects("consumableResources").map { entry throws(DocketError) in
                ConsumableResourceUse(resource: try entry.string("resource"), quantity: try entry.int64("quantity"))
            }
        }
        arraySize = try d.optionalInt64("arraySize").map(Int.init)
        arrayIndex = try d.optionalInt64("arrayIndex").map(Int.init)
    }

    private func documentValue() -> JSONValue {
        var m: [String: JSONValue] = [
            "id": .string(id), "name": .string(name), "arn": .string(arn), "queue": .string(queue),
            "jobDefinitionArn": .string(jobDefinitionArn), "jobDefinitionName": .string(jobDefinitionName),
            "status": .string(status.rawValue), "sequence": .number(Double(sequence)), "createdAt": .number(Double(createdAt)),
            "container": container.documentValue(), "parameters": .object(parameters.mapValues(JSONValue.string)),
            "dependsOn": .array(dependsOn.map { dependency in
                var entry: [String: JSONValue] = [:]
                if let id = dependency.jobID { entry["jobID"] = .string(id) }
                if let type = dependency.type { entry["type"] = .string(type) }
                return .object(entry)
            }),
            "tags": .object(tags.mapValues(JSONValue.string)),
            "platformCapabilities": .array(platformCapabilities.map(JSONValue.string)),
            "attempts": .array(attempts.map { $0.documentValue() }),
            "isCancelled": .bool(isCancelled), "isTerminated": .bool(isTerminated), "isRetry": .bool(isRetry),
        ]
        m["statusReason"] = statusReason.map(JSONValue.string)
        m["startedAt"] = startedAt.map { .number(Double($0)) }
        m["stoppedAt"] = stoppedAt.map { .number(Double($0)) }
        m["retryStrategy"] = retryStrategy.map { $0.documentValue() }
        m["timeoutSeconds"] = timeoutSeconds.map { .number(Double($0)) }
        m["propagateTags"] = propagateTags.map(JSONValue.bool)
        m["shareIdentifier"] = shareIdentifier.map(JSONValue.string)
        m["schedulingPriority"] = schedulingPriority.map { .number(Double($0)) }
        m["cancelReason"] = cancelReason.map(JSONValue.string)
        m["runnableAt"] = runnableAt.map { .number(Double($0)) }
        m["consumableResources"] = consumableResources.map { uses in
            .array(uses.map { .object(["resource": .string($0.resource), "quantity": .number(Double($0.quantity))]) })
        }
        m["arraySize"] = arraySize.map { .number(Double($0)) }
        m["arrayIndex"] = arrayIndex.map { .number(Double($0)) }
        return .object(m)
    }
}

extension ContainerSpec {
    init(document d: Document) throws(DocketError) {
        let resources = try d.object("resources")
        self.init(image: try d.optionalString("image"), command: try d.strings("command"),
                  environment: try d.objects("environment").map { entry throws(DocketError) in
                      EnvironmentVariable(name: try entry.string("name"), value: try entry.string("value"))
                  },
                  resources: Resources(vcpuMillis: try resources.int64("vcpuMillis"), memoryMiB: try resources.int64("memoryMiB"),
                                       gpus: try resources.int64("gpus")),
                  user: try d.optionalString("user"), properties: d.members["properties"] ?? .object([:]))
    }

    func documentValue() -> JSONValue {
        var m: [String: JSONValue] = [
            "command": .array(command.map(JSONValue.string)),
            "environment": .array(environment.map { .object(["name": .string($0.name), "value": .string($0.value)]) }),
            "resources": .object(["vcpuMillis": .number(Double(resources.vcpuMillis)), "memoryMiB": .number(Double(resources.memoryMiB)),
                                  "gpus": .number(Double(resources.gpus))]),
            "properties": properties,
        ]
        m["image"] = image.map(JSONValue.string)
        m["user"] = user.map(JSONValue.string)
        return .object(m)
    }
}

extension Attempt {
    init(document d: Document) throws(DocketError) {
        self.init(number: Int(try d.int64("number")), computeEnvironment: try d.string("computeEnvironment"),
                  logStreamName: try d.string("logStreamName"))
        startedAt = try d.optionalInt64("startedAt")
        stoppedAt = try d.optionalInt64("stoppedAt")
        exitCode = try d.optionalInt64("exitCode").map { Int32(truncatingIfNeeded: $0) }
        reason = try d.optionalString("reason")
        statusReason = try d.optionalString("statusReason")
        taskDetail = try d.optionalString("taskDetail")
        wasPreempted = try d.optionalBool("wasPreempted") ?? false  // absent in documents written before 1.1
    }

    func documentValue() -> JSONValue {
        var m: [String: JSONValue] = ["number": .number(Double(number)), "computeEnvironment": .string(computeEnvironment),
                                      "logStreamName": .string(logStreamName)]
        m["startedAt"] = startedAt.map { .number(Double($0)) }
        m["stoppedAt"] = stoppedAt.map { .number(Double($0)) }
        m["exitCode"] = exitCode.map { .number(Double($0)) }
        m["reason"] = reason.map(JSONValue.string)
        m["statusReason"] = statusReason.map(JSONValue.string)
        m["taskDetail"] = taskDetail.map(JSONValue.string)
        m["wasPreempted"] = .bool(wasPreempted)
        return .object(m)
    }
}

extension RetryStrategy {
    init(document d: Document) throws(DocketError) {
        self.init(attempts: Int(try d.int64("attempts")), evaluateOnExit: try d.objects("evaluateOnExit").map { rule throws(DocketError) in
            Rule(action: try rule.string("action"), onStatusReason: try rule.optionalString("onStatusReason"),
                 onReason: try rule.optionalString("onReason"), onExitCode: try rule.optionalString("onExitCode"))
        })
    }

    func documentValue() -> JSONValue {
        .object(["attempts": .number(Double(attempts)), "evaluateOnExit": .array(evaluateOnExit.map { rule in
            var m: [String: JSONValue] = ["action": .string(rule.action)]
            m["onStatusReason"] = rule.onStatusReason.map(JSONValue.string)
            m["onReason"] = rule.onReason.map(JSONValue.string)
            m["onExitCode"] = rule.onExitCode.map(JSONValue.string)
            return .object(m)
        })])
    }
}

/// Typed reads from one object of a stored document; errors name the member's path.
struct Document {
    let members: [String: JSONValue]
    let path: String

    init(_ value: JSONValue, path: String) throws(DocketError) {
        guard case .object(let members) = value else { throw DocketError(.internalError, "stored \(path) is not a JSON object") }
        self.members = members
        self.path = path
    }

    func mistyped(_ key: String) -> DocketError {
        DocketError(.internalError, "stored \(path).\(key) is missing or of the wrong type")
    }

    func has(_ key: String) -> Bool { members[key].map { $0 != .null } ?? false }

    func string(_ key: String) throws(DocketError) -> String {
        guard let value = members[key]?.stringValue else { throw mistyped(key) }
        return value
    }

    func optionalString(_ key: String) throws(DocketError) -> String? {
        guard has(key) else { return nil }
        return try string(key)
    }

    func int64(_ key: String) throws(DocketError) -> Int64 {
        guard let value = members[key]?.intValue else { throw mistyped(key) }
        return value
    }

    func optionalInt64(_ key: String) throws(DocketError) -> Int64? {
        guard has(key) else { return nil }
        return try int64(key)
    }

    func bool(_ key: String) throws(DocketError) -> Bool {
        guard let value = members[key]?.boolValue else { throw mistyped(key) }
        return value
    }

    func optionalBool(_ key: String) throws(DocketError) -> Bool? {
        guard has(key) else { return nil }
        return try bool(key)
    }

    func object(_ key: String) throws(DocketError) -> Document {
        guard let value = members[key] else { throw mistyped(key) }
        return try Document(value, path: "\(path).\(key)")
    }

    func optionalObject(_ key: String) throws(DocketError) -> Document? {
        guard has(key) else { return nil }
        return try object(key)
    }

    func objects(_ key: String) throws(DocketError) -> [Document] {
        guard has(key) else { return [] }
        guard let items = members[key]?.arrayValue else { throw mistyped(key) }
        var result: [Document] = []
        result.reserveCapacity(items.count)
        for (index, item) in items.enumerated() { result.append(try Document(item, path: "\(path).\(key)[\(index)]")) }
        return result
    }

    func strings(_ key: String) throws(DocketError) -> [String] {
        guard has(key) else { return [] }
        guard let items = members[key]?.arrayValue else { throw mistyped(key) }
        var result: [String] = []
        result.reserveCapacity(items.count)
        for item in items {
            guard let text = item.stringValue else { throw mistyped(key) }
            result.append(text)
        }
        return result
    }

    func stringMap(_ key: String) throws(DocketError) -> [String: String] {
        guard has(key) else { return [:] }
        guard let object = members[key]?.objectValue else { throw mistyped(key) }
        var result: [String: String] = [:]
        for (name, value) in object {
            guard let text = value.stringValue else { throw mistyped("\(key).\(name)") }
            result[name] = text
        }
        return result
    }
}
