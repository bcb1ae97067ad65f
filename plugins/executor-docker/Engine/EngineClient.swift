import Foundation
import Synchronization

/// An engine's answer to one call: its status and body, parsed as JSON when it is JSON.
public struct EngineResponse: @unchecked Sendable {
    // @unchecked: `json` holds Foundation property-list values (dictionaries, arrays, strings,
    // numbers), which are never mutated after parsing.
    public var status: Int
    public var body: [UInt8]
    public var json: Any? { body.isEmpty ? nil : try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) }
    public var object: [String: Any] { json as? [String: Any] ?? [:] }

    /// The engine's own error text ({"message": ...}), or the body as text.
    public var message: String {
        if let text = object["message"] as? String { return text }
        return String(decoding: body.prefix(500), as: UTF8.self)
    }
}

/// The Docker Engine API over HTTP/1.1, on a unix socket or TCP: version negotiation, calls with
/// JSON bodies on pooled keep-alive connections, and long-lived streams (logs, waits) on
/// connections of their own. Thread-safe.
public final class EngineClient: Sendable {
    /// The newest API version this client speaks; the engine's, when older, is used instead.
    public static let newestVersion = EngineVersion(1, 45)
    /// DeviceRequests (GPUs) arrived in 1.40 (Docker 19.03).
    public static let oldestVersion = EngineVersion(1, 40)

    public let endpoint: EngineEndpoint
    private let negotiated = Mutex<EngineVersion?>(nil)
    private let idle = Mutex<[EngineConnection.Box]>([])

    public init(endpoint: EngineEndpoint) { self.endpoint = endpoint }

    /// The version negotiated with the engine, nil before the first successful negotiation.
    public var version: EngineVersion? { negotiated.withLock { $0 } }

    /// Asks the engine for its API versions and picks the newest both speak.
    /// - Throws: `EngineError` when the engine is unreachable, or older than 1.40.
    @discardableResult
    public func negotiate(timeoutSeconds: Double = 5) throws(EngineError) -> EngineVersion {
        let response = try exchange("GET", "/version", body: nil, timeoutSeconds: timeoutSeconds)
        guard response.status == 200, let text = response.object["ApiVersion"] as? String, let engine = EngineVersion(text) else {
            throw EngineError("Docker engine at \(endpoint) answered GET /version with \(response.status): \(response.message)", status: response.status)
        }
        let chosen = min(engine, Self.newestVersion)
        guard chosen >= Self.oldestVersion else {
            throw EngineError("Docker engine at \(endpoint) speaks API \(engine), older than the \(Self.oldestVersion) this executor needs (Docker 19.03 or newer); upgrade the engine.")
        }
        negotiated.withLock { $0 = chosen }
        return chosen
    }

    private func versionPrefix() throws(EngineError) -> String {
        if let version { return "/v\(version)" }
        return "/v\(try negotiate())"
    }

    /// Calls the engine: `path` is the versionless API path ("/containers/create"), `query` is
    /// percent-encoded here, `json` is serialised as the body.
    public func call(_ method: String, _ path: String, query: [(String, String)] = [], json: Any? = nil,
                     timeoutSeconds: Double? = 60) throws(EngineError) -> EngineResponse {
        let body: [UInt8]?
        if let json {
            do { body = Array(try JSONSerialization.data(withJSONObject: json, options: [])) } catch {
                throw EngineError("cannot encode the request body for \(method) \(path): \(error)")
            }
        } else {
            body = nil
        }
        return try exchange(method, try versionPrefix() + path + Self.encode(query), body: body, timeoutSeconds: timeoutSeconds)
    }

