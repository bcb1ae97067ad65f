import DocketCore

/// CreateJobQueue and DescribeJobQueues on the wire.
enum JobQueueWire {
    /// CreateJobQueue → {jobQueueName, jobQueueArn}.
    static func create<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let created = try await backend.createJobQueue(try decodeCreate(request, limits: backend.limits))
        return ["jobQueueName": .string(created.name), "jobQueueArn": .string(created.arn)]
    }

    /// DescribeJobQueues → {jobQueues, nextToken}.
    static func describe<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let references = try request.strings("jobQueues", maxCount: 100) ?? []
        let found = try await backend.describeJobQueues(references)
        let arns = backend.arns
        return try PageToken.page(found.map { encode($0, arns: arns) }, key: "jobQueues", request: request)
    }

    /// Decodes a CreateJobQueue request. Compute environments stay as sent (names or ARNs);
    /// the backend checks they exist and normalises them to names.
    /// - Throws: `.invalidRequest` naming the member and the rule it breaks.
    static func decodeCreate(_ request: Members, limits: APILimits = APILimits()) throws(DocketError) -> JobQueue {
        let name = try request.requiredString("jobQueueName")
        try ResourceName.validate(name, field: "jobQueueName")
        let priority = try request.requiredInteger("priority", in: 0...Int64(Int32.max))
        let state = try request.enumeration("state", ["ENABLED", "DISABLED"]).flatMap(ResourceState.init(rawValue:)) ?? .enabled
        if request.has("serviceEnvironmentOrder") {
            throw .invalid("serviceEnvironmentOrder", "serviceEnvironmentOrder: Docket runs jobs on compute environments only; give computeEnvironmentOrder instead.")
        }
        if let type = try request.enumeration("jobQueueType", ["EKS", "ECS", "ECS_FARGATE", "SAGEMAKER_TRAINING"]), type != "ECS" {
            throw .invalid("jobQueueType", "jobQueueType '\(type)': Docket's queues are ECS queues; send ECS or omit jobQueueType.")
        }
        guard let entries = try request.objects("computeEnvironmentOrder", maxCount: 3), !entries.isEmpty else {
            throw .invalid("computeEnvironmentOrder", "computeEnvironmentOrder is required: 1 to 3 entries of {order, computeEnvironment}.")
        }
        let order = try decodeOrder(entries)
        let actions = try request.objects("jobStateTimeLimitActions") ?? []
        for action in actions { try validateTimeLimitAction(action, limits: limits) }
        return JobQueue(name: name, arn: "", state: state, priority: Int(priority), computeEnvironmentOrder: order,
                        schedulingPolicyArn: try request.string("schedulingPolicyArn"),
                        jobStateTimeLimitActions: actions.isEmpty ? nil : request.values["jobStateTimeLimitActions"],
                        tags: try request.tags(), createdAt: 0)
    }

    /// computeEnvironmentOrder: 1 to 3 entries, distinct orders and compute environments.
    static func decodeOrder(_ entries: [Members]) throws(DocketError) -> [ComputeEnvironmentOrder] {
        var order: [ComputeEnvironmentOrder] = []
        for entry in entries {
            let position = Int(try entry.requiredInteger("order", in: 0...Int64(Int32.max)))
            let environment = try entry.requiredString("computeEnvironment")
            let environmentName = ARNBuilder.name(from: environment, kind: "compute-environment")
            if order.contains(where: { $0.order == position }) {
                throw .invalid(entry.name("order"), "\(entry.name("order")) is \(position), which another entry already uses; give each compute environment its own order.")
            }
            if order.contains(where: { ARNBuilder.name(from: $0.computeEnvironment, kind: "compute-environment") == environmentName }) {
                throw .invalid(entry.name("computeEnvironment"), "\(entry.name("computeEnvironment")) '\(environment)' is listed twice; list each compute environment once.")
            }
            order.append(ComputeEnvironmentOrder(order: position, computeEnvironment: environment))
        }
        return order
    }

    /// UpdateJobQueue → {jobQueueName, jobQueueArn}.
    static func update<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let reference = try request.requiredString("jobQueue")
        guard !reference.isEmpty else { throw .invalid("jobQueue", "jobQueue is empty; give the job queue's name or ARN.") }
        if request.has("serviceEnvironmentOrder") {
            throw .invalid("serviceEnvironmentOrder", "serviceEnvironmentOrder: Docket runs jobs on compute environments only; give computeEnvironmentOrder instead.")
        }
        var change = JobQueueChange()
        change.state = try request.enumeration("state", ["ENABLED", "DISABLED"]).flatMap(ResourceState.init(rawValue:))
        change.priority = try request.integer("priority", in: 0...Int64(Int32.max)).map(Int.init)
        if let entries = try request.objects("computeEnvironmentOrder", maxCount: 3) {
            guard !entries.isEmpty else {
                throw .invalid("computeEnvironmentOrder", "computeEnvironmentOrder is empty; a job queue needs 1 to 3 compute environments.")
            }
            change.computeEnvironmentOrder = try decodeOrder(entries)
        }
        change.schedulingPolicyArn = try request.string("schedulingPolicyArn")
        if let actions = try request.objects("jobStateTimeLimitActions") {
            for action in actions { try validateTimeLimitAction(action, limits: backend.limits) }
            change.jobStateTimeLimitActions = actions.isEmpty ? .null : request.values["jobStateTimeLimitActions"]
        }
        let updated = try await backend.updateJobQueue(ARNBuilder.name(from: reference, kind: "job-queue"), change)
        return ["jobQueueName": .string(updated.name), "jobQueueArn": .string(updated.arn)]
    }

    /// DeleteJobQueue → {}.
    static func delete<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let reference = try request.requiredString("jobQueue")
        try await backend.deleteJobQueue(ARNBuilder.name(from: reference, kind: "job-queue"))
        return [:]
    }

    /// GetJobQueueSnapshot → {frontOfQueue, queueUtilization}: the first 100 RUNNABLE jobs in
    /// dispatch order, the vCPUs the queue's jobs hold, on a fair-share queue the active shares
    /// and the top 20 by vCPUs held (AWS's console shows 20), and on a quota queue each quota
    /// share's vCPUs and its first RUNNABLE job (frontOfQuotaShares).
    static func snapshot<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let reference = try request.requiredString("jobQueue")
        let snapshot = try await backend.jobQueueSnapshot(ARNBuilder.name(from: reference, kind: "job-queue"))
        let time = JSONValue.number(Double(snapshot.takenAt))
        var utilization: [String: JSONValue] = [
            "totalCapacityUsage": [["capacityUnit": "vCPU", "quantity": .number(snapshot.vcpusInUse)]],
            "lastUpdatedAt": time,
        ]
        if let fairshare = snapshot.fairshare {
            utilization["fairshareUtilization"] = [
                "activeShareCount": .number(Double(fairshare.activeShareCount)),
                "topCapacityUtilization": .array(fairshare.shares.prefix(20).map {
                    ["shareIdentifier": .string($0.shareIdentifier),
                     "capacityUsage": [["capacityUnit": "vCPU", "quantity": .number($0.vcpus)]]]
                }),
            ]
        }
        var answer: [String: JSONValue] = [:]
        if let quota = snapshot.quotaShares {
            utilization["quotaShareUtilization"] = [
                "topCapacityUtilization": .array(quota.usage.prefix(20).map {
                    ["quotaShareName": .string($0.name), "capacityUsage": [["capacityUnit": "VCPU", "quantity": .number($0.vcpus)]]]
                }),
            ]
            answer["frontOfQuotaShares"] = [
                "quotaShares": .object(quota.front.mapValues { first in
                    [["jobArn": .string(first.jobArn), "earliestTimeAtPosition": .number(Double(first.earliestTimeAtPosition))]]
                }),
                "lastUpdatedAt": time,
            ]
        }
        answer.merge([
            "frontOfQueue": [
                "jobs": .array(snapshot.front.map {
                    ["jobArn": .string($0.jobArn), "earliestTimeAtPosition": .number(Double($0.earliestTimeAtPosition))]
                }),
                "lastUpdatedAt": time,
            ],
            "queueUtilization": .object(utilization),
        ]) { first, _ in first }
        return .object(answer)
    }

    /// One JobStateTimeLimitAction: reason, state RUNNABLE, maxTimeSeconds 600 (AWS's minimum;
    /// the server's minimum_time_limit_seconds lowers it) to 86,400, action CANCEL or TERMINATE.
    static func validateTimeLimitAction(_ action: Members, limits: APILimits) throws(DocketError) {
        _ = try action.requiredString("reason")
        guard try action.enumeration("state", ["RUNNABLE"]) != nil else {
            throw .invalid(action.name("state"), "\(action.name("state")) is required; it must be RUNNABLE.")
        }
        _ = try action.requiredInteger("maxTimeSeconds", in: limits.minimumTimeLimitSeconds...86_400)
        guard try action.enumeration("action", ["CANCEL", "TERMINATE"]) != nil else {
            throw .invalid(action.name("action"), "\(action.name("action")) is required; it must be CANCEL or TERMINATE.")
        }
    }

    /// JobQueueDetail, with compute environments as ARNs (the backend stores names).
    static func encode(_ queue: JobQueue, arns: ARNBuilder) -> JSONValue {
        var members: [String: JSONValue] = [
            "jobQueueName": .string(queue.name),
            "jobQueueArn": .string(queue.arn),
            "state": .string(queue.state.rawValue),
            "status": .string(queue.status),
            "statusReason": .string(queue.statusReason),
            "priority": .number(Double(queue.priority)),
            "computeEnvironmentOrder": .array(queue.computeEnvironmentOrder.map {
                let name = ARNBuilder.name(from: $0.computeEnvironment, kind: "compute-environment")
                return ["order": .number(Double($0.order)), "computeEnvironment": .string(arns.computeEnvironment(name))]
            }),
            "tags": .object(queue.tags.mapValues(JSONValue.string)),
            "jobQueueType": "ECS",
        ]
        if let policy = queue.schedulingPolicyArn { members["schedulingPolicyArn"] = .string(policy) }
        if let actions = queue.jobStateTimeLimitActions { members["jobStateTimeLimitActions"] = actions }
        return .object(members)
    }
}
