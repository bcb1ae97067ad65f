import DocketCore
import Foundation
import Hummingbird

/// One handler per AWS Batch operation: decode and validate the request, call the backend,
/// encode the answer. The table's keys are the lower-case operation names of the URIs.
struct BatchOperations<Backend: BatchBackend>: Sendable {
    typealias Handler = @Sendable (Members) async throws(DocketError) -> JSONValue
    let backend: Backend

    func handler(for operation: String) -> Handler? {
        let backend = self.backend
        switch operation {
        case "createcomputeenvironment":
            return { request throws(DocketError) in
                let created = try await backend.createComputeEnvironment(try ComputeEnvironmentWire.decodeCreate(request))
                return ["computeEnvironmentName": .string(created.name), "computeEnvironmentArn": .string(created.arn)]
            }
        case "describecomputeenvironments":
            return { request throws(DocketError) in
                let references = try request.strings("computeEnvironments") ?? []
                let found = try await backend.describeComputeEnvironments(references)
                return try Self.page(found.map(ComputeEnvironmentWire.encode), key: "computeEnvironments", request: request)
            }
        case "createjobqueue":
            return { request throws(DocketError) in
                let created = try await backend.createJobQueue(try JobQueueWire.decodeCreate(request))
                return ["jobQueueName": .string(created.name), "jobQueueArn": .string(created.arn)]
            }
        case "describejobqueues":
            return { request throws(DocketError) in
                let references = try request.strings("jobQueues") ?? []
                let found = try await backend.describeJobQueues(references)
                let arns = backend.arns
                return try Self.page(found.map { JobQueueWire.encode($0, arns: arns) }, key: "jobQueues", request: request)
            }
        case "registerjobdefinition":
            return { request throws(DocketError) in
                let registered = try await backend.registerJobDefinition(try JobDefinitionWire.decodeRegister(request))
                return ["jobDefinitionName": .string(registered.name), "jobDefinitionArn": .string(registered.arn),
                        "revision": .number(Double(registered.revision))]
            }
        case "describejobdefinitions":
            return { request throws(DocketError) in
                let status = try request.enumeration("status", ["ACTIVE", "INACTIVE"])
                let found = try await backend.describeJobDefinitions(references: try request.strings("jobDefinitions") ?? [],
                                                                     name: try request.string("jobDefinitionName"), status: status)
                return try Self.page(found.map(JobDefinitionWire.encode), key: "jobDefinitions", request: request)
            }
        case "submitjob":
            return { request throws(DocketError) in
                let job = try await backend.submitJob(try JobWire.decodeSubmit(request))
                return ["jobArn": .string(job.arn), "jobName": .string(job.name), "jobId": .string(job.id)]
            }
        case "describejobs":
            return { request throws(DocketError) in
                guard let references = try request.strings("jobs") else { throw .invalid("jobs", "jobs is required: a list of 1 to 100 job ids.") }
                guard references.count <= 100 else { throw .invalid("jobs", "jobs has \(references.count) ids; at most 100 are allowed.") }
                let arns = backend.arns
                return ["jobs": .array(try await backend.describeJobs(references).map { JobWire.encodeDetail($0, arns: arns) })]
            }
        case "listjobs":
            return { request throws(DocketError) in try await Self.listJobs(request, backend: backend) }
        case "canceljob":
            return { request throws(DocketError) in
                try await backend.cancelJob(try request.requiredString("jobId"), reason: try request.requiredString("reason"))
                return [:]
            }
        case "terminatejob":
            return { request throws(DocketError) in
                try await backend.terminateJob(try request.requiredString("jobId"), reason: try request.requiredString("reason"))
                return [:]
            }
        default:
            return nil
        }
    }

    /// maxResults/nextToken paging over an in-memory list (the Describe operations).
    static func page(_ items: [JSONValue], key: String, request: Members) throws(DocketError) -> JSONValue {
        let limit = Int(try request.integer("maxResults", in: 1...1000) ?? 100)
        var start = 0
        if let token = try request.string("nextToken") { start = Int(try PageToken.decode(token)) }
        let slice = Array(items.dropFirst(start).prefix(limit))
        var members: [String: JSONValue] = [key: .array(slice)]
        if start + slice.count < items.count { members["nextToken"] = .string(PageToken.encode(Int64(start + slice.count))) }
        return .object(members)
    }

