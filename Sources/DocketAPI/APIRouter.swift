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
    let authenticator: (any RequestAuthenticator)?
    let observer: (any OperationObserver)?
    /// By the lower-case operation name, as it appears in POST /v1/<name>.
    let operations: [String: (name: String, run: Operation)]

    init(backend: Backend, logger: Logger, authenticator: (any RequestAuthenticator)? = nil,
         observer: (any OperationObserver)? = nil) {
        self.backend = backend
        self.logger = logger
        self.authenticator = authenticator
        self.observer = observer
        self.operations = Dictionary(uniqueKeysWithValues: Self.table.map { ($0.key.lowercased(), ($0.key, $0.value)) })
    }

    /// scripts/conformance.py reads this table (one `"Operation": Handler,` line each).
    /// The router table: the AWS Batch operations by their name in botocore's batch 2016-08-10
    /// model. All but the tag operations are POST /v1/<lower-case name>; those three are
    /// GET, POST and DELETE on /v1/tags/{resourceArn}. Adding an operation is one line here and
    /// one function in its resource's file.
    static var table: [String: Operation] {
        [
            "CreateComputeEnvironment": ComputeEnvironmentWire.create,
            "DescribeComputeEnvironments": ComputeEnvironmentWire.describe,
            "CreateJobQueue": JobQueueWire.create,
            "DescribeJobQueues": JobQueueWire.describe,
            "RegisterJobDefinition": JobDefinitionWire.register,
            "DescribeJobDefinitions": JobDefinitionWire.describe,
            "SubmitJob": JobWire.submit,
            "DescribeJobs": JobWire.describe,
            "ListJobs": ListJobsQuery.list,
            "CancelJob": JobWire.cancel,
            "TerminateJob": JobWire.terminate,
            "UpdateComputeEnvironment": ComputeEnvironmentWire.update,
            "DeleteComputeEnvironment": ComputeEnvironmentWire.delete,
            "UpdateJobQueue": JobQueueWire.update,
            "DeleteJobQueue": JobQueueWire.delete,
            "GetJobQueueSnapshot": JobQueueWire.snapshot,
            "DeregisterJobDefinition": JobDefinitionWire.deregister,
            "CreateSchedulingPolicy": SchedulingPolicyWire.create,
            "DescribeSchedulingPolicies": SchedulingPolicyWire.describe,
            "ListSchedulingPolicies": SchedulingPolicyWire.list,
            "UpdateSchedulingPolicy": SchedulingPolicyWire.update,
            "DeleteSchedulingPolicy": SchedulingPolicyWire.delete,
            "CreateConsumableResource": ConsumableResourceWire.create,
            "DescribeConsumableResource": ConsumableResourceWire.describe,
            "ListConsumableResources": ConsumableResourceWire.list,
            "UpdateConsumableResource": ConsumableResourceWire.update,
            "DeleteConsumableResource": ConsumableResourceWire.delete,
            "ListJobsByConsumableResource": ConsumableResourceWire.listJobs,
            "CreateQuotaShare": QuotaShareWire.create,
            "DescribeQuotaShare": QuotaShareWire.describe,
            "ListQuotaShares": QuotaShareWire.list,
            "UpdateQuotaShare": QuotaShareWire.update,
            "DeleteQuotaShare": QuotaShareWire.delete,
            "ListTagsForResource": TagsWire.list,
            "TagResource": TagsWire.tag,
            "UntagResource": TagsWire.untag,
            "CreateServiceEnvironment": Refused.serviceEnvironments,
            "DescribeServiceEnvironments": Refused.serviceEnvironments,
            "UpdateServiceEnvironment": Refused.serviceEnvironments,
            "DeleteServiceEnvironment": Refused.serviceEnvironments,
            "SubmitServiceJob": Refused.serviceEnvironments,
            "DescribeServiceJob": Refused.serviceEnvironments,
            "ListServiceJobs": Refused.serviceEnvironments,
            "TerminateServiceJob": Refused.serviceEnvironments,
            "UpdateServiceJob": Refused.serviceEnvironments,
        ]
    }

    /// Answers one request whose body has already been read (the HTTP layer enforces the size limit).
    func respond(_ request: APIRequest) async -> APIReply {
        if let authenticator, let failure = authenticator.authenticate(request) {
            return .failure(failure)
        }
        var operationName: String?
        let reply: APIReply
        do {
            let path = request.path
            if let (name, run, members) = try route(request, path: path) {
                operationName = name
                // A refused operation says so whatever its members are.
                if !Refused.operations.contains(name) { try ModelValidator.validate(operation: name, input: members.values) }
                reply = .ok(try await run(members, backend))
            } else if request.method == "GET", path.hasPrefix("/docket/v1/") {
                var query: [String: String] = [:]
                for item in request.queryItems { query[item.name] = item.value }
                reply = .ok(try await DocketExtensions.answer(path: path, query: query, backend: backend))
            } else {
                throw APIFailure.client(404, "Unknown path: \(request.method) \(path). AWS Batch operations are POST /v1/<operation> and GET, POST or DELETE /v1/tags/<resourceArn>; Docket's extensions are GET /docket/v1/jobs/<jobId>/logs, /docket/v1/events, /docket/v1/plugins and /docket/v1/server.")
            }
        } catch let failure as APIFailure {
            reply = .failure(failure)
        } catch let error as DocketError {
            if !error.code.isClientError {
                logger.error("request failed", metadata: ["http.method": "\(request.method)", "http.path": "\(request.rawPath)", "error": "\(error.message)"])
            }
            reply = .failure(APIFailure(error))
        } catch {
            logger.error("request failed", metadata: ["http.method": "\(request.method)", "http.path": "\(request.rawPath)", "error": "\(error)"])
            reply = .failure(APIFailure(status: 500, type: .server, message: "Internal error while answering \(request.method) \(request.rawPath); the server log has the details."))
        }
        if let operationName { observer?.answered(operation: operationName, status: reply.status) }
        return reply
    }

    /// The operation a request names and its input members (the body, plus the members the
    /// model places in the URI and the query string); nil when the path is not an operation's.
    /// - Throws: `APIFailure` (404) for POST /v1/<unknown>, (400) for a body that is not a JSON object.
    func route(_ request: APIRequest, path: String) throws -> (String, Operation, Members)? {
        let tagsPrefix = "/v1/tags/"
        if path.hasPrefix(tagsPrefix) {
            let name: String
            switch request.method {
            case "GET": name = "ListTagsForResource"
            case "POST": name = "TagResource"
            case "DELETE": name = "UntagResource"
            default: return nil
            }
            guard let operation = operations[name.lowercased()] else { return nil }
            var members = request.method == "POST" ? try Self.parseObject(request.body).values : [:]
            members["resourceArn"] = .string(String(path.dropFirst(tagsPrefix.count)))
            if request.method == "DELETE" {
                let keys = request.queryItems.filter { $0.name == "tagKeys" }.map { JSONValue.string($0.value) }
                if !keys.isEmpty { members["tagKeys"] = .array(keys) }
            }
            return (name, operation.run, Members(members))
        }
        guard request.method == "POST", path.hasPrefix("/v1/") else { return nil }
        guard let operation = operations[String(path.dropFirst(4)).lowercased()] else {
            throw APIFailure.client(404, "Unknown operation: POST \(path) is not an AWS Batch operation this server implements; the operations are \(operations.values.map(\.name).sorted().joined(separator: ", ")).")
        }
        return (operation.name, operation.run, try Self.parseObject(request.body))
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
