import DocketAPI
import DocketCore
import DocketStore
import Foundation

/// Scheduling policies, consumable resources, quota shares and tags. Each change is checked
/// and written under the catalog's lock, so two concurrent requests cannot both create the
/// same name, and the store is written before the catalog.
extension DocketService {
    private func conflict(_ what: String, field: String) -> DocketError {
        DocketError(.conflict, "Object already exists: \(what) exists; choose another \(field).", field: field)
    }

    // MARK: Scheduling policies

    func createSchedulingPolicy(_ policy: SchedulingPolicy) async throws(DocketError) -> SchedulingPolicy {
        var stored = policy
        stored.arn = arns.schedulingPolicy(policy.name)
        stored.createdAt = clock()
        let store = self.store
        return try catalog.withLock { catalog throws(DocketError) in
            guard catalog.policies[stored.name] == nil else { throw conflict("scheduling policy '\(stored.name)'", field: "name") }
            try store.save(stored, kind: .schedulingPolicy, name: stored.name)
            catalog.policies[stored.name] = stored
            return stored
        }
    }

    func schedulingPolicies() async throws(DocketError) -> [SchedulingPolicy] {
        catalog.withLock { $0.policies.values.sorted { $0.name < $1.name } }
    }

    private func policyName(_ arn: String, in catalog: Catalog) throws(DocketError) -> String {
        let name = ARNBuilder.name(from: arn, kind: "scheduling-policy")
        guard let policy = catalog.policies[name], policy.arn == arn else {
            throw DocketError(.notFound, "arn '\(arn)' names no scheduling policy; list them with list-scheduling-policies.", field: "arn")
        }
        return policy.name
    }

    func updateSchedulingPolicy(arn: String, fairsharePolicy: JSONValue?, quotaSharePolicy: JSONValue?) async throws(DocketError) {
        let store = self.store
        try catalog.withLock { catalog throws(DocketError) in
            var policy = catalog.policies[try policyName(arn, in: catalog)]!
            if fairsharePolicy != nil && policy.fairsharePolicy == nil || quotaSharePolicy != nil && policy.quotaSharePolicy == nil {
                let kind = policy.fairsharePolicy != nil ? "fair-share" : "quota-share"
                throw DocketError.invalid(fairsharePolicy != nil ? "fairsharePolicy" : "quotaSharePolicy", "scheduling policy '\(policy.name)' is a \(kind) policy, and a policy's kind cannot change; create a new policy of the other kind.")
            }
            if let fairsharePolicy { policy.fairsharePolicy = fairsharePolicy }
            if let quotaSharePolicy { policy.quotaSharePolicy = quotaSharePolicy }
            try store.save(policy, kind: .schedulingPolicy, name: policy.name)
            catalog.policies[policy.name] = policy
        }
        let stored = catalog.withLock { catalog in catalog.policies.values.first { $0.arn == arn || $0.name == arn } }
        if let stored { try await reapplySchedulingPolicy(arn: stored.arn) }
    }

    func deleteSchedulingPolicy(arn: String) async throws(DocketError) {
        let store = self.store
        try catalog.withLock { catalog throws(DocketError) in
            let name = try policyName(arn, in: catalog)
            let users = catalog.queues.values.filter { $0.schedulingPolicyArn == arn }.map(\.name).sorted()
            guard users.isEmpty else {
                throw DocketError.invalid("arn", "scheduling policy '\(name)' is used by job queue(s) \(users.joined(separator: ", ")); delete those queues first (a queue's policy can be replaced but not removed).")
            }
            try store.deleteResource(kind: .schedulingPolicy, name: name)
            catalog.policies[name] = nil
        }
    }

    // MARK: Consumable resources

    func createConsumableResource(_ resource: ConsumableResource) async throws(DocketError) -> ConsumableResource {
        var stored = resource
        stored.arn = arns.consumableResource(resource.name)
        stored.createdAt = clock()
        let store = self.store
        let created = try catalog.withLock { catalog throws(DocketError) in
            guard catalog.consumables[stored.name] == nil else {
                throw conflict("consumable resource '\(stored.name)'", field: "consumableResourceName")
            }
            try store.save(stored, kind: .consumableResource, name: stored.name)
            catalog.consumables[stored.name] = stored
            return stored
        }
        // Re-creating a deleted name makes it the same resource again (reference §6.4): jobs
        // waiting for it can run.
        try await scheduler.setConsumableResource(created)
        return created
    }

