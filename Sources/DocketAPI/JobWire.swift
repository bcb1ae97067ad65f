import DocketCore

/// SubmitJob, DescribeJobs and ListJobs on the wire.
enum JobWire {
    static func decodeSubmit(_ request: Members) throws(DocketError) -> JobSubmission {
        let name = try request.requiredString("jobName")
        try ResourceName.validate(name, field: "jobName")
        var submission = JobSubmission(jobName: name, jobQueue: try request.requiredString("jobQueue"),
                                       jobDefinition: try request.requiredString("jobDefinition"))
        if try request.object("arrayProperties") != nil {
            throw .invalid("arrayProperties", "arrayProperties: array jobs arrive in a later Docket release; submit single jobs for now.")
        }
        for unsupported in ["nodeOverrides", "eksPropertiesOverride", "ecsPropertiesOverride"] where request.has(unsupported) {
            throw .invalid(unsupported, "\(unsupported): Docket runs container jobs; \(unsupported) is not supported.")
        }
        submission.parameters = try request.stringMap("parameters") ?? [:]
        if let overrides = try request.object("containerOverrides") {
            if let command = try overrides.strings("command") {
                if command.contains("") {
                    throw .invalid("containerOverrides.command", "containerOverrides.command may not contain an empty string.")
                }
                submission.commandOverride = command
            }
            let environment = try overrides.objects("environment")
            try JobDefinitionWire.validateEnvironment(environment)
            submission.environmentOverride = try (environment ?? []).map { entry throws(DocketError) in
                EnvironmentVariable(name: try entry.requiredString("name"), value: try entry.string("value") ?? "")
            }
            var resources = ResourceOverride()
            if let vcpus = try overrides.integer("vcpus", in: 1...Int64(Int32.max)) { resources.vcpuMillis = vcpus * 1000 }
            if let memory = try overrides.integer("memory", in: 4...Int64(Int32.max)) { resources.memoryMiB = memory }
            for requirement in try overrides.objects("resourceRequirements") ?? [] {
                let type = try requirement.requiredString("type")
                let amount = try ContainerResolution.parseRequirement(type: type, value: try requirement.requiredString("value"),
                                                                      field: requirement.path)
                switch type {
                case "VCPU": resources.vcpuMillis = amount
                case "MEMORY": resources.memoryMiB = amount
                default: resources.gpus = amount
                }
            }
            submission.resourceOverride = resources
        }
        submission.retryStrategy = try JobDefinitionWire.decodeRetryStrategy(request.object("retryStrategy"))
        submission.timeoutSeconds = try JobDefinitionWire.decodeTimeout(request.object("timeout"))
        let dependencies = try request.objects("dependsOn", maxCount: 20) ?? []
        submission.dependsOn = try dependencies.map { entry throws(DocketError) in
            JobDependency(jobID: try entry.string("jobId"), type: try entry.enumeration("type", ["N_TO_N", "SEQUENTIAL"]))
        }
        submission.tags = try request.tags()
        submission.shareIdentifier = try request.string("shareIdentifier")
        submission.schedulingPriorityOverride = try request.integer("schedulingPriorityOverride", in: 0...9999).map(Int.init)
        return submission
    }

    static func encodeAttempt(_ attempt: Attempt) -> JSONValue {
        var container: [String: JSONValue] = ["logStreamName": .string(attempt.logStreamName)]
        if let code = attempt.exitCode { container["exitCode"] = .number(Double(code)) }
        if let reason = attempt.reason { container["reason"] = .string(String(reason.prefix(255))) }
        if let task = attempt.taskDetail { container["taskArn"] = .string(task) }
        var members: [String: JSONValue] = ["container": .object(container)]
        if let time = attempt.startedAt { members["startedAt"] = .number(Double(time)) }
        if let time = attempt.stoppedAt { members["stoppedAt"] = .number(Double(time)) }
        if let reason = attempt.statusReason { members["statusReason"] = .string(reason) }
        return .object(members)
    }

