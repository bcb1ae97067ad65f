import DocketCore
import Foundation

extension Workload {
    /// Reads a workload file (the format in `Workload`'s comment) and validates it.
    /// - Throws: `SimulationError(.invalidWorkload)` naming the file, the field and the fix.
    package static func load(path: String) throws(SimulationError) -> Workload {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalid("workload", "workload file '\(path)' cannot be read; check the path and its permissions.")
        }
        do {
            return try parse(Array(data))
        } catch {
            throw SimulationError(error.code, "\(path): \(error.message)", field: error.field, cause: error.cause)
        }
    }

    /// Parses and validates a workload from JSON bytes.
    /// - Throws: `SimulationError(.invalidWorkload)` naming the field and the fix.
    package static func parse(_ bytes: [UInt8]) throws(SimulationError) -> Workload {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw .invalid("workload", "workload is not valid JSON at byte \(error.offset): \(error.message).")
        }
        let root = try Fields(value, at: "workload", allowed: ["seed", "days", "windowSeconds", "computeEnvironment", "policy", "shares", "jobs"])
        var workload = Workload()
        if let seed = try root.number("seed") {
            guard seed >= 0, seed.rounded() == seed else { throw .invalid("seed", "workload: seed is \(seed); give a whole number 0 or more.") }
            workload.seed = UInt64(seed)
        }
        workload.days = try root.number("days") ?? workload.days
        if let window = try root.number("windowSeconds") { workload.windowSeconds = Int64(window) }
        if let environment = root["computeEnvironment"] {
            let fields = try Fields(environment, at: "computeEnvironment", allowed: ["vcpus", "memoryMiB", "gpus"])
            workload.computeEnvironment = Capacity(vcpus: try fields.number("vcpus") ?? 64,
                                                   memoryMiB: try fields.number("memoryMiB").map { Int64($0) },
                                                   gpus: Int64(try fields.number("gpus") ?? 0))
        }
        if let policy = root["policy"] {
            let fields = try Fields(policy, at: "policy", allowed: ["name", "settings"])
            let settings = fields["settings"] ?? .object([:])
            guard settings.objectValue != nil else {
                throw .invalid("policy.settings", "workload: policy.settings must be a JSON object, e.g. {\"shareDecaySeconds\": 3600}.")
            }
            workload.policy = PolicyChoice(name: try fields.string("name") ?? "fifo", settings: settings)
        }
        for (index, share) in (try root.array("shares") ?? []).enumerated() {
            workload.shares.append(try ShareWorkload(json: share, at: "shares[\(index)]"))
        }
        for (index, job) in (try root.array("jobs") ?? []).enumerated() {
            workload.jobs.append(try TracedJob(json: job, at: "jobs[\(index)]"))
        }
        try workload.validate()
        return workload
    }
}

extension ShareWorkload {
    init(json: JSONValue, at field: String) throws(SimulationError) {
        let fields = try Fields(json, at: field, allowed: ["shareIdentifier", "backlogged", "arrivalsPerHour", "vcpus", "memoryMiB", "gpus",
                                                          "durationSeconds", "schedulingPriority", "startHours", "stopHours", "backlogDepth"])
        guard let share = try fields.string("shareIdentifier") else {
            throw .invalid("\(field).shareIdentifier", "workload: \(field) has no shareIdentifier; name the share, e.g. \"shareIdentifier\": \"teamA\".")
        }
        self.init(share, backlogged: try fields.bool("backlogged") ?? false, arrivalsPerHour: try fields.number("arrivalsPerHour"),
                  vcpus: try fields.distribution("vcpus") ?? .constant(1), memoryMiB: try fields.number("memoryMiB").map { Int64($0) },
                  gpus: Int64(try fields.number("gpus") ?? 0), durationSeconds: try fields.distribution("durationSeconds") ?? .constant(600),
                  schedulingPriority: Int(try fields.number("schedulingPriority") ?? 0), startHours: try fields.number("startHours") ?? 0,
                  stopHours: try fields.number("stopHours"), backlogDepth: try fields.number("backlogDepth").map { Int($0) })
    }
}

