import DocketCore

/// TagResource, UntagResource and ListTagsForResource: GET, POST and DELETE on
/// /v1/tags/{resourceArn} (the router puts resourceArn and the tagKeys query into the members).
enum TagsWire {
    /// ListTagsForResource → {tags}.
    static func list<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let tags = try await backend.tags(of: try resourceArn(request))
        return ["tags": .object(tags.mapValues(JSONValue.string))]
    }

    /// TagResource → {}: adds tags, overwriting the values of keys the resource already has.
    static func tag<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let arn = try resourceArn(request)
        guard request.has("tags") else { throw .invalid("tags", "tags is required: a map of 1 to 50 tags to add.") }
        let tags = try request.tags()
        guard !tags.isEmpty else { throw .invalid("tags", "tags is empty; give 1 to 50 tags to add.") }
        try checkReserved(tags.keys, field: "tags")
        try await backend.retag(arn, add: tags, remove: [])
        return [:]
    }

    /// UntagResource → {}: removes the keys given in the tagKeys query parameters (1 to 50).
    static func untag<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        let arn = try resourceArn(request)
        guard let keys = try request.strings("tagKeys", maxCount: 50), !keys.isEmpty else {
            throw .invalid("tagKeys", "tagKeys is required: give 1 to 50 keys as ?tagKeys=KEY&tagKeys=KEY2.")
        }
        try checkReserved(keys, field: "tagKeys")
        try await backend.retag(arn, add: [:], remove: keys)
        return [:]
    }

    static func resourceArn(_ request: Members) throws(DocketError) -> String {
        let arn = try request.requiredString("resourceArn")
        guard arn.hasPrefix("arn:") else {
            throw .invalid("resourceArn", "resourceArn '\(arn)' is not an ARN; tags are addressed by the resource's full ARN, e.g. arn:aws:batch:REGION:ACCOUNT:job-queue/NAME.")
        }
        return arn
    }

    /// The aws: prefix (any case) is AWS's own and cannot be set or removed by users (reference §10).
    static func checkReserved(_ keys: some Sequence<String>, field: String) throws(DocketError) {
        if let key = keys.first(where: { $0.lowercased().hasPrefix("aws:") }) {
            throw .invalid(field, "\(field): tag key '\(key)' uses the reserved prefix aws:; choose another key.")
        }
    }
}

/// The operations Docket answers with a refusal by design: SageMaker service environments and
/// service jobs, which need AWS's managed training service behind them.
enum Refused {
    /// The operations the router table maps to `serviceEnvironments`.
    static let operations: Set<String> = [
        "CreateServiceEnvironment", "DescribeServiceEnvironments", "UpdateServiceEnvironment", "DeleteServiceEnvironment",
        "SubmitServiceJob", "DescribeServiceJob", "ListServiceJobs", "TerminateServiceJob", "UpdateServiceJob",
    ]

    static func serviceEnvironments<Backend: BatchBackend>(_ request: Members, backend: Backend) async throws(DocketError) -> JSONValue {
        throw .invalid("serviceEnvironment", "Docket does not run SageMaker service environments or service jobs: they need AWS's managed training service. Run the workload as a container job on a compute environment instead (SubmitJob).")
    }
}
