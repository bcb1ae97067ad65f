import DocketCore
import Logging

/// Routes one request to its AWS Batch operation or Docket extension and maps every failure to
/// AWS's error shape, so nothing escapes as a bare 500 and bad input never crashes the server.
///
/// Isolation: a value type over a `Sendable` backend; one router serves all requests concurrently.
struct APIRouter<Backend: BatchBackend>: Sendable {
    /// One AWS Batch operation: decode and validate the request, call the backend, encode the answer.
    typealias Operation = @Sendable (Members, Backend) async throws(DocketError) -> JSONValue

    let backend: Backend
    let logger: Logger
    let operations: [String: Operation]

    init(backend: Backend, logger: Logger) {
        self.backend = backend
        self.logger = logger
        self.operations = Self.table
    }

    /// The router table: the AWS Batch operations, keyed by the lower-case name of their URI
    /// (POST /v1/<name>, botocore's batch 2016-08-10 model). Adding an operation is one line
    /// here and one function in its resource's file.
    static var table: [String: Operation] {
        [
            "createcomputeenvironment": ComputeEnvironmentWire.create,
            "describecomputeenvironments": ComputeEnvironmentWire.describe,
            "createjobqueue": JobQueueWire.create,
            "describejobqueues": JobQueueWire.describe,
            "registerjobdefinition": JobDefinitionWire.register,
            "describejobdefinitions": JobDefinitionWire.describe,
            "submitjob": JobWire.submit,
            "describejobs": JobWire.describe,
            "listjobs": ListJobsQuery.list,
            "canceljob": JobWire.cancel,
            "terminatejob": JobWire.terminate,
        ]
    }

    /// Answers one request whose body has already been read (the HTTP layer enforces the size limit).
    /// - Parameters:
    ///   - method: "POST", "GET", ...
    ///   - path: the URI path without the query.
    ///   - query: the query parameters (Docket's GET extensions only).
    ///   - body: the request body as sent; empty means `{}`.
    func respond(method: String, path: String, query: [String: String], body: [UInt8]) async -> APIReply {
        do {
            if method == "POST", path.hasPrefix("/v1/") {
                let name = String(path.dropFirst(4)).lowercased()
                guard let operation = operations[name] else {
                    throw APIFailure.client(404, "Unknown operation: POST \(path) is not an AWS Batch operation this server implements; the operations are \(operations.keys.sorted().joined(separator: ", ")).")
                }
                return .ok(try await operation(try Self.parseObject(body), backend))
            }
            if method == "GET", path.hasPrefix("/docket/v1/") {
                return .ok(try await DocketExtensions.answer(path: path, query: query, backend: backend))
            }
            throw APIFailure.client(404, "Unknown path: \(method) \(path). AWS Batch operations are POST /v1/<operation>; Docket's extensions are GET /docket/v1/jobs/<jobId>/logs, /docket/v1/plugins and /docket/v1/server.")
        } catch let failure as APIFailure {
            return .failure(failure)
        } catch let error as DocketError {
            if !error.code.isClientError {
                logger.error("request failed", metadata: ["http.method": "\(method)", "http.path": "\(path)", "error": "\(error.message)"])
            }
            return .failure(APIFailure(error))
        } catch {
            logger.error("request failed", metadata: ["http.method": "\(method)", "http.path": "\(path)", "error": "\(error)"])
            return .failure(APIFailure(status: 500, type: .server, message: "Internal error while answering \(method) \(path); the server log has the details."))
        }
    }

    /// The request body as the top-level JSON object every AWS Batch operation takes.
    /// - Throws: `APIFailure` (400) when the body is not JSON or not an object.
    static func parseObject(_ body: [UInt8]) throws(APIFailure) -> Members {
        guard body.contains(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }) else { return Members([:]) }
        let value: JSONValue
        do {
            value = try JSONParser.parse(body)
        } catch {
            throw APIFailure.client(400, "The request body is not valid JSON (\(error.message) at byte \(error.offset)); send a JSON object.")
        }
        guard case .object(let members) = value else {
            throw APIFailure.client(400, "The request body must be a JSON object ({...}); it is \(Self.kind(of: value)).")
        }
        return Members(members)
    }

    static func kind(of value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
