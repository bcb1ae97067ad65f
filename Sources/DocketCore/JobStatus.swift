/// AWS Batch's job states (JobStatus in the API model), in lifecycle order.
public enum JobStatus: String, Sendable, Codable, CaseIterable, Comparable {
    case submitted = "SUBMITTED"
    case pending = "PENDING"
    case runnable = "RUNNABLE"
    case starting = "STARTING"
    case running = "RUNNING"
    case succeeded = "SUCCEEDED"
    case failed = "FAILED"

    public var isTerminal: Bool { self == .succeeded || self == .failed }

    /// Whether an attempt holds capacity on a compute environment in this state.
    public var holdsCapacity: Bool { self == .starting || self == .running }

    /// The legal transitions (reference §5.2). SUBMITTED/PENDING/RUNNABLE may fail through
    /// CancelJob; STARTING may fall back to RUNNABLE when the executor cannot start it now;
    /// RUNNING goes back to RUNNABLE for a retry.
    public func canMove(to next: JobStatus) -> Bool {
        switch (self, next) {
        case (.submitted, .pending), (.submitted, .runnable), (.submitted, .failed): return true
        case (.pending, .runnable), (.pending, .failed): return true
        case (.runnable, .starting), (.runnable, .failed): return true
        case (.starting, .running), (.starting, .runnable), (.starting, .failed): return true
        case (.running, .succeeded), (.running, .failed), (.running, .runnable): return true
        default: return false
        }
    }

    private var rank: Int { JobStatus.allCases.firstIndex(of: self)! }
    public static func < (lhs: JobStatus, rhs: JobStatus) -> Bool { lhs.rank < rhs.rank }
}

/// One entry of the job state change log: a job's status changed, durably, at `at`.
/// `job` carries the status and statusReason of that change; its other fields are as stored now.
public struct JobEvent: Sendable, Hashable {
    /// Strictly increasing; a reader resumes after the last cursor it saw.
    public var cursor: Int64
    public var at: Int64
    public var job: Job

    public init(cursor: Int64, at: Int64, job: Job) {
        self.cursor = cursor
        self.at = at
        self.job = job
    }
}
