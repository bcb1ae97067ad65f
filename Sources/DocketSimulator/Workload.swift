import DocketCore
import Foundation

/// What a simulation runs: one job queue on one compute environment, the jobs that arrive
/// on it, and (optionally) the scheduling policy. `docket simulate --workload FILE` reads it
/// from JSON; tests build it in code.
///
/// File format (JSON; every key but `shares`/`jobs` is optional, unknown keys are refused):
///
///     {
///       "seed": 42,                       // PRNG seed: the same file and seed give the same run
///       "days": 7,                        // simulated time in which jobs arrive (default 7)
///       "windowSeconds": 3600,            // the report's time window (default 3600: hourly)
///       "computeEnvironment": {"vcpus": 64, "memoryMiB": 262144, "gpus": 0},
///                                         // default 64 vCPUs, 4096 MiB per vCPU, 0 GPUs
///       "policy": {"name": "fairshare",   // "fifo" (default), "fairshare", or a plugin path
///                  "settings": {"shareDecaySeconds": 3600, "computeReservation": 0,
///                               "shareDistribution": [{"shareIdentifier": "a", "weightFactor": 0.5}]}},
///       "shares": [
///         {"shareIdentifier": "a", "backlogged": true,            // always has work queued
///          "vcpus": 2, "durationSeconds": {"uniform": [300, 900]}},
///         {"shareIdentifier": "b", "arrivalsPerHour": 40,          // Poisson arrivals
///          "vcpus": {"choice": [1, 2, 4]}, "memoryMiB": 2048,
///          "durationSeconds": {"exponential": 600},
///          "schedulingPriority": 0, "startHours": 24, "stopHours": 96}
///       ],
///       "jobs": [                                                   // explicit jobs (a trace)
///         {"atSeconds": 0, "shareIdentifier": "c", "vcpus": 8, "durationSeconds": 3600}
///       ]
///     }
///
/// A share's numeric fields (`vcpus`, `durationSeconds`) take a number or a distribution:
/// `{"uniform": [low, high]}`, `{"exponential": mean}` (durations only) or
/// `{"choice": [v1, v2, ...]}` (equally likely). A share is either `backlogged` (it keeps
/// enough jobs queued to fill the compute environment alone, from `startHours` to
/// `stopHours`) or has `arrivalsPerHour`. `memoryMiB` defaults to 2048 per vCPU, `gpus` to 0.
package struct Workload: Sendable, Hashable {
    package var seed: UInt64 = 1
    /// How long jobs arrive, in days; the run then drains the queue.
    package var days: Double = 7
    package var windowSeconds: Int64 = 3_600
    package var computeEnvironment = Capacity()
    /// The policy named in the file, if any (the caller may override it).
    package var policy: PolicyChoice?
    package var shares: [ShareWorkload] = []
    package var jobs: [TracedJob] = []

    package init(seed: UInt64 = 1, days: Double = 7, windowSeconds: Int64 = 3_600, computeEnvironment: Capacity = Capacity(),
                 policy: PolicyChoice? = nil, shares: [ShareWorkload] = [], jobs: [TracedJob] = []) {
        self.seed = seed
        self.days = days
        self.windowSeconds = windowSeconds
        self.computeEnvironment = computeEnvironment
        self.policy = policy
        self.shares = shares
        self.jobs = jobs
    }

    /// The compute environment's size.
    package struct Capacity: Sendable, Hashable {
        package var vcpus: Double
        /// nil: 4096 MiB per vCPU.
        package var memoryMiB: Int64?
        package var gpus: Int64

        package init(vcpus: Double = 64, memoryMiB: Int64? = nil, gpus: Int64 = 0) {
            self.vcpus = vcpus
            self.memoryMiB = memoryMiB
            self.gpus = gpus
        }

        var resources: Resources {
            let millis = Int64((vcpus * 1000).rounded())
            return Resources(vcpuMillis: millis, memoryMiB: memoryMiB ?? Int64(vcpus * 4096), gpus: gpus)
        }
    }

    /// The horizon in simulated milliseconds.
    var horizonMillis: Int64 { Int64((days * 86_400_000).rounded()) }

    /// Checks every rule the file format states, so a bad workload fails before anything runs.
    /// - Throws: `SimulationError(.invalidWorkload)` naming the field, the value and the fix.
    package func validate() throws(SimulationError) {
        guard days > 0, days <= 366 else {
            throw .invalid("days", "workload: days is \(days); give a number of days above 0 and at most 366.")
        }
        guard windowSeconds >= 1 else {
            throw .invalid("windowSeconds", "workload: windowSeconds is \(windowSeconds); give 1 or more (3600 reports hourly).")
        }
        let capacity = computeEnvironment.resources
        guard capacity.vcpuMillis >= 1, capacity.memoryMiB >= 1, capacity.gpus >= 0 else {
            throw .invalid("computeEnvironment", "workload: computeEnvironment has \(computeEnvironment.vcpus) vCPUs and \(capacity.memoryMiB) MiB; give at least 1 vCPU and 1 MiB (and 0 or more GPUs).")
        }
        guard !shares.isEmpty || !jobs.isEmpty else {
            throw .invalid("shares", "workload: it has no shares and no jobs; add at least one entry to \"shares\" or \"jobs\".")
        }
        var seen: Set<String> = []
        for (index, share) in shares.enumerated() {
            let field = "shares[\(index)]"
            guard !share.shareIdentifier.isEmpty else {
                throw .invalid("\(field).shareIdentifier", "workload: \(field) has an empty shareIdentifier; name the share, e.g. \"teamA\".")
            }
            guard seen.insert(share.shareIdentifier).inserted else {
                throw .invalid("\(field).shareIdentifier", "workload: share '\(share.shareIdentifier)' appears twice in shares; merge the entries or rename one.")
            }
            let name = "share '\(share.shareIdentifier)'"
            switch (share.isBacklogged, share.arrivalsPerHour) {
            case (true, nil): break
            case (false, let rate?) where rate > 0: break
            case (true, _?):
                throw .invalid("\(field).arrivalsPerHour", "workload: \(name) is backlogged and has arrivalsPerHour; keep one of the two.")
            default:
                throw .invalid("\(field).arrivalsPerHour", "workload: \(name) has no work; set \"backlogged\": true or \"arrivalsPerHour\" above 0.")
            }
            try share.vcpus.validate(field: "\(field).vcpus", allowsExponential: false)
            try share.durationSeconds.validate(field: "\(field).durationSeconds", allowsExponential: true)
            let request = Resources(vcpuMillis: Int64((share.vcpus.largest * 1000).rounded()),
                                    memoryMiB: share.memoryMiB ?? ShareWorkload.defaultMemory(vcpus: share.vcpus.largest),
                                    gpus: share.gpus)
            guard capacity.accommodates(request) else {
                throw .invalid("\(field).vcpus", "workload: \(name) asks up to \(share.vcpus.largest) vCPUs, \(request.memoryMiB) MiB and \(share.gpus) GPUs; the compute environment has \(computeEnvironment.vcpus) vCPUs, \(capacity.memoryMiB) MiB and \(capacity.gpus) GPUs. Make the jobs smaller or the compute environment larger.")
            }
            guard share.startHours >= 0, (share.stopHours ?? .infinity) > share.startHours else {
                throw .invalid("\(field).startHours", "workload: \(name) is active from hour \(share.startHours) to hour \(share.stopHours.map { "\($0)" } ?? "end"); give 0 <= startHours < stopHours.")
            }
            if let depth = share.backlogDepth, depth < 1 {
                throw .invalid("\(field).backlogDepth", "workload: \(name) has backlogDepth \(depth); give 1 or more, or leave it out.")
            }
        }
        for (index, job) in jobs.enumerated() {
            let field = "jobs[\(index)]"
            guard job.atSeconds >= 0, job.durationSeconds > 0, job.vcpus > 0 else {
                throw .invalid(field, "workload: \(field) arrives at \(job.atSeconds) s, asks \(job.vcpus) vCPUs and runs \(job.durationSeconds) s; give atSeconds >= 0, vcpus > 0 and durationSeconds > 0.")
            }
            guard capacity.accommodates(job.request) else {
                throw .invalid(field, "workload: \(field) asks \(job.vcpus) vCPUs, \(job.request.memoryMiB) MiB and \(job.gpus) GPUs, more than the compute environment has (\(computeEnvironment.vcpus) vCPUs, \(capacity.memoryMiB) MiB, \(capacity.gpus) GPUs).")
            }
        }
    }
}

