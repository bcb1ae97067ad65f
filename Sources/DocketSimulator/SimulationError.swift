/// The simulator's one error type: what went wrong, on which field, and what to do.
///
/// Match on `code`, never on `message`.
package struct SimulationError: Error, Sendable, CustomStringConvertible {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String { case invalidWorkload, policyUnavailable, schedulerFailed }
        private let kind: Kind
        /// The workload (file or value) breaks a rule; the message names the field and the fix.
        package static let invalidWorkload = Code(kind: .invalidWorkload)
        /// The policy plugin could not be found, loaded or created.
        package static let policyUnavailable = Code(kind: .policyUnavailable)
        /// The real scheduler refused a step (a bug in the simulator or the scheduler).
        package static let schedulerFailed = Code(kind: .schedulerFailed)
        package var description: String { kind.rawValue }
    }

    package var code: Code
    package var message: String
    package var field: String?
    package var cause: (any Error)?

    package init(_ code: Code, _ message: String, field: String? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.field = field
        self.cause = cause
    }

    static func invalid(_ field: String, _ message: String) -> SimulationError {
        SimulationError(.invalidWorkload, message, field: field)
    }

    package var description: String { message }
}