extension TracedJob {
    init(json: JSONValue, at field: String) throws(SimulationError) {
        let fields = try Fields(json, at: field, allowed: ["atSeconds", "shareIdentifier", "vcpus", "memoryMiB", "gpus", "durationSeconds",
                                                          "schedulingPriority"])
        guard let duration = try fields.number("durationSeconds") else {
            throw .invalid("\(field).durationSeconds", "workload: \(field) has no durationSeconds; say how long the job runs, e.g. \"durationSeconds\": 600.")
        }
        self.init(atSeconds: try fields.number("atSeconds") ?? 0, shareIdentifier: try fields.string("shareIdentifier"),
                  vcpus: try fields.number("vcpus") ?? 1, memoryMiB: try fields.number("memoryMiB").map { Int64($0) },
                  gpus: Int64(try fields.number("gpus") ?? 0), durationSeconds: duration,
                  schedulingPriority: Int(try fields.number("schedulingPriority") ?? 0))
    }
}

/// One JSON object of the workload, read field by field with errors that name the path.
private struct Fields {
    let members: [String: JSONValue]
    let path: String

    init(_ value: JSONValue, at path: String, allowed: Set<String>) throws(SimulationError) {
        guard let members = value.objectValue else {
            throw .invalid(path, "workload: \(path) must be a JSON object.")
        }
        if let unknown = members.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw .invalid("\(path).\(unknown)", "workload: \(path) has the unknown key \"\(unknown)\"; the keys are \(allowed.sorted().joined(separator: ", ")).")
        }
        self.members = members
        self.path = path
    }

    subscript(key: String) -> JSONValue? {
        if case .null? = members[key] { return nil }
        return members[key]
    }

    func number(_ key: String) throws(SimulationError) -> Double? {
        guard let value = self[key] else { return nil }
        guard let number = value.doubleValue else { throw .invalid("\(path).\(key)", "workload: \(path).\(key) must be a number.") }
        return number
    }

    func string(_ key: String) throws(SimulationError) -> String? {
        guard let value = self[key] else { return nil }
        guard let string = value.stringValue else { throw .invalid("\(path).\(key)", "workload: \(path).\(key) must be a string.") }
        return string
    }

    func bool(_ key: String) throws(SimulationError) -> Bool? {
        guard let value = self[key] else { return nil }
        guard let bool = value.boolValue else { throw .invalid("\(path).\(key)", "workload: \(path).\(key) must be true or false.") }
        return bool
    }

    func array(_ key: String) throws(SimulationError) -> [JSONValue]? {
        guard let value = self[key] else { return nil }
        guard let array = value.arrayValue else { throw .invalid("\(path).\(key)", "workload: \(path).\(key) must be a JSON array.") }
        return array
    }

    /// A number, or {"uniform": [low, high]}, {"exponential": mean} or {"choice": [values]}.
    func distribution(_ key: String) throws(SimulationError) -> Distribution? {
        guard let value = self[key] else { return nil }
        if let number = value.doubleValue { return .constant(number) }
        let field = "\(path).\(key)"
        let usage = "give a number, {\"uniform\": [low, high]}, {\"exponential\": mean} or {\"choice\": [v1, v2]}"
        guard let object = value.objectValue, object.count == 1, let (kind, parameter) = object.first else {
            throw .invalid(field, "workload: \(field) is not a distribution; \(usage).")
        }
        let numbers = parameter.arrayValue?.compactMap(\.doubleValue)
        switch kind {
        case "uniform":
            guard let numbers, numbers.count == 2, parameter.arrayValue?.count == 2 else {
                throw .invalid(field, "workload: \(field).uniform must be [low, high], two numbers.")
            }
            return .uniform(numbers[0], numbers[1])
        case "exponential":
            guard let mean = parameter.doubleValue else { throw .invalid(field, "workload: \(field).exponential must be the mean, a number.") }
            return .exponential(mean: mean)
        case "choice":
            guard let numbers, numbers.count == parameter.arrayValue?.count, !numbers.isEmpty else {
                throw .invalid(field, "workload: \(field).choice must be a non-empty array of numbers.")
            }
            return .choice(numbers)
        default:
            throw .invalid(field, "workload: \(field) has the unknown distribution \"\(kind)\"; \(usage).")
        }
    }
}
