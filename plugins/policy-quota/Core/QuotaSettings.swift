import DocketPolicySupport

/// Amounts per capacity unit, in the order of `QuotaUnit`: vCPUs in thousandths, memory in MiB,
/// GPUs, running jobs. One SIMD vector, so a fit test is one compare.
public typealias QuotaAmounts = SIMD4<Int64>

/// The capacity units a quota share may limit (reference §6.5, carried over to compute jobs).
public enum QuotaUnit: Int, CaseIterable, Sendable {
    case vcpu = 0, memory = 1, gpu = 2, jobs = 3

    /// The name in `capacityLimits[].capacityUnit`.
    public var configName: String {
        switch self {
        case .vcpu: return "VCPU"
        case .memory: return "MEMORY"
        case .gpu: return "GPU"
        case .jobs: return "JOBS"
        }
    }
}

/// A quota policy's settings: the queue's quota shares (AWS Batch's CreateQuotaShare bodies) and,
/// optionally, the queue's total capacity.
public struct QuotaSettings: Equatable, Sendable {
    /// What stands for "no limit" in a unit a share does not list: large enough never to bind, small
    /// enough that 20 of them add up without overflow.
    public static let unlimited: Int64 = Int64.max / 64
    /// AWS Batch's limit of quota shares per job queue.
    public static let maxShares = 20

    /// `resourceSharingConfiguration.strategy`.
    public enum Strategy: String, Sendable {
        /// Keeps idle capacity for its own jobs; neither lends nor borrows.
        case reserve = "RESERVE"
        /// Lends idle capacity; does not borrow.
        case lend = "LEND"
        /// Lends idle capacity and borrows others', up to `borrowLimit`.
        case lendAndBorrow = "LEND_AND_BORROW"
    }

    public struct Share: Equatable, Sendable {
        public var name: String
        /// DISABLED shares take no new jobs (the host refuses them); queued ones still run.
        public var isEnabled: Bool
        /// Per unit; `QuotaSettings.unlimited` where the share lists no limit.
        public var limits: QuotaAmounts
        public var strategy: Strategy
        /// Percent of `limits` the share may borrow on top of them, per unit; -1 = unlimited.
        /// Only for `.lendAndBorrow`.
        public var borrowLimit: Int64
        public var inSharePreemption: Bool

        public init(name: String, isEnabled: Bool = true, vcpuMillis: Int64? = nil, memoryMiB: Int64? = nil, gpus: Int64? = nil,
                    jobs: Int64? = nil, strategy: Strategy = .reserve, borrowLimit: Int64 = -1, inSharePreemption: Bool = false) {
            self.name = name
            self.isEnabled = isEnabled
            let u = QuotaSettings.unlimited
            limits = QuotaAmounts(vcpuMillis ?? u, memoryMiB ?? u, gpus ?? u, jobs ?? u)
            self.strategy = strategy
            self.borrowLimit = borrowLimit
            self.inSharePreemption = inSharePreemption
        }

        /// Whether it lends its idle capacity.
        public var isLender: Bool { strategy != .reserve }
        /// Whether it may run jobs on capacity other shares lend.
        public var canBorrow: Bool { strategy == .lendAndBorrow }

        /// The most the share may use per unit: its limits, plus `borrowLimit`% of them when it
        /// borrows.
        public var ceiling: QuotaAmounts {
            guard canBorrow else { return limits }
            var result = limits
            for unit in 0..<4 where limits[unit] < QuotaSettings.unlimited {
                if borrowLimit < 0 {
                    result[unit] = QuotaSettings.unlimited
                } else {
                    let (extra, overflow) = limits[unit].multipliedReportingOverflow(by: borrowLimit)
                    result[unit] = overflow ? QuotaSettings.unlimited : min(QuotaSettings.unlimited, limits[unit] + extra / 100)
                }
            }
            return result
        }
    }

    public var shares: [Share]
    /// The queue's total capacity (vCPUs in thousandths, MiB, GPUs), for the shares' target
    /// percentages; nil when not given.
    public var capacity: QuotaAmounts?

    public init(shares: [Share], capacity: QuotaAmounts? = nil) {
        self.shares = shares
        self.capacity = capacity
    }

