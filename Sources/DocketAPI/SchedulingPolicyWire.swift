import DocketCore

/// The scheduling-policy operations on the wire: Create, Describe, List, Update, Delete.
enum SchedulingPolicyWire {
    /// CreateSchedulingPolicy → {name, arn}.
    static func create<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let name = try request.requiredString("name")
        try ResourceName.validate(name, field: "name")
        let (fairshare, quotaShare) = try decodePolicies(request)
        guard fairshare != nil || quotaShare != nil else {
            throw .invalid("fairsharePolicy", "a scheduling policy needs fairsharePolicy or quotaSharePolicy; give one of them.")
        }
        let created = try await backend.createSchedulingPolicy(
            SchedulingPolicy(name: name, arn: "", fairsharePolicy: fairshare, quotaSharePolicy: quotaShare,
                             tags: try request.tags(), createdAt: 0))
        return ["name": .string(created.name), "arn": .string(created.arn)]
    }

    /// DescribeSchedulingPolicies → {schedulingPolicies}: up to 100 ARNs; unknown ones are left out.
    static func describe<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        guard let arns = try request.strings("arns", maxCount: 100) else {
            throw .invalid("arns", "arns is required: a list of 1 to 100 scheduling policy ARNs.")
        }
        let wanted = Set(arns)
        let found = try await backend.schedulingPolicies().filter { wanted.contains($0.arn) }
        return ["schedulingPolicies": .array(found.map(encode))]
    }

    /// ListSchedulingPolicies → {schedulingPolicies: [{arn}], nextToken}.
    static func list<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let all = try await backend.schedulingPolicies().map { JSONValue.object(["arn": .string($0.arn)]) }
        return try PageToken.page(all, key: "schedulingPolicies", request: request)
    }

    /// UpdateSchedulingPolicy → {}.
    static func update<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let arn = try request.requiredString("arn")
        let (fairshare, quotaShare) = try decodePolicies(request)
        try await backend.updateSchedulingPolicy(arn: arn, fairsharePolicy: fairshare, quotaSharePolicy: quotaShare)
        return [:]
    }

    /// DeleteSchedulingPolicy → {}.
    static func delete<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        try await backend.deleteSchedulingPolicy(arn: try request.requiredString("arn"))
        return [:]
    }

    /// The fair-share or quota-share policy of a request, checked against AWS's ranges
    /// (reference §6.3, §6.5); both present is refused.
    static func decodePolicies(_ request: Members) throws(DocketError) -> (fairshare: JSONValue?, quotaShare: JSONValue?) {
        let fairshare = try request.object("fairsharePolicy")
        let quotaShare = try request.object("quotaSharePolicy")
        if fairshare != nil && quotaShare != nil {
            throw .invalid("quotaSharePolicy", "a scheduling policy holds either fairsharePolicy or quotaSharePolicy, not both; send one.")
        }
        if let fairshare {
            _ = try fairshare.integer("shareDecaySeconds", in: 0...604_800)
            _ = try fairshare.integer("computeReservation", in: 0...99)
            var seen: [String] = []
            // AWS allows 500 active share identifiers per queue; more entries could never all be used.
            for entry in try fairshare.objects("shareDistribution", maxCount: 500) ?? [] {
                let identifier = try entry.requiredString("shareIdentifier")
                guard !identifier.isEmpty, identifier.count <= 255 else {
                    throw .invalid(entry.name("shareIdentifier"), "\(entry.name("shareIdentifier")) must be 1 to 255 characters.")
                }
                if let weight = entry.values["weightFactor"], weight != .null {
                    guard case .number(let value) = weight, value >= 0.0001, value <= 999.9999 else {
                        throw .invalid(entry.name("weightFactor"), "\(entry.name("weightFactor")) must be a number from 0.0001 to 999.9999 (lower gets more compute).")
                    }
                }
                if let clash = seen.first(where: { overlaps($0, identifier) }) {
                    throw .invalid(entry.name("shareIdentifier"), "\(entry.name("shareIdentifier")) '\(identifier)' overlaps '\(clash)'; share identifiers and prefixes (ending in *) must be unique and must not overlap.")
                }
                seen.append(identifier)
            }
        }
        if let quotaShare {
            guard try quotaShare.enumeration("idleResourceAssignmentStrategy", ["FIFO"]) != nil else {
                throw .invalid(quotaShare.name("idleResourceAssignmentStrategy"), "\(quotaShare.name("idleResourceAssignmentStrategy")) is required; it must be FIFO.")
            }
        }
        return (fairshare.map { .object($0.values) }, quotaShare.map { .object($0.values) })
    }

    /// Whether two share identifiers (a trailing * makes a prefix) can match the same job.
    static func overlaps(_ first: String, _ second: String) -> Bool {
        func pattern(_ text: String) -> (String, isPrefix: Bool) {
            text.hasSuffix("*") ? (String(text.dropLast()), true) : (text, false)
        }
        let (a, aPrefix) = pattern(first)
        let (b, bPrefix) = pattern(second)
        switch (aPrefix, bPrefix) {
        case (false, false): return a == b
        case (true, false): return b.hasPrefix(a)
        case (false, true): return a.hasPrefix(b)
        case (true, true): return a.hasPrefix(b) || b.hasPrefix(a)
        }
    }

    /// SchedulingPolicyDetail.
    static func encode(_ policy: SchedulingPolicy) -> JSONValue {
        var members: [String: JSONValue] = ["name": .string(policy.name), "arn": .string(policy.arn),
                                            "tags": .object(policy.tags.mapValues(JSONValue.string))]
        if let fairshare = policy.fairsharePolicy { members["fairsharePolicy"] = fairshare }
        if let quotaShare = policy.quotaSharePolicy { members["quotaSharePolicy"] = quotaShare }
        return .object(members)
    }
}
