import DocketCore

/// The quota-share operations on the wire: Create, Describe, List, Update, Delete.
enum QuotaShareWire {
    /// CreateQuotaShare → {quotaShareName, quotaShareArn}.
    static func create<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let name = try request.requiredString("quotaShareName")
        try ResourceName.validate(name, field: "quotaShareName")
        let queue = try request.requiredString("jobQueue")
        guard let limits = try decodeCapacityLimits(request) else {
            throw .invalid("capacityLimits", "capacityLimits is required: 1 to 5 entries of {capacityUnit, maxCapacity}.")
        }
        guard let sharing = try decodeSharing(request) else {
            throw .invalid("resourceSharingConfiguration", "resourceSharingConfiguration is required: {strategy: RESERVE | LEND | LEND_AND_BORROW}.")
        }
        guard let preemption = try decodePreemption(request) else {
            throw .invalid("preemptionConfiguration", "preemptionConfiguration is required: {inSharePreemption: ENABLED | DISABLED}.")
        }
        let state = try request.enumeration("state", ["ENABLED", "DISABLED"]).flatMap(ResourceState.init(rawValue:)) ?? .enabled
        let created = try await backend.createQuotaShare(
            QuotaShare(name: name, arn: "", jobQueue: ARNBuilder.name(from: queue, kind: "job-queue"), capacityLimits: limits,
                       resourceSharingConfiguration: sharing, preemptionConfiguration: preemption, state: state,
                       tags: try request.tags(), createdAt: 0))
        return ["quotaShareName": .string(created.name), "quotaShareArn": .string(created.arn)]
    }

    /// DescribeQuotaShare → the QuotaShareDetail members, with tags.
    static func describe<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let share = try await backend.quotaShare(arn: try request.requiredString("quotaShareArn"))
        return encode(share, arns: backend.arns, withTags: true)
    }

    /// ListQuotaShares → {quotaShares, nextToken} for one job queue.
    static func list<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let shares = try await backend.quotaShares(queue: try request.requiredString("jobQueue"))
        let arns = backend.arns
        return try PageToken.page(shares.map { encode($0, arns: arns, withTags: false) }, key: "quotaShares", request: request)
    }

    /// UpdateQuotaShare → {quotaShareName, quotaShareArn}.
    static func update<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        var change = QuotaShareChange()
        change.capacityLimits = try decodeCapacityLimits(request)
        change.resourceSharingConfiguration = try decodeSharing(request)
        change.preemptionConfiguration = try decodePreemption(request)
        change.state = try request.enumeration("state", ["ENABLED", "DISABLED"]).flatMap(ResourceState.init(rawValue:))
        let updated = try await backend.updateQuotaShare(arn: try request.requiredString("quotaShareArn"), change)
        return ["quotaShareName": .string(updated.name), "quotaShareArn": .string(updated.arn)]
    }

    /// DeleteQuotaShare → {}.
    static func delete<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        try await backend.deleteQuotaShare(arn: try request.requiredString("quotaShareArn"))
        return [:]
    }

    /// capacityLimits: 1 to 5 {capacityUnit, maxCapacity ≥ 1}, each unit once.
    static func decodeCapacityLimits(_ request: Members) throws(DocketError) -> JSONValue? {
        guard let limits = try request.objects("capacityLimits", maxCount: 5) else { return nil }
        guard !limits.isEmpty else {
            throw .invalid("capacityLimits", "capacityLimits is empty; give 1 to 5 entries of {capacityUnit, maxCapacity}.")
        }
        var units: Set<String> = []
        for limit in limits {
            let unit = try limit.requiredString("capacityUnit")
            guard !unit.isEmpty else { throw .invalid(limit.name("capacityUnit"), "\(limit.name("capacityUnit")) is empty; name the unit, e.g. VCPU or ml.m5.large.") }
            _ = try limit.requiredInteger("maxCapacity", in: 1...Int64(Int32.max))
            guard units.insert(unit).inserted else {
                throw .invalid(limit.name("capacityUnit"), "\(limit.name("capacityUnit")) '\(unit)' is listed twice; give each capacity unit once.")
            }
        }
        return request.values["capacityLimits"]
    }

    /// resourceSharingConfiguration: borrowLimit only with LEND_AND_BORROW, -1 (unlimited) or 0 and up.
    static func decodeSharing(_ request: Members) throws(DocketError) -> JSONValue? {
        guard let sharing = try request.object("resourceSharingConfiguration") else { return nil }
        guard let strategy = try sharing.enumeration("strategy", ["RESERVE", "LEND", "LEND_AND_BORROW"]) else {
            throw .invalid(sharing.name("strategy"), "\(sharing.name("strategy")) is required; it must be RESERVE, LEND or LEND_AND_BORROW.")
        }
        if let limit = try sharing.integer("borrowLimit", in: -1...Int64(Int32.max)), strategy != "LEND_AND_BORROW", limit != -1 {
            throw .invalid(sharing.name("borrowLimit"), "\(sharing.name("borrowLimit")) applies only to the LEND_AND_BORROW strategy; drop it or change the strategy.")
        }
        return .object(sharing.values)
    }

    static func decodePreemption(_ request: Members) throws(DocketError) -> JSONValue? {
        guard let preemption = try request.object("preemptionConfiguration") else { return nil }
        guard try preemption.enumeration("inSharePreemption", ["ENABLED", "DISABLED"]) != nil else {
            throw .invalid(preemption.name("inSharePreemption"), "\(preemption.name("inSharePreemption")) is required; it must be ENABLED or DISABLED.")
        }
        return .object(preemption.values)
    }

    /// QuotaShareDetail (DescribeQuotaShare adds tags).
    static func encode(_ share: QuotaShare, arns: ARNBuilder, withTags: Bool) -> JSONValue {
        var members: [String: JSONValue] = [
            "quotaShareName": .string(share.name), "quotaShareArn": .string(share.arn),
            "jobQueueArn": .string(arns.jobQueue(share.jobQueue)), "capacityLimits": share.capacityLimits,
            "resourceSharingConfiguration": share.resourceSharingConfiguration,
            "preemptionConfiguration": share.preemptionConfiguration,
            "state": .string(share.state.rawValue), "status": .string(share.status),
        ]
        if withTags { members["tags"] = .object(share.tags.mapValues(JSONValue.string)) }
        return .object(members)
    }
}
