import DocketCore

/// Docket's own read-only paths under GET /docket/v1 (JSON, errors in AWS's shape):
/// - `jobs/{jobId}/logs?attempt=N&offset=K&limit=L` → {attempt, data, nextOffset, complete}
/// - `jobs/{jobId}/why` → {jobId, status, jobQueue, waiting, reasons: [{kind, message}], policy}:
///   why the job is not running, most fundamental first, with the numbers
/// - `plugins` → {plugins: [PluginSummary]}
/// - `server` → the backend's serverInfo()
/// - `events?after=CURSOR&limit=N&wait=S` → the job state change log (see `events`)
/// - `gpus` → {computeEnvironments: [{computeEnvironmentName, executor, gpus: [...]}]}, the GPUs
///   of every compute environment whose executor owns some (include/docket/executor.h's
///   docket_gpu_capability_v1 describes each GPU's keys)
enum DocketExtensions {
    /// The most log bytes one call returns, whatever `limit` asks for.
    static let maximumLogBytes: Int64 = 8 << 20

    static func answer<Backend: BatchBackend>(path: String, query: [String: String], backend: Backend) async throws -> JSONValue {
        let route = path.split(separator: "/", omittingEmptySubsequences: true).dropFirst(2).map(String.init)  // after docket/v1
        switch route {
        case ["plugins"]:
            return ["plugins": .array(await backend.plugins().map(encode))]
        case ["server"]:
            return .object(await backend.serverInfo())
        case ["events"]:
            return try await events(query: query, backend: backend)
        case ["gpus"]:
            return ["computeEnvironments": .array(await backend.gpus())]
        case let route where route.count == 3 && route[0] == "jobs" && route[2] == "why":
            return try await backend.whyWaiting(job: route[1])
        case let route where route.count == 3 && route[0] == "jobs" && route[2] == "logs":
            let request = try decodeLogRequest(query)
            let slice = try await backend.readLog(job: route[1], attempt: request.attempt, offset: request.offset, limit: request.limit)
            return encode(slice)
        default:
            throw APIFailure.client(404, "Unknown path: GET \(path). Docket's extensions are GET /docket/v1/jobs/<jobId>/logs, /docket/v1/jobs/<jobId>/why, /docket/v1/events, /docket/v1/gpus, /docket/v1/plugins and /docket/v1/server.")
        }
    }

    /// attempt (1 or more; the latest when absent), offset (0 or more, default 0) and limit
    /// (1 or more, default and cap 8 MiB).
    static func decodeLogRequest(_ query: [String: String]) throws(DocketError) -> (attempt: Int?, offset: Int64, limit: Int) {
        func number(_ name: String, minimum: Int64) throws(DocketError) -> Int64? {
            guard let text = query[name] else { return nil }
            guard let value = Int64(text), value >= minimum else {
                throw .invalid(name, "\(name) is '\(text)'; it must be a whole number, \(minimum) or more.")
            }
            return value
        }
        let attempt = try number("attempt", minimum: 1).map { Int(clamping: $0) }
        let offset = try number("offset", minimum: 0) ?? 0
        let limit = Int(min(try number("limit", minimum: 1) ?? maximumLogBytes, maximumLogBytes))
        return (attempt, offset, limit)
    }

    /// `events?after=CURSOR&limit=N&wait=SECONDS` → {events: [{cursor, event}], nextCursor}: the job
    /// state change log from after CURSOR (0, the default, is the beginning), at most N (default
    /// and cap 1,000). With `wait`, an empty answer is held up to that many seconds (at most 60)
    /// until a change arrives, so `while true; GET events?after=$next&wait=30` follows it live.
    /// Each event has the shape of AWS's EventBridge "Batch Job State Change" event, with the
    /// job as DescribeJobs shows it in `detail`.
    static func events<Backend: BatchBackend>(query: [String: String], backend: Backend) async throws(DocketError) -> JSONValue {
        func number(_ name: String, in range: ClosedRange<Int64>) throws(DocketError) -> Int64? {
            guard let text = query[name] else { return nil }
            guard let value = Int64(text), range.contains(value) else {
                throw .invalid(name, "\(name) is '\(text)'; it must be a whole number from \(range.lowerBound) to \(range.upperBound).")
            }
            return value
        }
        let after = try number("after", in: 0...Int64.max) ?? 0
        let limit = Int(try number("limit", in: 1...1_000) ?? 1_000)
        let wait = try number("wait", in: 0...60) ?? 0
        let deadline = ContinuousClock.now + .seconds(wait)
        var events = try await backend.jobEvents(after: after, limit: limit)
        while events.isEmpty && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(100))
            events = try await backend.jobEvents(after: after, limit: limit)
        }
        let arns = backend.arns
        return ["events": .array(events.map { ["cursor": .number(Double($0.cursor)), "event": encode($0, arns: arns)] }),
                "nextCursor": .number(Double(events.last?.cursor ?? after))]
    }

    /// A job state change as AWS's EventBridge delivers it (reference §8).
    static func encode(_ event: JobEvent, arns: ARNBuilder) -> JSONValue {
        [
            "version": "0", "id": .string("docket-job-event-\(event.cursor)"), "detail-type": "Batch Job State Change",
            "source": "aws.batch", "account": .string(arns.accountID), "time": .string(iso8601(millis: event.at)),
            "region": .string(arns.region), "resources": [.string(event.job.arn)],
            "detail": JobWire.encodeDetail(event.job, arns: arns),
        ]
    }

    /// "2026-11-23T03:14:15Z": EventBridge's time format.
    static func iso8601(millis: Int64) -> String {
        var seconds = millis / 1000
        let second = seconds % 60; seconds /= 60
        let minute = seconds % 60; seconds /= 60
        let hour = seconds % 24
        let (year, month, day) = SigV4.civil(fromDays: seconds / 24)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(hour)):\(two(minute)):\(two(second))Z"
    }

    /// The slice's bytes as UTF-8 text; invalid sequences become U+FFFD.
    static func encode(_ slice: LogSlice) -> JSONValue {
        ["attempt": .number(Double(slice.attempt)), "data": .string(String(decoding: slice.data, as: UTF8.self)),
         "nextOffset": .number(Double(slice.nextOffset)), "complete": .bool(slice.isComplete)]
    }

    static func encode(_ plugin: PluginSummary) -> JSONValue {
        var members: [String: JSONValue] = ["path": .string(plugin.path)]
        if let value = plugin.id { members["id"] = .string(value) }
        if let value = plugin.name { members["name"] = .string(value) }
        if let value = plugin.kind { members["kind"] = .string(value) }
        if let value = plugin.version { members["version"] = .string(value) }
        if let value = plugin.abiVersion { members["abiVersion"] = .string(value) }
        if let value = plugin.error { members["error"] = .string(value) }
        return .object(members)
    }
}