    /// The catalog knows which resources exist; the scheduler knows their quantities now.
    func consumableResources() async throws(DocketError) -> [ConsumableResource] {
        var result: [ConsumableResource] = []
        for resource in catalog.withLock({ $0.consumables.values.sorted { $0.name < $1.name } }) {
            result.append(await scheduler.consumableResource(named: resource.name) ?? resource)
        }
        return result
    }

    func consumableResource(_ reference: String) async throws(DocketError) -> ConsumableResource {
        let name = ARNBuilder.name(from: reference, kind: "consumable-resource")
        guard let resource = catalog.withLock({ $0.consumables[name] }) else {
            throw DocketError(.notFound, "consumableResource '\(reference)' does not exist; list them with list-consumable-resources.", field: "consumableResource")
        }
        return await scheduler.consumableResource(named: name) ?? resource
    }

    func updateConsumableResource(_ reference: String, operation: String, quantity: Int64, clientToken: String?)
        async throws(DocketError) -> ConsumableResource
    {
        let name = try await consumableResource(reference).name
        let now = clock()
        // A retried call with the same token answers as the first did, without applying twice.
        let earlier = catalog.withLock { catalog in
            catalog.consumableTokens = catalog.consumableTokens.filter { now - $0.value.at < 8 * 3_600_000 }
            return clientToken.flatMap { catalog.consumableTokens[$0]?.result }
        }
        if let earlier { return earlier }
        let updated = try await scheduler.adjustConsumableResource(named: name, operation: operation, quantity: quantity)
        catalog.withLock { catalog in
            catalog.consumables[name] = updated
            if let clientToken { catalog.consumableTokens[clientToken] = (now, updated) }
        }
        return updated
    }

    func deleteConsumableResource(_ reference: String) async throws(DocketError) {
        // Allowed while jobs use it (reference §6.4); re-creating the name makes it the same resource again.
        let name = try await consumableResource(reference).name
        let store = self.store
        try catalog.withLock { catalog throws(DocketError) in
            try store.deleteResource(kind: .consumableResource, name: name)
            catalog.consumables[name] = nil
        }
        await scheduler.removeConsumableResource(named: name)
    }

    func jobsUsing(consumableResource reference: String) async throws(DocketError) -> [Job] {
        try store.jobs(usingConsumableResource: ARNBuilder.name(from: reference, kind: "consumable-resource"),
                       afterSequence: nil, limit: 100_000)
    }

    /// Checks that every consumable resource a job definition or submission names exists.
    func checkConsumables(_ uses: [ConsumableResourceUse]?, field: String) throws(DocketError) {
        guard let uses else { return }
        let known = catalog.withLock { $0.consumables }
        for use in uses {
            guard let resource = known[use.resource] else {
                throw DocketError.invalid(field, "\(field) names consumable resource '\(use.resource)', which does not exist; create it with create-consumable-resource first.")
            }
            guard use.quantity <= resource.totalQuantity else {
                throw DocketError.invalid(field, "\(field) asks for \(use.quantity) of consumable resource '\(use.resource)', whose total is \(resource.totalQuantity); no job could ever get that much. Ask for at most \(resource.totalQuantity) or raise the total with update-consumable-resource.")
            }
        }
    }

    // MARK: Quota shares

