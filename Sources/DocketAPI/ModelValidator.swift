import DocketCore

/// The AWS Batch service model as the server uses it: each operation's method, URI and input
/// shape, and the shapes inputs reach. Generated from botocore (ServiceModel.swift).
enum ServiceModel {
    struct Operation: Sendable {
        var name: String
        var method: String
        var uri: String
        var input: String?
    }

    struct Shape: Sendable {
        var type: String
        var required: [String]
        var enumeration: [String]?
        var minimum: Double?
        var maximum: Double?
        /// Structure members: name -> shape name.
        var members: [String: String]
        /// List element, or map key and value, shape names.
        var member: String?
        var key: String?
        var value: String?
    }

    struct Parsed: Sendable {
        var operations: [String: Operation]
        var shapes: [String: Shape]
    }

    /// Parsed once, at first use (a static is initialised lazily and thread-safely).
    static let parsed: Parsed = {
        guard let root = try? JSONParser.parse(Array(document.utf8)) else { preconditionFailure("ServiceModel.document is not JSON; regenerate it") }
        var operations: [String: Operation] = [:]
        for (name, entry) in root["operations"]?.objectValue ?? [:] {
            operations[name] = Operation(name: name, method: entry["method"]?.stringValue ?? "POST", uri: entry["uri"]?.stringValue ?? "",
                                         input: entry["input"]?.stringValue)
        }
        var shapes: [String: Shape] = [:]
        for (name, entry) in root["shapes"]?.objectValue ?? [:] {
            shapes[name] = Shape(type: entry["type"]?.stringValue ?? "structure",
                                 required: entry["required"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                                 enumeration: entry["enum"]?.arrayValue?.compactMap(\.stringValue),
                                 minimum: entry["min"]?.doubleValue, maximum: entry["max"]?.doubleValue,
                                 members: (entry["members"]?.objectValue ?? [:]).compactMapValues(\.stringValue),
                                 member: entry["member"]?.stringValue, key: entry["key"]?.stringValue, value: entry["value"]?.stringValue)
        }
        return Parsed(operations: operations, shapes: shapes)
    }()
}

/// Checks a request's members against the operation's input shape in the service model:
/// types, required members, enums, string lengths, list and map sizes and number ranges, at
/// every depth. Each error names the member's path ("containerOverrides.environment[2].name")
/// and the rule. Members the model does not know are accepted and ignored, so a client built
/// against a newer model still works; Docket's own rules (the resources' files) run after this.
enum ModelValidator {
    /// Enums AWS documents as case-insensitive although the model lists them in upper case
    /// (evaluateOnExit's action, reference §4.6).
    static let caseInsensitiveEnums: Set<String> = ["RetryAction"]

    /// What to say of a missing member where the model's shape says too little.
    static let requiredHints: [String: String] = [
        "computeResources.subnets": " (AWS's rule); Docket ignores it, so send an empty list",
        "jobs": ": a list of 1 to 100 job ids or ARNs",
        "tagKeys": ": give 1 to 50 keys as ?tagKeys=KEY&tagKeys=KEY2",
    ]

    static func validate(operation: String, input: [String: JSONValue]) throws(DocketError) {
        let model = ServiceModel.parsed
        guard let shapeName = model.operations[operation]?.input else {
            assert(model.operations[operation] != nil, "operation \(operation) is not in the service model")
            return
        }
        try check(.object(input), shape: shapeName, path: "", model: model)
    }

