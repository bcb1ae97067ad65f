/// The one error type of the domain: what went wrong, on which field, and what to do.
///
/// Match on `code`, never on `message`. Only DocketAPI maps these to AWS error shapes
/// (`ClientException` for client codes, `ServerException` for `.internal`).
public struct DocketError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String { case invalidRequest, notFound, conflict, internalError, unavailable }
        private let kind: Kind
        /// The request is malformed or breaks a rule; the message names the field and the fix.
        public static let invalidRequest = Code(kind: .invalidRequest)
        /// A named resource does not exist.
        public static let notFound = Code(kind: .notFound)
        /// The request clashes with existing state (a duplicate name, a resource in use).
        public static let conflict = Code(kind: .conflict)
        /// Docket's own fault; the message says which operation.
        public static let internalError = Code(kind: .internalError)
        /// A dependency (the store, a plugin) is unavailable; retrying may help.
        public static let unavailable = Code(kind: .unavailable)
        public var description: String { kind.rawValue }
        public var isClientError: Bool { kind != .internalError && kind != .unavailable }
    }

    public var code: Code
    public var message: String
    public var field: String?
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, field: String? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.field = field
        self.cause = cause
    }

    public static func invalid(_ field: String, _ message: String) -> DocketError {
        DocketError(.invalidRequest, message, field: field)
    }

    public var description: String { message }
}
