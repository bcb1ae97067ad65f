import DocketCore

/// CreateJobQueue and DescribeJobQueues on the wire.
enum JobQueueWire {
    static func decodeCreate(_ request: Members) throws(DocketError) -> JobQueue {
        let name = try request.requiredString("jobQueueName")
        try ResourceName.validate(name, field: "jobQueueName")
        let priority = try request.requiredInteger("priority", in: 0...Int64(Int32.max))
        let state = try request.enumeration("state", ["ENABLED", "DISABLED"]).flatMap(ResourceState.init(rawValue:)) ?? .enabled
        guard let entries = try request.objects("computeEnvironmentOrder", maxCount: 3), !entries.isEmpty else {
            throw .invalid("computeEnvironmentOrder", "computeEnvironmentOrder is required: 1 to 3 entries of {order, computeEnvironment}.")
        }
        var order: [ComputeEnvironmentOrder] = []
        for entry in entries {
            order.append(ComputeEnvironmentOrder(order: Int(try entry.requiredInteger("order", in: 0...Int64(Int32.max))),
                                                 computeEnvironment: try entry.requiredString("computeEnvironment")))
        }
        if let policy = try request.string("schedulingPolicyArn") {
            throw .invalid("schedulingPolicyArn", "schedulingPolicyArn '\(policy)': scheduling policies arrive in a later Docket release; create the queue without one (FIFO).")
        }
        if let actions = try request.objects("jobStateTimeLimitActions") {
            for action in actions {
                _ = try action.requiredString("reason")
                guard try action.enumeration("state", ["RUNNABLE"]) != nil else {
                    throw .invalid(action.name("state"), "\(action.name("state")) is required; it must be RUNNABLE.")
                }
                _ = try action.requiredInteger("maxTimeSeconds", in: 600...86_400)
                guard try action.enumeration("action", ["CANCEL", "TERMINATE"]) != nil else {
                    throw .invalid(action.name("action"), "\(action.name("action")) is required; it must be CANCEL or TERMINATE.")
                }
            }
        }
        return JobQueue(name: name, arn: "", state: state, priority: Int(priority), computeEnvironmentOrder: order,
                        jobStateTimeLimitActions: request.values["jobStateTimeLimitActions"], tags: try request.tags(), createdAt: 0)
    }

    static func encode(_ queue: JobQueue, arns: ARNBuilder) -> JSONValue {
        var members: [String: JSONValue] = [
            "jobQueueName": .string(queue.name),
            "jobQueueArn": .string(queue.arn),
            "state": .string(queue.state.rawValue),
            "status": .string(queue.status),
            "statusReason": .string(queue.statusReason),
            "priority": .number(Double(queue.priority)),
            "computeEnvironmentOrder": .array(queue.computeEnvironmentOrder.map {
                ["order": .number(Double($0.order)), "computeEnvironment": .string(arns.computeEnvironment($0.computeEnvironment))]
            }),
            "tags": .object(queue.tags.mapValues(JSONValue.string)),
            "jobQueueType": "ECS",
        ]
        if let policy = queue.schedulingPolicyArn { members["schedulingPolicyArn"] = .string(policy) }
        if let actions = queue.jobStateTimeLimitActions { members["jobStateTimeLimitActions"] = actions }
        return .object(members)
    }
}