    /// JobDetail, as DescribeJobs returns it.
    static func encodeDetail(_ job: Job, arns: ARNBuilder) -> JSONValue {
        var container = job.container.properties.objectValue ?? [:]
        if let attempt = job.currentAttempt {
            if let code = attempt.exitCode { container["exitCode"] = .number(Double(code)) }
            if let reason = attempt.reason { container["reason"] = .string(String(reason.prefix(255))) }
            container["logStreamName"] = .string(attempt.logStreamName)
            if let task = attempt.taskDetail { container["taskArn"] = .string(task) }
        }
        var members: [String: JSONValue] = [
            "jobArn": .string(job.arn),
            "jobName": .string(job.name),
            "jobId": .string(job.id),
            "jobQueue": .string(arns.jobQueue(job.queue)),
            "status": .string(job.status.rawValue),
            "attempts": .array(job.attempts.map(encodeAttempt)),
            "createdAt": .number(Double(job.createdAt)),
            "dependsOn": .array(job.dependsOn.map { dependency in
                var entry: [String: JSONValue] = [:]
                if let id = dependency.jobID { entry["jobId"] = .string(id) }
                if let type = dependency.type { entry["type"] = .string(type) }
                return .object(entry)
            }),
            "jobDefinition": .string(job.jobDefinitionArn),
            "parameters": .object(job.parameters.mapValues(JSONValue.string)),
            "container": .object(container),
            "tags": .object(job.tags.mapValues(JSONValue.string)),
            "platformCapabilities": .array(job.platformCapabilities.map(JSONValue.string)),
            "isCancelled": .bool(job.isCancelled),
            "isTerminated": .bool(job.isTerminated),
        ]
        if let reason = job.statusReason { members["statusReason"] = .string(reason) }
        if let time = job.startedAt { members["startedAt"] = .number(Double(time)) }
        if let time = job.stoppedAt { members["stoppedAt"] = .number(Double(time)) }
        if let strategy = job.retryStrategy { members["retryStrategy"] = JobDefinitionWire.encodeRetryStrategy(strategy) }
        if let seconds = job.timeoutSeconds { members["timeout"] = ["attemptDurationSeconds": .number(Double(seconds))] }
        if let share = job.shareIdentifier { members["shareIdentifier"] = .string(share) }
        if let priority = job.schedulingPriority { members["schedulingPriority"] = .number(Double(priority)) }
        return .object(members)
    }

    /// JobSummary, as ListJobs returns it.
    static func encodeSummary(_ job: Job) -> JSONValue {
        var members: [String: JSONValue] = [
            "jobArn": .string(job.arn), "jobId": .string(job.id), "jobName": .string(job.name),
            "createdAt": .number(Double(job.createdAt)), "status": .string(job.status.rawValue),
            "jobDefinition": .string(job.jobDefinitionArn),
        ]
        if let reason = job.statusReason { members["statusReason"] = .string(reason) }
        if let time = job.startedAt { members["startedAt"] = .number(Double(time)) }
        if let time = job.stoppedAt { members["stoppedAt"] = .number(Double(time)) }
        if let attempt = job.currentAttempt {
            var container: [String: JSONValue] = [:]
            if let code = attempt.exitCode { container["exitCode"] = .number(Double(code)) }
            if let reason = attempt.reason { container["reason"] = .string(String(reason.prefix(255))) }
            members["container"] = .object(container)
        }
        return .object(members)
    }
}

/// nextToken values: opaque to clients, "after this sequence" to us.
enum PageToken {
    static func encode(_ sequence: Int64) -> String {
        let text = "seq:\(sequence)"
        return String(text.utf8.map { String(format2hex: $0) }.joined())
    }

    static func decode(_ token: String) throws(DocketError) -> Int64 {
        var bytes: [UInt8] = []
        var index = token.startIndex
        while index < token.endIndex {
            let next = token.index(index, offsetBy: 2, limitedBy: token.endIndex) ?? token.endIndex
            guard let byte = UInt8(token[index..<next], radix: 16) else { bytes = []; break }
            bytes.append(byte)
            index = next
        }
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.hasPrefix("seq:"), let sequence = Int64(text.dropFirst(4)) else {
            throw .invalid("nextToken", "nextToken '\(token)' is not a token this server gave; pass the nextToken of the previous page unchanged.")
        }
        return sequence
    }
}

private extension String {
    init(format2hex byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self.init([digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
    }
}