    func createQuotaShare(_ share: QuotaShare) async throws(DocketError) -> QuotaShare {
        let queue = try queue(named: share.jobQueue)
        try await checkQuotaLimits(share.capacityLimits, queue: queue)
        var stored = share
        stored.jobQueue = queue.name
        stored.arn = arns.quotaShare(queue: queue.name, name: share.name)
        stored.createdAt = clock()
        let store = self.store
        let created = try catalog.withLock { catalog throws(DocketError) in
            let key = queue.name + "/" + share.name
            guard catalog.quotaShares[key] == nil else {
                throw conflict("quota share '\(share.name)' on job queue '\(queue.name)'", field: "quotaShareName")
            }
            let count = catalog.quotaShares.keys.count { $0.hasPrefix(queue.name + "/") }
            guard count < 20 else {
                throw DocketError.invalid("jobQueue", "job queue '\(queue.name)' already has 20 quota shares, AWS Batch's limit; delete one first.")
            }
            try store.save(stored, kind: .quotaShare, name: key)
            catalog.quotaShares[key] = stored
            return stored
        }
        try await reapplyQuotaShares(queue: queue.name)
        return created
    }

    func quotaShares(queue reference: String) async throws(DocketError) -> [QuotaShare] {
        let queue = try queue(named: ARNBuilder.name(from: reference, kind: "job-queue"))
        return catalog.withLock { $0.quotaShares.values.filter { $0.jobQueue == queue.name }.sorted { $0.name < $1.name } }
    }

    private func quotaShareKey(_ arn: String, in catalog: Catalog) throws(DocketError) -> String {
        guard let (kind, path) = arns.parse(arn), kind == "job-queue", let marker = path.range(of: "/quota-share/"),
              let share = catalog.quotaShares[path[..<marker.lowerBound] + "/" + path[marker.upperBound...]] else {
            throw DocketError(.notFound, "quotaShareArn '\(arn)' names no quota share; list them with list-quota-shares --job-queue QUEUE.", field: "quotaShareArn")
        }
        return share.jobQueue + "/" + share.name
    }

    func quotaShare(arn: String) async throws(DocketError) -> QuotaShare {
        try catalog.withLock { catalog throws(DocketError) in catalog.quotaShares[try quotaShareKey(arn, in: catalog)]! }
    }

    func updateQuotaShare(arn: String, _ change: QuotaShareChange) async throws(DocketError) -> QuotaShare {
        let store = self.store
        if let limits = change.capacityLimits {
            let current = try await quotaShare(arn: arn)
            try await checkQuotaLimits(limits, queue: try queue(named: current.jobQueue))
        }
        let updated = try catalog.withLock { catalog throws(DocketError) in
            let key = try quotaShareKey(arn, in: catalog)
            var share = catalog.quotaShares[key]!
            if let value = change.capacityLimits { share.capacityLimits = value }
            if let value = change.resourceSharingConfiguration { share.resourceSharingConfiguration = value }
            if let value = change.preemptionConfiguration { share.preemptionConfiguration = value }
            if let value = change.state { share.state = value }
            try store.save(share, kind: .quotaShare, name: key)
            catalog.quotaShares[key] = share
            return share
        }
        try await reapplyQuotaShares(queue: updated.jobQueue)
        return updated
    }

    func deleteQuotaShare(arn: String) async throws(DocketError) {
        let store = self.store
        let queue = try catalog.withLock { catalog throws(DocketError) in
            let key = try quotaShareKey(arn, in: catalog)
            guard catalog.quotaShares[key]!.state == .disabled else {
                throw DocketError.invalid("quotaShareArn", "quota share '\(catalog.quotaShares[key]!.name)' is ENABLED; disable it first with update-quota-share --state DISABLED, then delete it.")
            }
            let queue = catalog.quotaShares[key]!.jobQueue
            try store.deleteResource(kind: .quotaShare, name: key)
            catalog.quotaShares[key] = nil
            return queue
        }
        try await reapplyQuotaShares(queue: queue)
    }

    // MARK: Tags

    func tags(of arn: String) async throws(DocketError) -> [String: String] {
        try await retagged(arn, add: [:], remove: [])
    }

    func retag(_ arn: String, add: [String: String], remove: [String]) async throws(DocketError) {
        _ = try await retagged(arn, add: add, remove: remove)
    }

