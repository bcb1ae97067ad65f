import DocketCore

/// Docket's own read-only paths under GET /docket/v1 (JSON, errors in AWS's shape):
/// - `jobs/{jobId}/logs?attempt=N&offset=K&limit=L` → {attempt, data, nextOffset, complete}
/// - `plugins` → {plugins: [PluginSummary]}
/// - `server` → the backend's serverInfo()
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
        case let route where route.count == 3 && route[0] == "jobs" && route[2] == "logs":
            let request = try decodeLogRequest(query)
            let slice = try await backend.readLog(job: route[1], attempt: request.attempt, offset: request.offset, limit: request.limit)
            return encode(slice)
        default:
            throw APIFailure.client(404, "Unknown path: GET \(path). Docket's extensions are GET /docket/v1/jobs/<jobId>/logs, /docket/v1/plugins and /docket/v1/server.")
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