    /// ListJobs: one queue, one status (RUNNING when neither status nor filters are given, as in
    /// AWS; any status when filters are given), filters, and paging in submission order.
    static func listJobs(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        if try request.string("arrayJobId") != nil || request.has("multiNodeJobId") {
            throw .invalid("arrayJobId", "arrayJobId and multiNodeJobId: array and multi-node jobs arrive in a later Docket release; list by jobQueue.")
        }
        let queue = try request.requiredString("jobQueue")
        let filters = try request.objects("filters") ?? []
        var status: JobStatus? = try request.enumeration("jobStatus", JobStatus.allCases.map(\.rawValue)).flatMap(JobStatus.init(rawValue:))
        if !filters.isEmpty { status = nil } else if status == nil { status = .running }
        var nameFilter: String?
        var createdBefore: Int64?
        var createdAfter: Int64?
        var definitionFilter: String?
        for filter in filters {
            let name = try filter.enumeration("name", ["JOB_NAME", "JOB_DEFINITION", "BEFORE_CREATED_AT", "AFTER_CREATED_AT"])
            let values = try filter.strings("values") ?? []
            guard let name, values.count == 1 else {
                throw .invalid(filter.path, "\(filter.path) needs a name (JOB_NAME, JOB_DEFINITION, BEFORE_CREATED_AT or AFTER_CREATED_AT) and exactly one value.")
            }
            switch name {
            case "JOB_NAME": nameFilter = values[0]
            case "JOB_DEFINITION": definitionFilter = values[0]
            default:
                guard let time = Int64(values[0]) else {
                    throw .invalid(filter.name("values"), "\(filter.name("values")): \(name) takes a time in epoch milliseconds, e.g. 1700000000000.")
                }
                if name == "BEFORE_CREATED_AT" { createdBefore = time } else { createdAfter = time }
            }
        }
        let limit = Int(try request.integer("maxResults", in: 1...1000) ?? 100)
        var after = try request.string("nextToken").map { token throws(DocketError) in try PageToken.decode(token) }
        var result: [Job] = []
        var exhausted = false
        while result.count < limit && !exhausted {
            let batch = try await backend.listJobs(queue: queue, status: status, nameFilter: nameFilter, afterSequence: after,
                                                   limit: limit)
            exhausted = batch.count < limit
            for job in batch where result.count < limit {
                after = job.sequence
                if let createdBefore, job.createdAt >= createdBefore { continue }
                if let createdAfter, job.createdAt <= createdAfter { continue }
                if let definitionFilter, !Self.matches(definition: definitionFilter, job: job) { continue }
                result.append(job)
            }
            if batch.isEmpty { exhausted = true }
        }
        var members: [String: JSONValue] = ["jobSummaryList": .array(result.map(JobWire.encodeSummary))]
        if !exhausted, let last = result.last { members["nextToken"] = .string(PageToken.encode(last.sequence)) }
        return .object(members)
    }

    private static func matches(definition filter: String, job: Job) -> Bool {
        if filter.hasPrefix("arn:") { return job.jobDefinitionArn == filter }
        let reference = filter.hasSuffix("*") ? String(filter.dropLast()) : filter
        let tail = ARNBuilder.name(from: job.jobDefinitionArn, kind: "job-definition")
        return filter.hasSuffix("*") ? tail.hasPrefix(reference) : (tail == reference || tail.hasPrefix(reference + ":"))
    }

    // MARK: Docket extensions

    func extensionGET(path: String, query: [String: String]) async throws -> JSONValue {
        let parts = path.split(separator: "/").map(String.init)  // ["docket", "v1", ...]
        switch Array(parts.dropFirst(2)) {
        case ["plugins"]:
            let summaries = await backend.plugins()
            let data = try JSONEncoder().encode(summaries)
            return ["plugins": try JSONDecoder().decode(JSONValue.self, from: data)]
        case ["server"]:
            return .object(await backend.serverInfo())
        case let route where route.count == 3 && route[0] == "jobs" && route[2] == "logs":
            func number(_ name: String) throws(DocketError) -> Int64? {
                guard let text = query[name] else { return nil }
                guard let value = Int64(text), value >= 0 else { throw .invalid(name, "\(name) must be a whole number, 0 or more.") }
                return value
            }
            let slice = try await backend.readLog(job: route[1], attempt: try number("attempt").map(Int.init),
                                                  offset: try number("offset") ?? 0, limit: Int(min(try number("limit") ?? 1 << 20, 8 << 20)))
            return ["attempt": .number(Double(slice.attempt)), "data": .string(String(decoding: slice.data, as: UTF8.self)),
                    "nextOffset": .number(Double(slice.nextOffset)), "complete": .bool(slice.isComplete)]
        default:
            throw APIFailure(status: .notFound, type: "ClientException", message: "Unknown path: GET \(path).")
        }
    }
}
