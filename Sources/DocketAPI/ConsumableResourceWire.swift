import DocketCore

/// The consumable-resource operations on the wire: Create, Describe, List, Update, Delete and
/// ListJobsByConsumableResource.
enum ConsumableResourceWire {
    static let resourceTypes = ["REPLENISHABLE", "NON_REPLENISHABLE"]

    /// CreateConsumableResource → {consumableResourceName, consumableResourceArn}.
    static func create<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let name = try request.requiredString("consumableResourceName")
        try ResourceName.validate(name, field: "consumableResourceName")
        let created = try await backend.createConsumableResource(
            ConsumableResource(name: name, arn: "",
                               resourceType: try request.enumeration("resourceType", resourceTypes) ?? "REPLENISHABLE",
                               totalQuantity: try request.integer("totalQuantity", in: 0...Int64.max / 2) ?? 0,
                               tags: try request.tags(), createdAt: 0))
        return ["consumableResourceName": .string(created.name), "consumableResourceArn": .string(created.arn)]
    }

    /// DescribeConsumableResource → the resource with its quantities, type, createdAt and tags.
    static func describe<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let resource = try await backend.consumableResource(try reference(request))
        var members = summary(resource)
        members["availableQuantity"] = .number(Double(resource.availableQuantity))
        members["createdAt"] = .number(Double(resource.createdAt))
        members["tags"] = .object(resource.tags.mapValues(JSONValue.string))
        return .object(members)
    }

    /// ListConsumableResources → {consumableResources, nextToken}; filter CONSUMABLE_RESOURCE_NAME
    /// matches names case-insensitively, a trailing * as a prefix.
    static func list<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        var patterns: [String] = []
        for filter in try request.objects("filters") ?? [] {
            guard try filter.enumeration("name", ["CONSUMABLE_RESOURCE_NAME"]) != nil else {
                throw .invalid(filter.name("name"), "\(filter.name("name")) is required; it must be CONSUMABLE_RESOURCE_NAME.")
            }
            patterns += try filter.strings("values") ?? []
        }
        let found = try await backend.consumableResources().filter { resource in
            patterns.isEmpty || patterns.contains { NamePattern.matches($0, resource.name) }
        }
        return try PageToken.page(found.map { .object(summary($0)) }, key: "consumableResources", request: request)
    }

    /// UpdateConsumableResource → {consumableResourceName, consumableResourceArn, totalQuantity}.
    static func update<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let operation = try request.enumeration("operation", ["SET", "ADD", "REMOVE"]) ?? "SET"
        guard let quantity = try request.integer("quantity", in: 0...Int64.max / 2) else {
            throw .invalid("quantity", "quantity is required: the amount to SET the total to, or to ADD or REMOVE.")
        }
        let token = try request.string("clientToken")
        let updated = try await backend.updateConsumableResource(try reference(request), operation: operation, quantity: quantity,
                                                                 clientToken: token)
        return ["consumableResourceName": .string(updated.name), "consumableResourceArn": .string(updated.arn),
                "totalQuantity": .number(Double(updated.totalQuantity))]
    }

    /// DeleteConsumableResource → {}.
    static func delete<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        try await backend.deleteConsumableResource(try reference(request))
        return [:]
    }

    /// ListJobsByConsumableResource → {jobs, nextToken}; filters JOB_STATUS and JOB_NAME (trailing * = prefix).
    static func listJobs<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let name = try reference(request)
        var statuses: Set<String> = []
        var namePatterns: [String] = []
        for filter in try request.objects("filters") ?? [] {
            let values = try filter.strings("values") ?? []
            switch try filter.enumeration("name", ["JOB_STATUS", "JOB_NAME"]) {
            case "JOB_STATUS":
                for value in values where JobStatus(rawValue: value) == nil {
                    throw .invalid(filter.name("values"), "\(filter.name("values")): '\(value)' is not a job status; use one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", ")).")
                }
                statuses.formUnion(values)
            case "JOB_NAME": namePatterns += values
            default:
                throw .invalid(filter.name("name"), "\(filter.name("name")) is required; it must be JOB_STATUS or JOB_NAME.")
            }
        }
        let resource = try await backend.consumableResource(name)
        let arns = backend.arns
        let jobs = try await backend.jobsUsing(consumableResource: resource.name).filter { job in
            (statuses.isEmpty || statuses.contains(job.status.rawValue))
                && (namePatterns.isEmpty || namePatterns.contains { NamePattern.matches($0, job.name) })
        }
        let summaries = jobs.map { job -> JSONValue in
            let quantity = job.consumableResources?.first { $0.resource == resource.name }?.quantity ?? 0
            var members: [String: JSONValue] = [
                "jobArn": .string(job.arn), "jobQueueArn": .string(arns.jobQueue(job.queue)), "jobName": .string(job.name),
                "jobDefinitionArn": .string(job.jobDefinitionArn), "jobStatus": .string(job.status.rawValue),
                "quantity": .number(Double(quantity)), "createdAt": .number(Double(job.createdAt)),
                "consumableResourceProperties": encodeProperties(job.consumableResources ?? [], arns: arns),
            ]
            if let share = job.shareIdentifier { members["shareIdentifier"] = .string(share) }
            if let reason = job.statusReason { members["statusReason"] = .string(reason) }
            if let time = job.startedAt { members["startedAt"] = .number(Double(time)) }
            return .object(members)
        }
        return try PageToken.page(summaries, key: "jobs", request: request)
    }

    static func reference(_ request: Members) throws(DocketError) -> String {
        let reference = try request.requiredString("consumableResource")
        guard !reference.isEmpty else {
            throw .invalid("consumableResource", "consumableResource is empty; give the consumable resource's name or ARN.")
        }
        return ARNBuilder.name(from: reference, kind: "consumable-resource")
    }

    /// consumableResourceProperties (job definitions) or consumableResourcePropertiesOverride
    /// (SubmitJob): {consumableResourceList: [{consumableResource, quantity}]}, at most 5 entries.
    static func decodeProperties(_ properties: Members?) throws(DocketError) -> [ConsumableResourceUse]? {
        guard let properties else { return nil }
        var uses: [ConsumableResourceUse] = []
        for entry in try properties.objects("consumableResourceList", maxCount: 5) ?? [] {
            let reference = try entry.requiredString("consumableResource")
            let name = ARNBuilder.name(from: reference, kind: "consumable-resource")
            try ResourceName.validate(name, field: entry.name("consumableResource"))
            guard let quantity = try entry.integer("quantity", in: 1...Int64.max / 2) else {
                throw .invalid(entry.name("quantity"), "\(entry.name("quantity")) is required: how much of '\(name)' one job needs (1 or more).")
            }
            if uses.contains(where: { $0.resource == name }) {
                throw .invalid(entry.name("consumableResource"), "\(entry.name("consumableResource")) '\(name)' is listed twice; list each resource once.")
            }
            uses.append(ConsumableResourceUse(resource: name, quantity: quantity))
        }
        return uses
    }

    static func encodeProperties(_ uses: [ConsumableResourceUse], arns: ARNBuilder) -> JSONValue {
        ["consumableResourceList": .array(uses.map {
            ["consumableResource": .string(arns.consumableResource($0.resource)), "quantity": .number(Double($0.quantity))]
        })]
    }

    /// ConsumableResourceSummary.
    static func summary(_ resource: ConsumableResource) -> [String: JSONValue] {
        ["consumableResourceName": .string(resource.name), "consumableResourceArn": .string(resource.arn),
         "totalQuantity": .number(Double(resource.totalQuantity)), "inUseQuantity": .number(Double(resource.inUseQuantity)),
         "resourceType": .string(resource.resourceType)]
    }
}

/// AWS's name filters: case-insensitive, a trailing * makes the rest a prefix.
enum NamePattern {
    static func matches(_ pattern: String, _ name: String) -> Bool {
        let name = name.lowercased()
        if pattern.hasSuffix("*") { return name.hasPrefix(pattern.dropLast().lowercased()) }
        return name == pattern.lowercased()
    }
}
