import DocketCore

/// One answer of the API before it becomes an HTTP response: the status, the AWS error type
/// for failures (the `x-amzn-ErrorType` header) and the JSON body.
///
/// Kept free of Hummingbird's types so that routing and error mapping are tested without a server.
struct APIReply: Sendable, Equatable {
    var status: Int
    var errorType: String?
    var body: JSONValue

    static func ok(_ body: JSONValue) -> APIReply { APIReply(status: 200, errorType: nil, body: body) }

    /// The error body AWS's REST-JSON services send. botocore takes the code from the
    /// `x-amzn-ErrorType` header (`__type` is its fallback) and the text from `message`, so the
    /// aws CLI prints `An error occurred (ClientException) when calling the SubmitJob operation: <message>`.
    static func failure(_ failure: APIFailure) -> APIReply {
        APIReply(status: failure.status, errorType: failure.type.rawValue,
                 body: ["__type": .string(failure.type.rawValue), "message": .string(failure.message)])
    }
}

/// An error answered in AWS's shape, for failures that are not about one request member
/// (unknown paths, bodies that are too large or not JSON).
package struct APIFailure: Error, Sendable, Equatable {
    /// The error code botocore reports ("ClientException"); authentication failures use the
    /// codes AWS's front end sends ("InvalidSignatureException", "UnrecognizedClientException").
    package struct ErrorType: RawRepresentable, Sendable, Equatable {
        package var rawValue: String
        package init(rawValue: String) { self.rawValue = rawValue }

        package static let client = ErrorType(rawValue: "ClientException")
        package static let server = ErrorType(rawValue: "ServerException")
    }

    package var status: Int
    package var type: ErrorType
    package var message: String

    package static func client(_ status: Int, _ message: String) -> APIFailure {
        APIFailure(status: status, type: .client, message: message)
    }

    /// A domain error as AWS reports it: client codes (invalid, not found, conflict) are a
    /// ClientException with 400; internal and unavailable are a ServerException with 500.
    init(_ error: DocketError) {
        self.init(status: error.code.isClientError ? 400 : 500, type: error.code.isClientError ? .client : .server,
                  message: error.message)
    }

    package init(status: Int, type: ErrorType, message: String) {
        self.status = status
        self.type = type
        self.message = message
    }
}