    /// Calls the engine and hands the response body to `onData` as it arrives, on a connection
    /// of its own that is closed afterwards (logs with follow, pulls). Returns the status and,
    /// for a status of 400 or more, the body.
    public func stream(_ method: String, _ path: String, query: [(String, String)] = [], json: Any? = nil,
                       onData: ([UInt8]) -> Void) throws(EngineError) -> EngineResponse {
        let connection = try EngineConnection(endpoint: endpoint, timeoutSeconds: nil)
        let body: [UInt8]? = json.flatMap { try? Array(JSONSerialization.data(withJSONObject: $0, options: [])) }
        try connection.send(method: method, path: try versionPrefix() + path + Self.encode(query), body: body)
        let head = try connection.readHead()
        var errorBody: [UInt8] = []
        _ = try connection.readBody(head, method: method) { data in
            if head.status >= 400 { errorBody += data } else { onData(data) }
        }
        return EngineResponse(status: head.status, body: errorBody)
    }

    private func exchange(_ method: String, _ path: String, body: [UInt8]?, timeoutSeconds: Double?) throws(EngineError) -> EngineResponse {
        // A pooled connection the engine has since closed fails on first use: retry once on a
        // fresh one, but only for requests that are safe to repeat or that never reached it.
        var attempt = 0
        while true {
            attempt += 1
            let pooled = attempt == 1 ? idle.withLock { $0.popLast() } : nil
            let connection: EngineConnection
            if let pooled { connection = pooled.connection } else {
                connection = try EngineConnection(endpoint: endpoint, timeoutSeconds: timeoutSeconds)
            }
            do {
                try connection.send(method: method, path: path, body: body)
                let head = try connection.readHead()
                var received: [UInt8] = []
                let reusable = try connection.readBody(head, method: method) { received += $0 }
                if reusable && timeoutSeconds != nil {
                    idle.withLock { if $0.count < 16 { $0.append(EngineConnection.Box(connection)) } }
                }
                return EngineResponse(status: head.status, body: received)
            } catch {
                if pooled != nil && error.isUnreachable { continue }
                throw error
            }
        }
    }

    /// Drops pooled connections (after the engine restarted, say).
    public func reset() {
        idle.withLock { $0.removeAll() }
    }

    static func encode(_ query: [(String, String)]) -> String {
        guard !query.isEmpty else { return "" }
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return "?" + query.map { key, value in
            "\(key)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)"
        }.joined(separator: "&")
    }

    /// Percent-encodes one path segment (a container name or an image reference).
    public static func pathSegment(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~:@")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

extension EngineConnection {
    /// Lets pooled connections cross threads: each is used by one thread at a time, handed over
    /// through the pool's lock.
    final class Box: @unchecked Sendable {
        let connection: EngineConnection
        init(_ connection: EngineConnection) { self.connection = connection }
    }
}

/// An Engine API version, "1.41".
public struct EngineVersion: Sendable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(_ major: Int, _ minor: Int) {
        self.major = major
        self.minor = minor
    }

    public init?(_ text: String) {
        let parts = text.split(separator: ".")
        guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]) else { return nil }
        self.init(major, minor)
    }

    public static func < (a: EngineVersion, b: EngineVersion) -> Bool { (a.major, a.minor) < (b.major, b.minor) }
    public var description: String { "\(major).\(minor)" }
}

/// Splits the engine's multiplexed stdout/stderr stream (logs and attach without a TTY): each
/// frame is 1 byte of stream (1 stdout, 2 stderr), 3 zero bytes, a 4-byte big-endian length,
/// then the payload. Frames may arrive split across reads.
public struct StreamDemultiplexer {
    private var pending: [UInt8] = []

    public init() {}

    /// Feeds bytes as they arrive; calls `emit` with each whole frame's stream and payload.
    public mutating func feed(_ bytes: [UInt8], emit: (_ stream: UInt8, _ payload: ArraySlice<UInt8>) -> Void) {
        pending += bytes
        var offset = 0
        while pending.count - offset >= 8 {
            let length = Int(pending[offset + 4]) << 24 | Int(pending[offset + 5]) << 16 | Int(pending[offset + 6]) << 8 | Int(pending[offset + 7])
            guard pending.count - offset - 8 >= length else { break }
            emit(pending[offset], pending[(offset + 8)..<(offset + 8 + length)])
            offset += 8 + length
        }
        if offset > 0 { pending.removeFirst(offset) }
    }
}
