import DocketCore
import Foundation
import Hummingbird
import Logging

/// The HTTP API: AWS Batch's REST-JSON protocol (POST /v1/<operation>, botocore's service model
/// for batch 2016-08-10 is the reference) and Docket's extensions under /docket/v1.
///
/// ```swift
/// try await BatchAPI(backend: service, logger: logger).run(host: "127.0.0.1", port: 0) { port in
///     print("listening on \(port)")
/// }
/// ```
/// `run` returns after SIGTERM or SIGINT, once in-flight requests are answered.
package struct BatchAPI<Backend: BatchBackend>: Sendable {
    package let backend: Backend
    package let logger: Logger
    /// Request bodies above this are refused with 413 (AWS's SubmitJob limit is 30 KiB).
    package var maximumBodyBytes = 1 << 20

    package init(backend: Backend, logger: Logger) {
        self.backend = backend
        self.logger = logger
    }

    /// Serves until a shutdown signal. `onReady` gets the bound port (useful with port 0).
    package func run(host: String, port: Int, onReady: @escaping @Sendable (Int) -> Void) async throws {
        let responder = APIResponder(operations: BatchOperations(backend: backend), maximumBodyBytes: maximumBodyBytes, logger: logger)
        let application = Application(
            responder: responder,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "docket"),
            onServerRunning: { channel in onReady(channel.localAddress?.port ?? port) },
            logger: logger)
        try await application.runService()
    }
}

/// Routes every request and turns every failure into AWS's error shape: nothing escapes as a 500
/// without a body, and bad input never crashes the server.
struct APIResponder<Backend: BatchBackend>: HTTPResponder {
    typealias Context = BasicRequestContext
    let operations: BatchOperations<Backend>
    let maximumBodyBytes: Int
    let logger: Logger

    func respond(to request: Request, context: Context) async throws -> Response {
        let path = request.uri.path
        do {
            if request.method == .post, path.hasPrefix("/v1/") {
                let operation = String(path.dropFirst(4)).lowercased()
                guard let handler = operations.handler(for: operation) else {
                    throw APIFailure(status: .notFound, type: "ClientException",
                                     message: "Unknown operation: POST \(path) is not an AWS Batch operation this server implements.")
                }
                let body = try await readJSONObject(request)
                return json(try await handler(Members(body)))
            }
            if request.method == .get, path.hasPrefix("/docket/v1/") {
                var query: [String: String] = [:]
                for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
                return json(try await operations.extensionGET(path: path, query: query))
            }
            throw APIFailure(status: .notFound, type: "ClientException",
                             message: "Unknown path: \(request.method) \(path). AWS Batch operations are POST /v1/<operation>; Docket's extensions are GET /docket/v1/...")
        } catch let failure as APIFailure {
            return error(failure)
        } catch let error as DocketError {
            if !error.code.isClientError { logger.error("\(request.method) \(path): \(error.message)") }
            let status: HTTPResponse.Status = error.code.isClientError ? .badRequest : .internalServerError
            return self.error(APIFailure(status: status, type: error.code.isClientError ? "ClientException" : "ServerException",
                                         message: error.message))
        } catch {
            logger.error("\(request.method) \(path): \(error)")
            return self.error(APIFailure(status: .internalServerError, type: "ServerException", message: "internal error: \(error)"))
        }
    }

    private func readJSONObject(_ request: Request) async throws(APIFailure) -> [String: JSONValue] {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maximumBodyBytes)
        } catch {
            throw APIFailure(status: .contentTooLarge, type: "ClientException",
                             message: "The request body is larger than \(maximumBodyBytes) bytes; send a smaller request.")
        }
        guard buffer.readableBytes > 0 else { return [:] }
        let value: JSONValue
        do {
            value = try JSONParser.parse(Array(buffer.readableBytesView))
        } catch {
            throw APIFailure(status: .badRequest, type: "ClientException",
                             message: "The request body is not valid JSON (\(error.message) at byte \(error.offset)); send a JSON object.")
        }
        guard case .object(let members) = value else {
            throw APIFailure(status: .badRequest, type: "ClientException", message: "The request body must be a JSON object.")
        }
        return members
    }

    private func json(_ value: JSONValue) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: value.serialized())))
    }

    private func error(_ failure: APIFailure) -> Response {
        let body: JSONValue = ["__type": .string(failure.type), "message": .string(failure.message)]
        let data = body.serialized()
        var headers: HTTPFields = [.contentType: "application/json"]
        headers[.init("x-amzn-ErrorType")!] = failure.type
        return Response(status: failure.status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// An error answered in AWS's shape: the HTTP status, the error type and the message.
struct APIFailure: Error {
    var status: HTTPResponse.Status
    var type: String
    var message: String
}