    /// Reads and checks settings from the JSON text handed to `create`.
    /// - Throws: `QuotaSettingsError` naming the key path, the value and the fix; nothing is kept
    ///   from settings that fail.
    public init(json: String) throws(QuotaSettingsError) {
        let document: SettingsJSON
        do {
            document = try SettingsJSON.parse(json)
        } catch {
            throw QuotaSettingsError(field: "", "settings are not JSON (\(error.message)); give an object such as {\"quotaShares\": [...]}.")
        }
        guard case .object(let members) = document else {
            throw QuotaSettingsError(field: "", "settings are \(document.quoted), not a JSON object; give an object such as {\"quotaShares\": [...]}.")
        }
        self.init(shares: [])
        var seen: Set<String> = []
        for (key, value) in members {
            guard seen.insert(key).inserted else { throw QuotaSettingsError(field: key, "\(key): given twice; give it once.") }
            switch key {
            case "quotaShares":
                guard case .array(let entries) = value else {
                    throw QuotaSettingsError(field: key, "quotaShares: \(value.quoted) is not an array; give [{\"name\": \"teamA\", \"capacityLimits\": [...]}, …].")
                }
                guard entries.count <= Self.maxShares else {
                    throw QuotaSettingsError(field: key, "quotaShares: \(entries.count) shares; a job queue has at most \(Self.maxShares) (AWS Batch's limit).")
                }
                var firstIndex: [String: Int] = [:]
                for (index, entry) in entries.enumerated() {
                    let share = try Self.share(entry, path: "quotaShares[\(index)]")
                    if let earlier = firstIndex[share.name] {
                        throw QuotaSettingsError(field: "quotaShares[\(index)].name",
                                                 "quotaShares[\(index)].name: '\(share.name)' is also the name of quotaShares[\(earlier)]; give each quota share its own name.")
                    }
                    firstIndex[share.name] = index
                    shares.append(share)
                }
            case "capacity":
                capacity = try Self.capacity(value)
            case "idleResourceAssignmentStrategy":
                guard value == .string("FIFO") else {
                    throw QuotaSettingsError(field: key, "idleResourceAssignmentStrategy: \(value.quoted) is not FIFO, the only strategy; give \"FIFO\" or leave it out.")
                }
            default:
                throw QuotaSettingsError(field: key, "\(key): unknown key; the keys are quotaShares, capacity and idleResourceAssignmentStrategy.")
            }
        }
    }

    private static func capacity(_ value: SettingsJSON) throws(QuotaSettingsError) -> QuotaAmounts {
        guard case .object(let members) = value else {
            throw QuotaSettingsError(field: "capacity", "capacity: \(value.quoted) is not an object; give {\"vcpuMillis\": 16000, \"memoryMiB\": 65536, \"gpus\": 4}.")
        }
        var result = QuotaAmounts(0, 0, 0, unlimited)
        for (key, value) in members {
            let field = "capacity.\(key)"
            let unit: Int
            switch key {
            case "vcpuMillis": unit = 0
            case "memoryMiB": unit = 1
            case "gpus": unit = 2
            default: throw QuotaSettingsError(field: field, "\(field): unknown key; capacity has vcpuMillis, memoryMiB and gpus.")
            }
            guard case .number(let text) = value, let number = Int64(text), number >= 0 else {
                throw QuotaSettingsError(field: field, "\(field): \(value.quoted) is not a whole number of 0 or more; give the queue's total, e.g. 16000 for 16 vCPUs.")
            }
            result[unit] = number
        }
        return result
    }

