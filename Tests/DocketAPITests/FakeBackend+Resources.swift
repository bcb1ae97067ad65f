@testable import DocketAPI
import DocketCore

/// The fake's answers for the operations beyond jobs, queues, compute environments and
/// definitions: it keeps what was created in plain arrays and records the changes asked for.
extension FakeBackend {
    func updateComputeEnvironment(_ reference: String, _ change: ComputeEnvironmentChange) async throws(DocketError) -> ComputeEnvironment {
        if let failure { throw failure }
        guard let index = environments.firstIndex(where: { $0.name == reference }) else { throw missing(reference) }
        if let state = change.state { environments[index].state = state }
        if let maximum = change.maxVCPUMillis { environments[index].maxVCPUMillis = maximum }
        return environments[index]
    }

    func deleteComputeEnvironment(_ reference: String) async throws(DocketError) {
        if let failure { throw failure }
        environments.removeAll { $0.name == reference }
    }

    func updateJobQueue(_ reference: String, _ change: JobQueueChange) async throws(DocketError) -> JobQueue {
        if let failure { throw failure }
        guard let index = queues.firstIndex(where: { $0.name == reference }) else { throw missing(reference) }
        if let priority = change.priority { queues[index].priority = priority }
        if let state = change.state { queues[index].state = state }
        if let order = change.computeEnvironmentOrder { queues[index].computeEnvironmentOrder = order }
        return queues[index]
    }

    func deleteJobQueue(_ reference: String) async throws(DocketError) {
        if let failure { throw failure }
        queues.removeAll { $0.name == reference }
    }

    func jobQueueSnapshot(_ reference: String) async throws(DocketError) -> JobQueueSnapshot {
        if let failure { throw failure }
        return JobQueueSnapshot(front: jobs.filter { $0.queue == reference && $0.status == .runnable }.map { ($0.arn, $0.createdAt) },
                                vcpusInUse: 0, takenAt: 1_700_000_000_000)
    }

    func deregisterJobDefinition(_ reference: String) async throws(DocketError) {
        if let failure { throw failure }
        let parsed = try JobDefinitionReference(parsing: reference)
        guard let index = definitions.firstIndex(where: { $0.name == parsed.name && $0.revision == parsed.revision }) else {
            throw missing(reference)
        }
        definitions[index].status = "INACTIVE"
    }

    func createSchedulingPolicy(_ policy: SchedulingPolicy) async throws(DocketError) -> SchedulingPolicy {
        if let failure { throw failure }
        var stored = policy
        stored.arn = arns.schedulingPolicy(policy.name)
        policies.append(stored)
        return stored
    }

    func schedulingPolicies() async throws(DocketError) -> [SchedulingPolicy] { policies }

    func updateSchedulingPolicy(arn: String, fairsharePolicy: JSONValue?, quotaSharePolicy: JSONValue?) async throws(DocketError) {
        guard let index = policies.firstIndex(where: { $0.arn == arn }) else { throw missing(arn) }
        if let fairsharePolicy { policies[index].fairsharePolicy = fairsharePolicy }
        if let quotaSharePolicy { policies[index].quotaSharePolicy = quotaSharePolicy }
    }

    func deleteSchedulingPolicy(arn: String) async throws(DocketError) { policies.removeAll { $0.arn == arn } }

    func createConsumableResource(_ resource: ConsumableResource) async throws(DocketError) -> ConsumableResource {
        var stored = resource
        stored.arn = arns.consumableResource(resource.name)
        consumables.append(stored)
        return stored
    }

    func consumableResources() async throws(DocketError) -> [ConsumableResource] { consumables }

    func consumableResource(_ reference: String) async throws(DocketError) -> ConsumableResource {
        guard let resource = consumables.first(where: { $0.name == reference }) else { throw missing(reference) }
        return resource
    }

    func updateConsumableResource(_ reference: String, operation: String, quantity: Int64, clientToken: String?)
        async throws(DocketError) -> ConsumableResource
    {
        guard let index = consumables.firstIndex(where: { $0.name == reference }) else { throw missing(reference) }
        consumableUpdates.append((reference, operation, quantity))
        consumables[index].totalQuantity = quantity
        return consumables[index]
    }

    func deleteConsumableResource(_ reference: String) async throws(DocketError) { consumables.removeAll { $0.name == reference } }

    func jobsUsing(consumableResource reference: String) async throws(DocketError) -> [Job] {
        jobs.filter { $0.consumableResources?.contains { $0.resource == reference } == true }
    }

    func createQuotaShare(_ share: QuotaShare) async throws(DocketError) -> QuotaShare {
        var stored = share
        stored.arn = arns.quotaShare(queue: share.jobQueue, name: share.name)
        quotaShares.append(stored)
        return stored
    }

    func quotaShares(queue reference: String) async throws(DocketError) -> [QuotaShare] {
        quotaShares.filter { $0.jobQueue == ARNBuilder.name(from: reference, kind: "job-queue") }
    }

    func quotaShare(arn: String) async throws(DocketError) -> QuotaShare {
        guard let share = quotaShares.first(where: { $0.arn == arn }) else { throw missing(arn) }
        return share
    }

    func updateQuotaShare(arn: String, _ change: QuotaShareChange) async throws(DocketError) -> QuotaShare {
        guard let index = quotaShares.firstIndex(where: { $0.arn == arn }) else { throw missing(arn) }
        if let state = change.state { quotaShares[index].state = state }
        return quotaShares[index]
    }

    func deleteQuotaShare(arn: String) async throws(DocketError) { quotaShares.removeAll { $0.arn == arn } }

    func tags(of arn: String) async throws(DocketError) -> [String: String] { tagsByArn[arn] ?? [:] }

    func retag(_ arn: String, add: [String: String], remove: [String]) async throws(DocketError) {
        var tags = tagsByArn[arn] ?? [:]
        for (key, value) in add { tags[key] = value }
        for key in remove { tags[key] = nil }
        tagsByArn[arn] = tags
    }

    func arrayStatusSummary(_ parentID: String) async throws(DocketError) -> [JobStatus: Int] {
        Dictionary(jobs.filter { $0.arrayParentID == parentID }.map { ($0.status, 1) }, uniquingKeysWith: +)
    }

    func listArrayChildren(_ parentID: String, status: JobStatus?, afterSequence: Int64?, limit: Int) async throws(DocketError) -> [Job] {
        Array(jobs.filter { $0.arrayParentID == parentID && (status == nil || $0.status == status) && $0.sequence > (afterSequence ?? -1) }
            .prefix(limit))
    }

    func jobEvents(after cursor: Int64, limit: Int) async throws(DocketError) -> [JobEvent] {
        Array(events.filter { $0.cursor > cursor }.prefix(limit))
    }

    private func missing(_ reference: String) -> DocketError {
        DocketError(.notFound, "'\(reference)' does not exist.")
    }
}