    private static func check(_ value: JSONValue, shape name: String, path: String, model: ServiceModel.Parsed) throws(DocketError) {
        guard let shape = model.shapes[name] else { return }
        let label = path.isEmpty ? "the request" : path
        func wrong(_ expected: String) -> DocketError { .invalid(path, "\(label) must be \(expected).") }
        switch shape.type {
        case "structure":
            guard case .object(let members) = value else { throw wrong("an object") }
            for required in shape.required where members[required] == nil || members[required] == .null {
                let field = path.isEmpty ? required : "\(path).\(required)"
                throw .invalid(field, "\(field) is required\(requiredHints[field] ?? hint(for: shape.members[required], model: model)).")
            }
            for (member, memberValue) in members.sorted(by: { $0.key < $1.key }) where memberValue != .null {
                guard let memberShape = shape.members[member] else { continue }
                try check(memberValue, shape: memberShape, path: path.isEmpty ? member : "\(path).\(member)", model: model)
            }
        case "list":
            guard case .array(let items) = value else { throw wrong("a list") }
            try checkCount(items.count, shape: shape, label: label, path: path)
            guard let element = shape.member else { return }
            for (index, item) in items.enumerated() {
                try check(item, shape: element, path: "\(path)[\(index)]", model: model)
            }
        case "map":
            guard case .object(let entries) = value else { throw wrong("a map") }
            try checkCount(entries.count, shape: shape, label: label, path: path)
            for (key, entry) in entries.sorted(by: { $0.key < $1.key }) {
                if let keyShape = shape.key { try check(.string(key), shape: keyShape, path: "\(path) key '\(key)'", model: model) }
                if let valueShape = shape.value { try check(entry, shape: valueShape, path: "\(path).\(key)", model: model) }
            }
        case "string":
            guard case .string(let text) = value else { throw wrong("a string") }
            if let allowed = shape.enumeration,
               !(caseInsensitiveEnums.contains(name) ? allowed.contains(text.uppercased()) : allowed.contains(text)) {
                throw .invalid(path, "\(label) is '\(text.prefix(64))'; it must be one of \(allowed.joined(separator: ", ")).")
            }
            let length = text.count
            if let minimum = shape.minimum, Double(length) < minimum {
                throw .invalid(path, "\(label) is \(length) characters long; it must be at least \(Int(minimum)).")
            }
            if let maximum = shape.maximum, Double(length) > maximum {
                throw .invalid(path, "\(label) is \(length) characters long; it must be at most \(Int(maximum)).")
            }
        case "integer", "long":
            guard case .number(let number) = value, number.rounded() == number else { throw wrong("an integer") }
            let range: ClosedRange<Double> = shape.type == "integer" ? Double(Int32.min)...Double(Int32.max) : -9.0e15...9.0e15
            guard range.contains(number) else {
                throw .invalid(path, "\(label) is \(String(format: "%.0f", number)); it is out of range for \(shape.type == "integer" ? "a 32-bit integer" : "a JSON integer (at most 9e15)").")
            }
            try checkRange(number, shape: shape, label: label, path: path)
        case "float", "double":
            guard case .number(let number) = value else { throw wrong("a number") }
            try checkRange(number, shape: shape, label: label, path: path)
        case "boolean":
            guard case .bool = value else { throw wrong("true or false") }
        case "timestamp":
            switch value {
            case .number, .string: break
            default: throw wrong("a time (epoch seconds or an ISO 8601 string)")
            }
        default:
            break
        }
    }

    /// What a missing member should hold, when the model says more than its type: "; it must be
    /// one of A, B", "; give 1 to 100 entries".
    private static func hint(for shapeName: String?, model: ServiceModel.Parsed) -> String {
        guard let shapeName, let shape = model.shapes[shapeName] else { return "" }
        if let allowed = shape.enumeration { return "; it must be one of \(allowed.joined(separator: ", "))" }
        if shape.type == "list" || shape.type == "map" {
            let noun = shape.type == "list" ? "entries" : "tags"
            switch (shape.minimum, shape.maximum) {
            case let (minimum?, maximum?): return "; give \(Int(minimum)) to \(Int(maximum)) \(noun)"
            case let (minimum?, nil): return "; give at least \(Int(minimum)) \(noun)"
            default: return shape.type == "list" ? "; give a list" : ""
            }
        }
        return ""
    }

    private static func checkCount(_ count: Int, shape: ServiceModel.Shape, label: String, path: String) throws(DocketError) {
        if let minimum = shape.minimum, Double(count) < minimum {
            throw .invalid(path, "\(label) has \(count) entries; at least \(Int(minimum)) \(minimum == 1 ? "is" : "are") required.")
        }
        if let maximum = shape.maximum, Double(count) > maximum {
            throw .invalid(path, "\(label) has \(count) entries; at most \(Int(maximum)) are allowed.")
        }
    }

    private static func checkRange(_ number: Double, shape: ServiceModel.Shape, label: String, path: String) throws(DocketError) {
        let shown = number.rounded() == number ? String(Int64(number)) : String(number)
        if let minimum = shape.minimum, number < minimum {
            throw .invalid(path, "\(label) is \(shown); it must be at least \(Int64(minimum)).")
        }
        if let maximum = shape.maximum, number > maximum {
            throw .invalid(path, "\(label) is \(shown); it must be at most \(Int64(maximum)).")
        }
    }
}
