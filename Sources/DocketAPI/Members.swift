import DocketCore

/// The members of a JSON object from a request, read with the API model's rules: each accessor
/// checks presence and type, and its error names the member (with its path) and the rule.
struct Members {
    let values: [String: JSONValue]
    /// The path of this object in the request ("containerOverrides"), "" at the top.
    let path: String

    init(_ values: [String: JSONValue], path: String = "") {
        self.values = values
        self.path = path
    }

    init(_ value: JSONValue, path: String) throws(DocketError) {
        guard case .object(let members) = value else {
            throw .invalid(path, "\(path) must be a JSON object.")
        }
        self.init(members, path: path)
    }

    func name(_ member: String) -> String { path.isEmpty ? member : "\(path).\(member)" }

    private func missing(_ member: String) -> DocketError {
        .invalid(name(member), "\(name(member)) is required.")
    }

    private func wrongType(_ member: String, _ type: String) -> DocketError {
        .invalid(name(member), "\(name(member)) must be \(type).")
    }

    func has(_ member: String) -> Bool {
        if let value = values[member], value != .null { return true }
        return false
    }

    func string(_ member: String) throws(DocketError) -> String? {
        guard let value = values[member], value != .null else { return nil }
        guard case .string(let text) = value else { throw wrongType(member, "a string") }
        return text
    }

    func requiredString(_ member: String) throws(DocketError) -> String {
        guard let text = try string(member) else { throw missing(member) }
        return text
    }

    func integer(_ member: String, in range: ClosedRange<Int64>? = nil) throws(DocketError) -> Int64? {
        guard let value = values[member], value != .null else { return nil }
        guard case .number(let number) = value, number.rounded() == number, abs(number) < 9.0e15 else {
            throw wrongType(member, "an integer")
        }
        let integer = Int64(number)
        if let range, !range.contains(integer) {
            throw .invalid(name(member), "\(name(member)) is \(integer); it must be between \(range.lowerBound) and \(range.upperBound).")
        }
        return integer
    }

    func requiredInteger(_ member: String, in range: ClosedRange<Int64>? = nil) throws(DocketError) -> Int64 {
        guard let integer = try integer(member, in: range) else { throw missing(member) }
        return integer
    }

    func bool(_ member: String) throws(DocketError) -> Bool? {
        guard let value = values[member], value != .null else { return nil }
        guard case .bool(let flag) = value else { throw wrongType(member, "true or false") }
        return flag
    }

    func object(_ member: String) throws(DocketError) -> Members? {
        guard let value = values[member], value != .null else { return nil }
        return try Members(value, path: name(member))
    }

    func array(_ member: String, maxCount: Int? = nil) throws(DocketError) -> [JSONValue]? {
        guard let value = values[member], value != .null else { return nil }
        guard case .array(let items) = value else { throw wrongType(member, "a list") }
        if let maxCount, items.count > maxCount {
            throw .invalid(name(member), "\(name(member)) has \(items.count) entries; at most \(maxCount) are allowed.")
        }
        return items
    }

    func objects(_ member: String, maxCount: Int? = nil) throws(DocketError) -> [Members]? {
        guard let items = try array(member, maxCount: maxCount) else { return nil }
        var result: [Members] = []
        for (index, item) in items.enumerated() { result.append(try Members(item, path: "\(name(member))[\(index)]")) }
        return result
    }

    func strings(_ member: String, maxCount: Int? = nil) throws(DocketError) -> [String]? {
        guard let items = try array(member, maxCount: maxCount) else { return nil }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else { throw .invalid(name(member), "\(name(member))[\(index)] must be a string.") }
            result.append(text)
        }
        return result
    }

    func stringMap(_ member: String) throws(DocketError) -> [String: String]? {
        guard let value = values[member], value != .null else { return nil }
        guard case .object(let entries) = value else { throw wrongType(member, "a map of strings") }
        var result: [String: String] = [:]
        for (key, entry) in entries {
            guard case .string(let text) = entry else { throw .invalid(name(member), "\(name(member)).\(key) must be a string.") }
            result[key] = text
        }
        return result
    }

    func enumeration(_ member: String, _ allowed: [String]) throws(DocketError) -> String? {
        guard let text = try string(member) else { return nil }
        guard allowed.contains(text) else {
            throw .invalid(name(member), "\(name(member)) is '\(text)'; it must be one of \(allowed.joined(separator: ", ")).")
        }
        return text
    }

    /// Tags: at most 50, keys 1–128 and values up to 256 characters (AWS's limits).
    func tags(_ member: String = "tags") throws(DocketError) -> [String: String] {
        let tags = try stringMap(member) ?? [:]
        guard tags.count <= 50 else { throw .invalid(name(member), "\(name(member)) has \(tags.count) tags; at most 50 are allowed.") }
        for (key, value) in tags {
            guard (1...128).contains(key.count) else { throw .invalid(name(member), "\(name(member)): tag key '\(key)' must be 1 to 128 characters.") }
            guard value.count <= 256 else { throw .invalid(name(member), "\(name(member)).\(key): tag values are at most 256 characters.") }
        }
        return tags
    }

    /// The members not in `known`, kept as sent.
    func extra(excluding known: Set<String>) -> [String: JSONValue] {
        values.filter { !known.contains($0.key) }
    }
}
