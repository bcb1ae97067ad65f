import DocketCore

/// A decoded ListJobs request: one queue, a status or one filter, and a page.
///
/// AWS's rules (botocore's model documentation): without filters only jobs in `jobStatus`
/// are listed, RUNNING when it is omitted; with a filter, jobStatus is ignored except beside
/// SHARE_IDENTIFIER; only one filter at a time; JOB_NAME matches case-insensitively, and a
/// trailing `*` makes it a prefix.
struct ListJobsQuery: Sendable, Equatable {
    enum Filter: Sendable, Equatable {
        case jobName(String)
        case jobDefinition(String)
        case createdBefore(Int64)
        case createdAfter(Int64)
        case shareIdentifier(String)
    }

    /// The job queue, or (with `arrayJobId`) nil.
    var queue: String?
    /// ListJobs by arrayJobId: the array's children.
    var arrayJobID: String?
    var status: JobStatus?
    var filter: Filter?
    var limit: Int
    var afterSequence: Int64?

    /// ListJobs → {jobSummaryList, nextToken}.
    static func list<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        try await decode(request).run(backend: backend)
    }

    /// - Throws: `.invalidRequest` naming the member: arrayJobId and multiNodeJobId (not yet
    ///   supported), a missing jobQueue, more than one filter, a malformed filter or nextToken.
    static func decode(_ request: Members) throws(DocketError) -> ListJobsQuery {
        if try request.string("multiNodeJobId") != nil {
            throw .invalid("multiNodeJobId", "multiNodeJobId: Docket does not run multi-node parallel jobs yet; list by jobQueue.")
        }
        let arrayJobID = try request.string("arrayJobId").flatMap { $0.isEmpty ? nil : ARNBuilder.name(from: $0, kind: "job") }
        let queue = try request.string("jobQueue").flatMap { $0.isEmpty ? nil : $0 }
        guard (queue == nil) != (arrayJobID == nil) else {
            throw .invalid(queue == nil ? "jobQueue" : "arrayJobId", "give exactly one of jobQueue (the queue's jobs) and arrayJobId (an array job's children).")
        }
        if let arrayJobID {
            if request.has("filters") {
                throw .invalid("filters", "filters do not apply to an array's children (AWS's rule); list by jobStatus, or list the queue with filters.")
            }
            let status = try request.enumeration("jobStatus", JobStatus.allCases.map(\.rawValue)).flatMap(JobStatus.init(rawValue:)) ?? .running
            return ListJobsQuery(queue: nil, arrayJobID: arrayJobID, status: status, filter: nil,
                                 limit: Int(try request.integer("maxResults", in: 1...1000) ?? 100),
                                 afterSequence: try request.string("nextToken").map { token throws(DocketError) in try PageToken.decode(token) })
        }
        let requestedStatus = try request.enumeration("jobStatus", JobStatus.allCases.map(\.rawValue)).flatMap(JobStatus.init(rawValue:))
        let filters = try request.objects("filters") ?? []
        guard filters.count <= 1 else {
            throw .invalid("filters", "filters has \(filters.count) entries; ListJobs takes one filter at a time.")
        }
        let filter = try filters.first.map { entry throws(DocketError) in try decodeFilter(entry) }
        let status: JobStatus? = switch filter {
        case nil: requestedStatus ?? .running
        case .shareIdentifier?: requestedStatus
        default: nil
        }
        return ListJobsQuery(queue: queue, status: status, filter: filter,
                             limit: Int(try request.integer("maxResults", in: 1...1000) ?? 100),
                             afterSequence: try request.string("nextToken").map { token throws(DocketError) in try PageToken.decode(token) })
    }

    static func decodeFilter(_ entry: Members) throws(DocketError) -> Filter {
        let names = ["JOB_NAME", "JOB_DEFINITION", "BEFORE_CREATED_AT", "AFTER_CREATED_AT", "SHARE_IDENTIFIER"]
        guard let name = try entry.enumeration("name", names) else {
            throw .invalid(entry.name("name"), "\(entry.name("name")) is required; it must be one of \(names.joined(separator: ", ")).")
        }
        guard let values = try entry.strings("values"), values.count == 1, let value = values.first, !value.isEmpty else {
            throw .invalid(entry.name("values"), "\(entry.name("values")) must hold exactly one non-empty value for \(name).")
        }
        switch name {
        case "JOB_NAME": return .jobName(value)
        case "JOB_DEFINITION":
            if value.hasPrefix("arn:"), value.hasSuffix("*") {
                throw .invalid(entry.name("values"), "\(entry.name("values")): a JOB_DEFINITION ARN cannot end with *; use a name prefix such as 'train*'.")
            }
            return .jobDefinition(value)
        case "SHARE_IDENTIFIER": return .shareIdentifier(value)
        default:
            guard let time = Int64(value), time >= 0 else {
                throw .invalid(entry.name("values"), "\(entry.name("values")): \(name) takes a time in epoch milliseconds, e.g. 1700000000000; '\(value)' is not one.")
            }
            return name == "BEFORE_CREATED_AT" ? .createdBefore(time) : .createdAfter(time)
        }
    }

    /// Whether `job` passes the filter (the backend has already applied the queue and status).
    func admits(_ job: Job) -> Bool {
        switch filter {
        case nil: return true
        case .jobName(let pattern):
            return NamePattern.matches(pattern, job.name)
        case .jobDefinition(let reference):
            if reference.hasPrefix("arn:") { return job.jobDefinitionArn == reference }
            let name = job.jobDefinitionName
            return reference.hasSuffix("*") ? name.hasPrefix(reference.dropLast()) : name == reference
        case .createdBefore(let time): return job.createdAt < time
        case .createdAfter(let time): return job.createdAt > time
        case .shareIdentifier(let share): return job.shareIdentifier == share
        }
    }

    /// Reads pages from the backend in submission order until `limit` jobs pass the filter or
    /// the queue is exhausted. nextToken carries the last listed job's sequence.
    func run<Backend: BatchBackend>(backend: Backend) async throws(DocketError) -> JSONValue {
        if let arrayJobID {
            let children = try await backend.listArrayChildren(arrayJobID, status: status, afterSequence: afterSequence, limit: limit + 1)
            let page = Array(children.prefix(limit))
            var members: [String: JSONValue] = ["jobSummaryList": .array(page.map(JobWire.encodeSummary))]
            if children.count > limit, let last = page.last { members["nextToken"] = .string(PageToken.encode(last.sequence)) }
            return .object(members)
        }
        guard let queue else { return ["jobSummaryList": []] }
        // With a filter AWS lists newest first, and all statuses; without one, in submission order.
        // Filtering here rather than in the store keeps JOB_NAME case-insensitive; read bigger
        // batches so that a selective filter does not cost one store query per few jobs. One job
        // beyond the page is looked for, so a last page carries no nextToken.
        let newestFirst = filter != nil
        let batchSize = filter == nil ? limit + 1 : max(limit + 1, 500)
        var position = afterSequence
        var result: [Job] = []
        var isExhausted = false
        while result.count <= limit && !isExhausted {
            let batch = try await backend.listJobs(queue: queue, status: status, nameFilter: nil, from: position,
                                                   newestFirst: newestFirst, limit: batchSize)
            isExhausted = batch.count < batchSize
            for job in batch where result.count <= limit {
                position = job.sequence
                if admits(job) { result.append(job) }
            }
        }
        let page = Array(result.prefix(limit))
        var members: [String: JSONValue] = ["jobSummaryList": .array(page.map(JobWire.encodeSummary))]
        if result.count > limit, let last = page.last { members["nextToken"] = .string(PageToken.encode(last.sequence)) }
        return .object(members)
    }
}
