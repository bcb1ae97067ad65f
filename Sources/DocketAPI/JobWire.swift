import DocketCore

/// SubmitJob, DescribeJobs, CancelJob and TerminateJob on the wire (ListJobs: `ListJobsQuery`).
enum JobWire {
    /// SubmitJob → {jobArn, jobName, jobId}.
    static func submit<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let job = try await backend.submitJob(try decodeSubmit(request, limits: backend.limits))
        return ["jobArn": .string(job.arn), "jobName": .string(job.name), "jobId": .string(job.id)]
    }

    /// DescribeJobs → {jobs}: 1 to 100 ids or ARNs; unknown ones are left out, as AWS does.
    static func describe<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        guard let references = try request.strings("jobs", maxCount: 100) else {
            throw .invalid("jobs", "jobs is required: a list of 1 to 100 job ids or ARNs.")
        }
        let arns = backend.arns
        return ["jobs": .array(try await backend.describeJobs(references).map { encodeDetail($0, arns: arns) })]
    }

    /// CancelJob → {}: jobId and reason are both required.
    static func cancel<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let (job, reason) = try decodeStop(request)
        try await backend.cancelJob(job, reason: reason)
        return [:]
    }

    /// TerminateJob → {}: jobId and reason are both required.
    static func terminate<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let (job, reason) = try decodeStop(request)
        try await backend.terminateJob(job, reason: reason)
        return [:]
    }

    static func decodeStop(_ request: Members) throws(DocketError) -> (job: String, reason: String) {
        let job = try request.requiredString("jobId")
        guard !job.isEmpty else { throw .invalid("jobId", "jobId is empty; give the jobId SubmitJob returned, or the job's ARN.") }
        return (job, try request.requiredString("reason"))
    }

    /// Decodes a SubmitJob request into a `JobSubmission`; the backend resolves it against the
    /// queue and the job definition.
    /// - Throws: `.invalidRequest` naming the member and the rule it breaks; arrayProperties,
    ///   node, ECS and EKS overrides are refused until Docket supports them.
    static func decodeSubmit(_ request: Members, limits: APILimits = APILimits()) throws(DocketError) -> JobSubmission {
        let name = try request.requiredString("jobName")
        try ResourceName.validate(name, field: "jobName")
        let queue = try request.requiredString("jobQueue")
        guard !queue.isEmpty else { throw .invalid("jobQueue", "jobQueue is empty; give a job queue name or ARN.") }
        let definition = try request.requiredString("jobDefinition")
        _ = try JobDefinitionReference(parsing: definition, field: "jobDefinition")
        var submission = JobSubmission(jobName: name, jobQueue: queue, jobDefinition: definition)
        if try request.object("arrayProperties") != nil {
            throw .invalid("arrayProperties", "arrayProperties: array jobs arrive in a later Docket release; submit single jobs for now.")
        }
        for unsupported in ["nodeOverrides", "eksPropertiesOverride", "ecsPropertiesOverride"] where request.has(unsupported) {
            throw .invalid(unsupported, "\(unsupported): Docket runs container jobs; \(unsupported) is not supported.")
        }
        _ = try request.bool("propagateTags")
        submission.parameters = try request.stringMap("parameters") ?? [:]
        if let overrides = try request.object("containerOverrides") {
            submission.commandOverride = try decodeCommand(overrides)
            let environment = try overrides.objects("environment")
            try JobDefinitionWire.validateEnvironment(environment)
            submission.environmentOverride = try (environment ?? []).map { entry throws(DocketError) in
                EnvironmentVariable(name: try entry.requiredString("name"), value: try entry.string("value") ?? "")
            }
            submission.resourceOverride = try decodeResourceOverride(overrides)
            _ = try overrides.string("instanceType")
        }
        submission.retryStrategy = try JobDefinitionWire.decodeRetryStrategy(request.object("retryStrategy"))
        submission.timeoutSeconds = try JobDefinitionWire.decodeTimeout(request.object("timeout"), minimum: limits.minimumTimeoutSeconds)
        let dependencies = try request.objects("dependsOn", maxCount: 20) ?? []
        submission.dependsOn = try dependencies.map { entry throws(DocketError) in
            let type = try entry.enumeration("type", ["N_TO_N", "SEQUENTIAL"])
            guard let id = try entry.string("jobId"), !id.isEmpty else {
                throw .invalid(entry.name("jobId"), "\(entry.name("jobId")) is required: a dependency without a job id applies to array jobs, which arrive in a later Docket release.")
            }
            return JobDependency(jobID: ARNBuilder.name(from: id, kind: "job"), type: type)
        }
        submission.tags = try request.tags()
        submission.consumableResourceOverride = try ConsumableResourceWire.decodeProperties(request.object("consumableResourcePropertiesOverride"))
        submission.shareIdentifier = try request.string("shareIdentifier")
        submission.schedulingPriorityOverride = try request.integer("schedulingPriorityOverride", in: 0...9999).map(Int.init)
        return submission
    }

    static func decodeCommand(_ overrides: Members) throws(DocketError) -> [String]? {
        guard let command = try overrides.strings("command") else { return nil }
        if command.contains("") {
            throw .invalid(overrides.name("command"), "\(overrides.name("command")) may not contain an empty string.")
        }
        return command
    }

    /// containerOverrides.resourceRequirements, or the deprecated vcpus and memory members
    /// (resourceRequirements win when both are given, as in AWS).
    static func decodeResourceOverride(_ overrides: Members) throws(DocketError) -> ResourceOverride {
        var resources = ResourceOverride()
        if let vcpus = try overrides.integer("vcpus", in: 1...Int64(Int32.max)) { resources.vcpuMillis = vcpus * 1000 }
        if let memory = try overrides.integer("memory", in: 4...Int64(Int32.max)) { resources.memoryMiB = memory }
        for requirement in try overrides.objects("resourceRequirements", maxCount: 3) ?? [] {
            guard let type = try requirement.enumeration("type", ["GPU", "MEMORY", "VCPU"]) else {
                throw .invalid(requirement.name("type"), "\(requirement.name("type")) is required; it must be one of GPU, MEMORY, VCPU.")
            }
            let amount = try ContainerResolution.parseRequirement(type: type, value: try requirement.requiredString("value"),
                                                                  field: requirement.path)
            switch type {
            case "VCPU": resources.vcpuMillis = amount
            case "MEMORY": resources.memoryMiB = amount
            default: resources.gpus = amount
            }
        }
        return resources
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
        if let uses = job.consumableResources {
            members["consumableResourceProperties"] = ConsumableResourceWire.encodeProperties(uses, arns: arns)
        }
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