    private static func share(_ entry: SettingsJSON, path: String) throws(QuotaSettingsError) -> Share {
        guard case .object(let members) = entry else {
            throw QuotaSettingsError(field: path, "\(path): \(entry.quoted) is not an object; give {\"name\": \"teamA\", \"capacityLimits\": [...], \"resourceSharingConfiguration\": {\"strategy\": \"RESERVE\"}}.")
        }
        var name: String?
        var share = Share(name: "")
        var hasLimits = false
        var borrowLimit: (value: Int64, field: String)?
        for (key, value) in members {
            let field = "\(path).\(key)"
            switch key {
            case "name", "quotaShareName":
                guard case .string(let text) = value, !text.isEmpty else {
                    throw QuotaSettingsError(field: field, "\(field): \(value.quoted) is not a share name; give a non-empty string.")
                }
                name = text
            case "state":
                switch value {
                case .string("ENABLED"): share.isEnabled = true
                case .string("DISABLED"): share.isEnabled = false
                default: throw QuotaSettingsError(field: field, "\(field): \(Self.single(value)) is not ENABLED or DISABLED.")
                }
            case "capacityLimits":
                share.limits = try limits(value, path: field)
                hasLimits = true
            case "resourceSharingConfiguration":
                guard case .object(let sharing) = value else {
                    throw QuotaSettingsError(field: field, "\(field): \(value.quoted) is not an object; give {\"strategy\": \"LEND_AND_BORROW\", \"borrowLimit\": 100}.")
                }
                for (key, value) in sharing {
                    let inner = "\(field).\(key)"
                    switch key {
                    case "strategy":
                        guard case .string(let text) = value, let strategy = Strategy(rawValue: text) else {
                            throw QuotaSettingsError(field: inner, "\(inner): \(Self.single(value)) is not RESERVE, LEND or LEND_AND_BORROW.")
                        }
                        share.strategy = strategy
                    case "borrowLimit":
                        guard case .number(let text) = value, let number = Int64(text) else {
                            throw QuotaSettingsError(field: inner, "\(inner): \(value.quoted) is not a whole number; give a percentage of the share's limits, or -1 for no limit.")
                        }
                        guard number >= -1 else {
                            throw QuotaSettingsError(field: inner, "\(inner): \(text) is less than -1; give -1 (no limit) or a percentage of 0 or more.")
                        }
                        borrowLimit = (number, inner)
                    default:
                        throw QuotaSettingsError(field: inner, "\(inner): unknown key; resourceSharingConfiguration has strategy and borrowLimit.")
                    }
                }
            case "preemptionConfiguration":
                guard case .object(let preemption) = value else {
                    throw QuotaSettingsError(field: field, "\(field): \(value.quoted) is not an object; give {\"inSharePreemption\": \"DISABLED\"}.")
                }
                for (key, value) in preemption {
                    let inner = "\(field).\(key)"
                    guard key == "inSharePreemption" else {
                        throw QuotaSettingsError(field: inner, "\(inner): unknown key; preemptionConfiguration has inSharePreemption.")
                    }
                    switch value {
                    case .string("ENABLED"): share.inSharePreemption = true
                    case .string("DISABLED"): share.inSharePreemption = false
                    default: throw QuotaSettingsError(field: inner, "\(inner): \(Self.single(value)) is not ENABLED or DISABLED.")
                    }
                }
            case "quotaShareArn", "jobQueue", "status", "tags":
                continue  // what DescribeQuotaShare returns besides the settings; nothing to schedule by
            default:
                throw QuotaSettingsError(field: field, "\(field): unknown key; a quota share has name, state, capacityLimits, resourceSharingConfiguration and preemptionConfiguration.")
            }
        }
        guard let name else {
            throw QuotaSettingsError(field: "\(path).name", "\(path).name: missing; give the quota share's name.")
        }
        share.name = name
        guard hasLimits else {
            throw QuotaSettingsError(field: "\(path).capacityLimits", "\(path).capacityLimits: missing; give 1 to 4 limits such as [{\"capacityUnit\": \"VCPU\", \"maxCapacity\": 8}].")
        }
        if let borrowLimit {
            guard share.strategy == .lendAndBorrow else {
                throw QuotaSettingsError(field: borrowLimit.field, "\(borrowLimit.field): given with strategy \(share.strategy.rawValue); only LEND_AND_BORROW borrows, so remove borrowLimit or change the strategy.")
            }
            share.borrowLimit = borrowLimit.value
        }
        return share
    }

