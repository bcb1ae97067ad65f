/// retryStrategy: how many attempts a job gets and which exits are retried (reference §4.6).
public struct RetryStrategy: Sendable, Codable, Hashable {
    public struct Rule: Sendable, Codable, Hashable {
        public var action: String   // RETRY or EXIT (case-insensitive on the wire; stored upper-case)
        public var onStatusReason: String?
        public var onReason: String?
        public var onExitCode: String?

        public init(action: String, onStatusReason: String? = nil, onReason: String? = nil, onExitCode: String? = nil) {
            self.action = action.uppercased()
            self.onStatusReason = onStatusReason
            self.onReason = onReason
            self.onExitCode = onExitCode
        }

        /// AWS globs: an exact match, or a prefix match when the pattern ends with `*`.
        static func glob(_ pattern: String, matches value: String) -> Bool {
            if pattern.hasSuffix("*") { return value.hasPrefix(pattern.dropLast()) }
            return pattern == value
        }

        func matches(exitCode: Int32?, reason: String?, statusReason: String?) -> Bool {
            if let pattern = onExitCode {
                guard let exitCode, Self.glob(pattern, matches: String(exitCode)) else { return false }
            }
            if let pattern = onReason {
                guard Self.glob(pattern, matches: reason ?? "") else { return false }
            }
            if let pattern = onStatusReason {
                guard Self.glob(pattern, matches: statusReason ?? "") else { return false }
            }
            return true
        }
    }

    /// Total attempts including the first, 1 to 10.
    public var attempts: Int
    public var evaluateOnExit: [Rule]

    public init(attempts: Int, evaluateOnExit: [Rule] = []) {
        self.attempts = attempts
        self.evaluateOnExit = evaluateOnExit
    }

    /// Whether a failed attempt number `attempt` is followed by another. Rules are tried in
    /// order and the first match decides; with rules and no match, the job is retried (the
    /// guide's rule, which is why it recommends a final catch-all EXIT).
    public func shouldRetry(afterAttempt attempt: Int, exitCode: Int32?, reason: String?, statusReason: String?) -> Bool {
        guard attempt < attempts else { return false }
        for rule in evaluateOnExit where rule.matches(exitCode: exitCode, reason: reason, statusReason: statusReason) {
            return rule.action == "RETRY"
        }
        return true
    }
}