/// Which policy plugin orders the queue, and its settings (the scheduling policy's JSON).
package struct PolicyChoice: Sendable, Hashable {
    /// A plugin name ("fifo", "fairshare") or the path of a policy plugin's shared library.
    package var name: String
    package var settings: JSONValue

    package init(name: String = "fifo", settings: JSONValue = .object([:])) {
        self.name = name
        self.settings = settings
    }

    /// The settings as the plugin's create() receives them.
    var settingsJSON: String { String(decoding: settings.serialized(), as: UTF8.self) }
}

/// One share's synthetic jobs: all carry its shareIdentifier.
package struct ShareWorkload: Sendable, Hashable {
    package var shareIdentifier: String
    /// Always has work queued while active (arrivals are ignored).
    package var isBacklogged: Bool
    /// Poisson arrivals per simulated hour, when not backlogged.
    package var arrivalsPerHour: Double?
    package var vcpus: Distribution
    /// nil: 2048 MiB per vCPU.
    package var memoryMiB: Int64?
    package var gpus: Int64
    package var durationSeconds: Distribution
    package var schedulingPriority: Int
    /// When the share starts and stops submitting, in hours from the start; nil: the end.
    package var startHours: Double
    package var stopHours: Double?
    /// How many jobs a backlogged share keeps queued; nil: enough to fill the compute
    /// environment alone, plus one.
    package var backlogDepth: Int?

    package init(_ shareIdentifier: String, backlogged: Bool = false, arrivalsPerHour: Double? = nil, vcpus: Distribution = .constant(1),
                 memoryMiB: Int64? = nil, gpus: Int64 = 0, durationSeconds: Distribution = .constant(600), schedulingPriority: Int = 0,
                 startHours: Double = 0, stopHours: Double? = nil, backlogDepth: Int? = nil) {
        self.shareIdentifier = shareIdentifier
        isBacklogged = backlogged
        self.arrivalsPerHour = arrivalsPerHour
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
        self.gpus = gpus
        self.durationSeconds = durationSeconds
        self.schedulingPriority = schedulingPriority
        self.startHours = startHours
        self.stopHours = stopHours
        self.backlogDepth = backlogDepth
    }

    static func defaultMemory(vcpus: Double) -> Int64 { max(128, Int64((vcpus * 2048).rounded(.up))) }
}

