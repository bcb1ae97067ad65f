import DocketCore
import Hummingbird
import Logging

/// The HTTP API: AWS Batch's REST-JSON protocol (POST /v1/<operation>; botocore's service model
/// for batch 2016-08-10 is the reference) and Docket's extensions under GET /docket/v1.
///
/// Inside the server's service group (graceful shutdown comes from the group):
/// ```swift
/// let api = BatchAPI(backend: service, logger: logger)
/// let application = api.makeApplication(host: "127.0.0.1", port: 0) { port in
///     print("docket server ready on http://127.0.0.1:\(port)")
/// }
/// let group = ServiceGroup(configuration: .init(services: [application, ...],
///                                                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
/// try await group.run()
/// ```
/// Or on its own, until SIGTERM or SIGINT: `try await api.run(host: host, port: 0) { port in ... }`.
///
/// `onReady` runs once the socket is bound, with the bound port: pass port 0 to let the system
/// pick a free one (tests do).
package struct BatchAPI<Backend: BatchBackend>: Sendable {
    package let backend: Backend
    package let logger: Logger
    /// Request bodies above this are refused with 413 and a ClientException (AWS's own SubmitJob
    /// limit is 30 KiB; the default leaves room for large job definitions).
    package var maximumBodyBytes: Int

    /// Checks every request before it is routed (SigV4 when access keys are configured).
    package var authenticator: (any RequestAuthenticator)?
    /// Told of every answered operation (the conformance report's operation log).
    package var observer: (any OperationObserver)?

    package init(backend: Backend, logger: Logger, maximumBodyBytes: Int = 1 << 20,
                 authenticator: (any RequestAuthenticator)? = nil, observer: (any OperationObserver)? = nil) {
        self.backend = backend
        self.logger = logger
        self.maximumBodyBytes = maximumBodyBytes
        self.authenticator = authenticator
        self.observer = observer
    }

    /// The Hummingbird application serving the API, not yet running. It is a ServiceLifecycle
    /// `Service`: run it in a `ServiceGroup`, which stops it gracefully (in-flight requests are
    /// answered). `onReady` gets the bound port once the server listens.
    package func makeApplication(host: String, port: Int, onReady: @escaping @Sendable (Int) -> Void) -> some ApplicationProtocol {
        let responder = APIResponder(router: APIRouter(backend: backend, logger: logger, authenticator: authenticator, observer: observer),
                                     maximumBodyBytes: maximumBodyBytes)
        return Application(
            responder: responder,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "docket"),
            onServerRunning: { channel in onReady(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    /// Serves until SIGTERM or SIGINT, then returns once in-flight requests are answered.
    /// - Throws: when the address cannot be bound (in use, bad host).
    package func run(host: String, port: Int, onReady: @escaping @Sendable (Int) -> Void) async throws {
        try await makeApplication(host: host, port: port, onReady: onReady).runService()
    }
}

/// The Hummingbird side of the API: reads the body under the size limit, hands the request to
/// the router and writes its reply. It never throws, so Hummingbird never answers a bare 500.
struct APIResponder<Backend: BatchBackend>: HTTPResponder {
    typealias Context = BasicRequestContext
    let router: APIRouter<Backend>
    let maximumBodyBytes: Int

    func respond(to request: Request, context: Context) async throws -> Response {
        let reply: APIReply
        do {
            let buffer = try await request.body.collect(upTo: maximumBodyBytes)
            var headers = request.headers.map { (name: $0.name.rawName, value: $0.value) }
            // HTTP types keep Host as the request's authority, not among the fields; SigV4 signs it.
            if let authority = request.head.authority { headers.append((name: "host", value: authority)) }
            let target = request.uri.string
            let queryStart = target.firstIndex(of: "?")
            let rawPath = String(target[..<(queryStart ?? target.endIndex)])
            let rawQuery = queryStart.map { String(target[target.index(after: $0)...]) } ?? ""
            reply = await router.respond(APIRequest(method: request.method.rawValue, rawPath: rawPath, rawQuery: rawQuery,
                                                    headers: headers, body: Array(buffer.readableBytesView)))
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            reply = .failure(.client(413, "The request body is larger than \(maximumBodyBytes) bytes; send a smaller request."))
        } catch {
            reply = .failure(.client(400, "The request body could not be read (\(error)); send it again."))
        }
        var headers: HTTPFields = [.contentType: "application/json"]
        if let type = reply.errorType { headers[.init("x-amzn-ErrorType")!] = type }
        return Response(status: HTTPResponse.Status(code: reply.status), headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply.body.serialized())))
    }
}
