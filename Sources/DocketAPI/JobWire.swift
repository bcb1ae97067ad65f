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
        var details: [JSONValue] = []
        for job in try await backend.describeJobs(references) {
            let summary = job.isArrayParent ? try await backend.arrayStatusSummary(job.id) : nil
            details.append(encodeDetail(job, arns: arns, statusSummary: summary))
        }
        return ["jobs": .array(details)]
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
        let reason = try request.requiredString("reason")
        guard reason.count <= 1024 else {
            throw .invalid("reason", "reason is \(reason.count) characters long; at most 1024 are allowed.")
        }
        return (job, reason)
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
        if let array = try request.object("arrayProperties") {
            let maximum = Int64(limits.maximumArraySize)
            guard let size = try array.integer("size") else {
                throw .invalid(array.name("size"), "\(array.name("size")) is required for an array job: the number of children, 2 to \(maximum).")
            }
            guard (2...maximum).contains(size) else {
                throw .invalid(array.name("size"), "\(array.name("size")) is \(size); an array job has 2 to \(maximum) children\(size > maximum ? " (the server's max_array_size; AWS's is 10,000)" : "; submit a single job instead of an array of 1").")
            }
            submission.arraySize = Int(size)
        }
        for unsupported in ["nodeOverrides", "eksPropertiesOverride", "ecsPropertiesOverride"] where request.has(unsupported) {
            throw .invalid(unsupported, "\(unsupported): Docket runs container jobs; \(unsupported) is not supported.")
        }
        submission.propagateTags = try request.bool("propagateTags")
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
        let dependencies = try request.objects("dependsOn", maxCount: limits.maximumDependencies) ?? []
        submission.dependsOn = try dependencies.map { entry throws(DocketError) in
            let type = try entry.enumeration("type", ["N_TO_N", "SEQUENTIAL"])
            let id = try entry.string("jobId").flatMap { $0.isEmpty ? nil : $0 }
            switch (type, id) {
            case ("SEQUENTIAL"?, nil):
                guard submission.arraySize != nil else {
                    throw .invalid(entry.name("type"), "\(entry.name("type")) SEQUENTIAL without a jobId runs an array's children one after another; it needs arrayProperties.size.")
                }
            case ("SEQUENTIAL"?, _?):
                throw .invalid(entry.name("jobId"), "\(entry.name("jobId")): a SEQUENTIAL dependency names no job (it orders this array's own children); drop jobId, or drop the type to wait for that job.")
            case ("N_TO_N"?, nil):
                throw .invalid(entry.name("jobId"), "\(entry.name("jobId")) is required with N_TO_N: the array job whose child i each child i waits for.")
            case ("N_TO_N"?, _?):
                guard submission.arraySize != nil else {
                    throw .invalid(entry.name("type"), "\(entry.name("type")) N_TO_N pairs the children of two arrays; this job needs arrayProperties.size.")
                }
            case (_, nil):
                throw .invalid(entry.name("jobId"), "\(entry.name("jobId")) is required: the id of the job to wait for (or type SEQUENTIAL for an array's own children).")
            default: break
            }
            return JobDependency(jobID: id.map { ARNBuilder.name(from: $0, kind: "job") }, type: type)
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
        if let vcpus = try overrides.integer("vcpus", in: 1...Int64(Int32.max)) {
            resources.vcpuMillis = vcpus * 1000
            resources.deprecatedMembers.insert("vcpus")
        }
        if let memory = try overrides.integer("memory", in: 4...Int64(Int32.max)) {
            resources.memoryMiB = memory
            resources.deprecatedMembers.insert("memory")
        }
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

    /// JobDetail, as DescribeJobs returns it. An array parent's `statusSummary` counts its
    /// children by status (every status present, zeros included, as AWS shows it).
    static func encodeDetail(_ job: Job, arns: ARNBuilder, statusSummary: [JobStatus: Int]? = nil) -> JSONValue {
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
        if let propagate = job.propagateTags { members["propagateTags"] = .bool(propagate) }
        if let time = job.startedAt { members["startedAt"] = .number(Double(time)) }
        if let time = job.stoppedAt { members["stoppedAt"] = .number(Double(time)) }
        if let strategy = job.retryStrategy { members["retryStrategy"] = JobDefinitionWire.encodeRetryStrategy(strategy) }
        if let seconds = job.timeoutSeconds { members["timeout"] = ["attemptDurationSeconds": .number(Double(seconds))] }
        if let share = job.shareIdentifier { members["shareIdentifier"] = .string(share) }
        if let priority = job.schedulingPriority { members["schedulingPriority"] = .number(Double(priority)) }
        if let uses = job.consumableResources {
            members["consumableResourceProperties"] = ConsumableResourceWire.encodeProperties(uses, arns: arns)
        }
        if let index = job.arrayIndex {
            members["arrayProperties"] = ["index": .number(Double(index))]
        } else if let size = job.arraySize {
            var array: [String: JSONValue] = ["size": .number(Double(size))]
            if let statusSummary {
                array["statusSummary"] = .object(Dictionary(uniqueKeysWithValues: JobStatus.allCases.map {
                    ($0.rawValue, JSONValue.number(Double(statusSummary[$0] ?? 0)))
                }))
                array["statusSummaryLastUpdatedAt"] = .number(Double(job.stoppedAt ?? job.createdAt))
            }
            members["arrayProperties"] = .object(array)
        }
        return .object(members)
    }

    /// JobSummary, as ListJobs returns it.
    static func encodeSummary(_ job: Job) -> JSONValue {
        let array: JSONValue? = job.arrayIndex.map { ["index": .number(Double($0))] } ?? job.arraySize.map { ["size": .number(Double($0))] }
        var members: [String: JSONValue] = [
            "jobArn": .string(job.arn), "jobId": .string(job.id), "jobName": .string(job.name),
            "createdAt": .number(Double(job.createdAt)), "status": .string(job.status.rawValue),
            "jobDefinition": .string(job.jobDefinitionArn),
        ]
        if let reason = job.statusReason { members["statusReason"] = .string(reason) }
        if let time = job.startedAt { members["startedAt"] = .number(Double(time)) }
        if let time = job.stoppedAt { members["stoppedAt"] = .number(Double(time)) }
        if let share = job.shareIdentifier { members["shareIdentifier"] = .string(share) }
        if let attempt = job.currentAttempt {
            var container: [String: JSONValue] = [:]
            if let code = attempt.exitCode { container["exitCode"] = .number(Double(code)) }
            if let reason = attempt.reason { container["reason"] = .string(String(reason.prefix(255))) }
            members["container"] = .object(container)
        }
        if let array { members["arrayProperties"] = array }
        return .object(members)
    }
}