    /// Reads or changes the tags of one catalog entry under the catalog's lock: the store is
    /// written (by `save`) before the catalog.
    private func retag<Resource>(_ table: WritableKeyPath<Catalog, [String: Resource]>, _ key: String,
                                 _ tags: WritableKeyPath<Resource, [String: String]>, isChange: Bool, notFound: DocketError,
                                 _ change: (inout [String: String]) throws(DocketError) -> Void,
                                 save: (Resource) throws(DocketError) -> Void) throws(DocketError) -> [String: String] {
        try catalog.withLock { catalog throws(DocketError) in
            guard var resource = catalog[keyPath: table][key] else { throw notFound }
            guard isChange else { return resource[keyPath: tags] }
            try change(&resource[keyPath: tags])
            try save(resource)
            catalog[keyPath: table][key] = resource
            return resource[keyPath: tags]
        }
    }

    /// Applies a tag change to the resource an ARN names and returns its tags. With nothing to
    /// change it only reads. The 50-tag limit counts the result.
    private func retagged(_ arn: String, add: [String: String], remove: [String]) async throws(DocketError) -> [String: String] {
        let isChange = !add.isEmpty || !remove.isEmpty
        let change: @Sendable (inout [String: String]) throws(DocketError) -> Void = { tags throws(DocketError) in
            for (key, value) in add { tags[key] = value }
            for key in remove { tags[key] = nil }
            guard tags.count <= 50 else {
                throw DocketError.invalid("tags", "the resource would have \(tags.count) tags; AWS Batch allows at most 50. Remove some first.")
            }
        }
        guard let (kind, name) = arns.parse(arn) else {
            throw DocketError.invalid("resourceArn", "resourceArn '\(arn)' is not an ARN of this server (arn:aws:batch:\(arns.region):\(arns.accountID):KIND/NAME).")
        }
        let notFound = DocketError(.notFound, "resourceArn '\(arn)' names no resource on this server.", field: "resourceArn")
        let store = self.store
        switch kind {
        case "job":
            guard !name.contains(":") else {
                throw DocketError.invalid("resourceArn", "resourceArn '\(arn)' is an array child; tag the parent array job instead.")
            }
            if !isChange {
                guard let job = try store.jobs(ids: [name]).first else { throw notFound }
                return job.tags
            }
            guard let job = try await scheduler.retag(jobID: name, change) else { throw notFound }
            return job.tags
        case "compute-environment":
            return try retag(\.environments, name, \.tags, isChange: isChange, notFound: notFound, change) { resource throws(DocketError) in try store.save(resource) }
        case "job-queue" where name.contains("/quota-share/"):
            let key = try catalog.withLock { catalog throws(DocketError) in try quotaShareKey(arn, in: catalog) }
            return try retag(\.quotaShares, key, \.tags, isChange: isChange, notFound: notFound, change) { resource throws(DocketError) in
                try store.save(resource, kind: .quotaShare, name: key)
            }
        case "job-queue":
            return try retag(\.queues, name, \.tags, isChange: isChange, notFound: notFound, change) { resource throws(DocketError) in try store.save(resource) }
        case "job-definition":
            let reference = try JobDefinitionReference(parsing: arn, field: "resourceArn")
            return try catalog.withLock { catalog throws(DocketError) in
                guard let revision = reference.revision,
                      let index = catalog.definitions[reference.name]?.firstIndex(where: { $0.revision == revision }) else { throw notFound }
                var definition = catalog.definitions[reference.name]![index]
                guard isChange else { return definition.tags }
                try change(&definition.tags)
                try store.update(definition)
                catalog.definitions[reference.name]![index] = definition
                return definition.tags
            }
        case "scheduling-policy":
            return try retag(\.policies, name, \.tags, isChange: isChange, notFound: notFound, change) { resource throws(DocketError) in
                try store.save(resource, kind: .schedulingPolicy, name: name)
            }
        case "consumable-resource":
            return try retag(\.consumables, name, \.tags, isChange: isChange, notFound: notFound, change) { resource throws(DocketError) in
                try store.save(resource, kind: .consumableResource, name: name)
            }
        default:
            throw DocketError.invalid("resourceArn", "resourceArn '\(arn)': '\(kind)' resources have no tags; tag compute environments, job queues, job definitions, jobs, scheduling policies, consumable resources or quota shares.")
        }
    }
}