/// One explicit job of a trace.
package struct TracedJob: Sendable, Hashable {
    package var atSeconds: Double
    package var shareIdentifier: String?
    package var vcpus: Double
    package var memoryMiB: Int64?
    package var gpus: Int64
    package var durationSeconds: Double
    package var schedulingPriority: Int

    package init(atSeconds: Double, shareIdentifier: String?, vcpus: Double = 1, memoryMiB: Int64? = nil, gpus: Int64 = 0,
                 durationSeconds: Double, schedulingPriority: Int = 0) {
        self.atSeconds = atSeconds
        self.shareIdentifier = shareIdentifier
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
        self.gpus = gpus
        self.durationSeconds = durationSeconds
        self.schedulingPriority = schedulingPriority
    }

    var request: Resources {
        Resources(vcpuMillis: Int64((vcpus * 1000).rounded()), memoryMiB: memoryMiB ?? ShareWorkload.defaultMemory(vcpus: vcpus), gpus: gpus)
    }
}

/// A number drawn per job.
package enum Distribution: Sendable, Hashable {
    case constant(Double)
    /// Uniform between the two bounds.
    case uniform(Double, Double)
    /// Exponential with this mean (durations only).
    case exponential(mean: Double)
    /// One of the values, equally likely.
    case choice([Double])

    /// The largest value it can give (the mean for an exponential, which has no bound).
    var largest: Double {
        switch self {
        case .constant(let value): value
        case .uniform(let low, let high): max(low, high)
        case .exponential(let mean): mean
        case .choice(let values): values.max() ?? 0
        }
    }

    /// The smallest value it can give.
    var smallest: Double {
        switch self {
        case .constant(let value): value
        case .uniform(let low, let high): min(low, high)
        case .exponential: 0
        case .choice(let values): values.min() ?? 0
        }
    }

    /// As the file writes it.
    var written: String {
        func number(_ value: Double) -> String { value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value) }
        switch self {
        case .constant(let value): return number(value)
        case .uniform(let low, let high): return "{\"uniform\": [\(number(low)), \(number(high))]}"
        case .exponential(let mean): return "{\"exponential\": \(number(mean))}"
        case .choice(let values): return "{\"choice\": [\(values.map(number).joined(separator: ", "))]}"
        }
    }

    func draw(_ random: inout SplitMix64) -> Double {
        switch self {
        case .constant(let value): return value
        case .uniform(let low, let high): return low + (high - low) * random.nextUnit()
        case .exponential(let mean): return -mean * log(1 - random.nextUnit())
        case .choice(let values): return values[Int(random.next() % UInt64(values.count))]
        }
    }

    func validate(field: String, allowsExponential: Bool) throws(SimulationError) {
        switch self {
        case .constant(let value) where value > 0: return
        case .uniform(let low, let high) where low > 0 && high >= low: return
        case .exponential(let mean) where mean > 0:
            guard allowsExponential else {
                throw .invalid(field, "workload: \(field) is exponential; a job's vCPUs need a bound: use a number, {\"uniform\": [low, high]} or {\"choice\": [...]}.")
            }
            return
        case .choice(let values) where !values.isEmpty && values.allSatisfy({ $0 > 0 }): return
        default:
            throw .invalid(field, "workload: \(field) is \(written); give a number above 0, {\"uniform\": [low, high]} with 0 < low <= high, {\"exponential\": mean} or {\"choice\": [values above 0]}.")
        }
    }
}

/// The seeded pseudo-random source (SplitMix64): fast, and the same seed gives the same run.
package struct SplitMix64: Sendable {
    private var state: UInt64

    package init(seed: UInt64) { state = seed }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    package mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }
}