    private static func limits(_ value: SettingsJSON, path: String) throws(QuotaSettingsError) -> QuotaAmounts {
        guard case .array(let entries) = value, !entries.isEmpty else {
            throw QuotaSettingsError(field: path, "\(path): \(value.quoted) is not a non-empty array; give 1 to 4 limits such as [{\"capacityUnit\": \"VCPU\", \"maxCapacity\": 8}].")
        }
        var limits = QuotaAmounts(repeating: unlimited)
        var given: [Int: Int] = [:]
        for (index, entry) in entries.enumerated() {
            let entryPath = "\(path)[\(index)]"
            guard case .object(let members) = entry else {
                throw QuotaSettingsError(field: entryPath, "\(entryPath): \(entry.quoted) is not an object; give {\"capacityUnit\": \"VCPU\", \"maxCapacity\": 8}.")
            }
            var unit: QuotaUnit?
            var amount: SettingsJSON?
            for (key, value) in members {
                let field = "\(entryPath).\(key)"
                switch key {
                case "capacityUnit":
                    guard case .string(let text) = value, let found = QuotaUnit.allCases.first(where: { $0.configName == text }) else {
                        throw QuotaSettingsError(field: field, "\(field): \(Self.single(value)) is not VCPU, MEMORY, GPU or JOBS; use one of them.")
                    }
                    if let earlier = given[found.rawValue] {
                        throw QuotaSettingsError(field: field, "\(field): '\(found.configName)' is also limited by \(path)[\(earlier)]; give each unit once.")
                    }
                    given[found.rawValue] = index
                    unit = found
                case "maxCapacity":
                    amount = value
                default:
                    throw QuotaSettingsError(field: field, "\(field): unknown key; a capacity limit has capacityUnit and maxCapacity.")
                }
            }
            guard let unit else {
                throw QuotaSettingsError(field: "\(entryPath).capacityUnit", "\(entryPath).capacityUnit: missing; give VCPU, MEMORY, GPU or JOBS.")
            }
            guard let amount else {
                throw QuotaSettingsError(field: "\(entryPath).maxCapacity", "\(entryPath).maxCapacity: missing; give the share's limit in \(unit.configName) units.")
            }
            limits[unit.rawValue] = try maxCapacity(amount, unit: unit, field: "\(entryPath).maxCapacity")
        }
        return limits
    }

    /// A limit in the unit's own terms: vCPUs may have up to three decimals (kept as thousandths).
    private static func maxCapacity(_ value: SettingsJSON, unit: QuotaUnit, field: String) throws(QuotaSettingsError) -> Int64 {
        guard case .number(let text) = value else {
            throw QuotaSettingsError(field: field, "\(field): \(value.quoted) is not a number; give a number of 1 or more without quotes.")
        }
        let parsed: Int64?
        if unit == .vcpu {
            parsed = thousandths(text)
            if parsed == nil {
                throw QuotaSettingsError(field: field, "\(field): \(text) is not a number of vCPUs with at most three decimals; give e.g. 8 or 0.5.")
            }
        } else {
            parsed = Int64(text)
            if parsed == nil {
                throw QuotaSettingsError(field: field, "\(field): \(text) is not a whole number; \(unit.configName) limits are counted in whole units.")
            }
        }
        let number = parsed!
        guard number >= (unit == .vcpu ? 1000 : 1) else {
            throw QuotaSettingsError(field: field, "\(field): \(text) is less than 1; give at least 1, or leave the unit out for no limit.")
        }
        guard number < unlimited else {
            throw QuotaSettingsError(field: field, "\(field): \(text) is too large; leave the unit out for no limit.")
        }
        return number
    }

    /// "8" → 8000, "0.5" → 500, "1.125" → 1125; nil for more decimals, exponents or signs.
    static func thousandths(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = Int64(parts[0]), whole >= 0, whole < unlimited / 1000 else { return nil }
        var fraction: Int64 = 0
        if parts.count == 2 {
            let digits = Array(parts[1].utf8)
            guard !digits.isEmpty, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
            let significant = digits.count > 3 && digits[3...].allSatisfy({ $0 == 48 }) ? Array(digits[0..<3]) : digits
            guard significant.count <= 3 else { return nil }
            for index in 0..<3 { fraction = fraction * 10 + (index < significant.count ? Int64(significant[index] - 48) : 0) }
        }
        return whole * 1000 + fraction
    }

    /// How a value reads in a message about an enumerated string: 'CPU' for strings, as written otherwise.
    private static func single(_ value: SettingsJSON) -> String {
        if case .string(let text) = value { return "'\(text)'" }
        return value.quoted
    }
}

/// Why settings were refused: the key path (`quotaShares[1].capacityLimits[0].capacityUnit`) and
/// one sentence naming the value and the fix, which starts with that path.
public struct QuotaSettingsError: Error, Equatable, Sendable {
    public var field: String
    public var message: String

    public init(field: String, _ message: String) {
        self.field = field
        self.message = message
    }
}
