import DocketPolicySupport

/// A fair-share policy's settings: AWS Batch's FairsharePolicy (reference §6.3) plus one Docket
/// key, `capacityVcpuMillis`. Every key is optional.
public struct FairShareSettings: Equatable, Sendable {
    /// One `shareDistribution` entry: an identifier, or a prefix when it ends in `*`, and its weight.
    public struct ShareAttributes: Equatable, Sendable {
        public var shareIdentifier: String
        /// Lower gets more compute: 0.125 gets 8× the vCPUs of 1.0.
        public var weightFactor: Double

        public init(shareIdentifier: String, weightFactor: Double = 1.0) {
            self.shareIdentifier = shareIdentifier
            self.weightFactor = weightFactor
        }

        /// Whether the identifier is a prefix (`ml*` groups every job share starting with `ml`).
        public var isPrefix: Bool { shareIdentifier.utf8.last == UInt8(ascii: "*") }
    }

    /// The decay window in seconds, 0–604800; 0 means AWS's default minimum of 600 s.
    public var shareDecaySeconds: Int
    /// The percentage, 0–99, whose power `activeShares` is kept back for inactive shares.
    public var computeReservation: Int
    public var shareDistribution: [ShareAttributes]
    /// The queue's total vCPUs in thousandths, for the compute reservation; nil = vCPUs in use
    /// plus the free vCPUs given at pick time.
    public var capacityVCPUMillis: Int64?

    public init(shareDecaySeconds: Int = 0, computeReservation: Int = 0, shareDistribution: [ShareAttributes] = [],
                capacityVCPUMillis: Int64? = nil) {
        self.shareDecaySeconds = shareDecaySeconds
        self.computeReservation = computeReservation
        self.shareDistribution = shareDistribution
        self.capacityVCPUMillis = capacityVCPUMillis
    }

    /// The time constant of the exponential decay, in seconds: `shareDecaySeconds`, or 600 for 0
    /// (the API model's "default minimum window"; the guide's "current usage only" would make
    /// every share equal as soon as its jobs end).
    public var decaySeconds: Double { shareDecaySeconds == 0 ? 600 : Double(shareDecaySeconds) }

    static let keys = ["shareDecaySeconds", "computeReservation", "shareDistribution", "capacityVcpuMillis"]

    /// Reads and checks settings from the JSON text handed to `create`.
    /// - Throws: `FairShareSettingsError` naming the key path, the value and the fix; nothing is
    ///   kept from settings that fail.
    public init(json: String) throws(FairShareSettingsError) {
        let document: SettingsJSON
        do {
            document = try SettingsJSON.parse(json)
        } catch {
            throw FairShareSettingsError(.notJSON, field: "",
                                         "settings are not JSON (\(error.message)); give an object such as {\"shareDecaySeconds\": 3600}.")
        }
        guard case .object(let members) = document else {
            throw FairShareSettingsError(.notJSON, field: "", "settings are \(document.quoted), not a JSON object; give an object such as {\"shareDecaySeconds\": 3600}.")
        }
        self.init()
        var seen: Set<String> = []
        for (key, value) in members {
            guard Self.keys.contains(key) else {
                throw FairShareSettingsError(.invalidSetting, field: key,
                                             "\(key): unknown key; the keys are shareDecaySeconds, computeReservation, shareDistribution and capacityVcpuMillis.")
            }
            guard seen.insert(key).inserted else {
                throw FairShareSettingsError(.invalidSetting, field: key, "\(key): given twice; give it once.")
            }
            if value == .null { continue }  // AWS treats an explicit null as absent
            switch key {
            case "shareDecaySeconds":
                shareDecaySeconds = Int(try Self.integer(value, key, in: 0...604_800,
                                                         fix: "give the decay window in seconds, at most one week (0 means the 600 s minimum)."))
            case "computeReservation":
                computeReservation = Int(try Self.integer(value, key, in: 0...99,
                                                          fix: "give the percentage to reserve for inactive shares."))
            case "capacityVcpuMillis":
                capacityVCPUMillis = try Self.integer(value, key, in: 1...Int64.max,
                                                      fix: "give the queue's total vCPUs in thousandths (16 vCPUs = 16000), or leave it out to use the vCPUs in use plus those free.")
            default:
                guard case .array(let entries) = value else {
                    throw FairShareSettingsError(.invalidSetting, field: key,
                                                 "\(key): \(value.quoted) is not an array; give [{\"shareIdentifier\": \"teamA\", \"weightFactor\": 0.5}, …].")
                }
                shareDistribution = try entries.enumerated().map { (index, entry) throws(FairShareSettingsError) in
                    try Self.shareAttributes(entry, path: "shareDistribution[\(index)]")
                }
            }
        }
        try validate()
    }

    private static func shareAttributes(_ entry: SettingsJSON, path: String) throws(FairShareSettingsError) -> ShareAttributes {
        guard case .object(let members) = entry else {
            throw FairShareSettingsError(.invalidSetting, field: path,
                                         "\(path): \(entry.quoted) is not an object; give {\"shareIdentifier\": \"teamA\", \"weightFactor\": 0.5}.")
        }
        var identifier: String?
        var weight = 1.0
        for (key, value) in members {
            let field = "\(path).\(key)"
            switch key {
            case "shareIdentifier":
                guard case .string(let text) = value else {
                    throw FairShareSettingsError(.invalidSetting, field: field, "\(field): \(value.quoted) is not a string; give the share identifier in quotes.")
                }
                identifier = text
            case "weightFactor":
                if value == .null { continue }
                guard case .number(let text) = value, let number = Double(text) else {
                    throw FairShareSettingsError(.invalidSetting, field: field,
                                                 "\(field): \(value.quoted) is not a number; give a weight from 0.0001 to 999.9999 without quotes (lower gets more compute).")
                }
                weight = number
                // Checked here too, so the message quotes the number as written.
                guard number >= 0.0001 && number <= 999.9999 else {
                    throw FairShareSettingsError(.invalidSetting, field: field,
                                                 "\(field): \(text) is outside 0.0001–999.9999; give a weight in that range (lower gets more compute).")
                }
            default:
                throw FairShareSettingsError(.invalidSetting, field: field,
                                             "\(field): unknown key; an entry has shareIdentifier and weightFactor.")
            }
        }
        guard let identifier else {
            throw FairShareSettingsError(.invalidSetting, field: "\(path).shareIdentifier",
                                         "\(path).shareIdentifier is missing; every entry names the share it weighs.")
        }
        return ShareAttributes(shareIdentifier: identifier, weightFactor: weight)
    }

    private static func integer(_ value: SettingsJSON, _ key: String, in range: ClosedRange<Int64>, fix: String) throws(FairShareSettingsError) -> Int64 {
        guard case .number(let text) = value else {
            throw FairShareSettingsError(.invalidSetting, field: key, "\(key): \(value.quoted) is not a number; \(fix)")
        }
        guard let number = Int64(text) else {
            if let real = Double(text), real.rounded() != real || real.magnitude >= 9.2e18 {
                throw FairShareSettingsError(.invalidSetting, field: key, "\(key): \(text) is not a whole number; \(fix)")
            }
            // 1e3 or 600.0: a whole number written another way.
            guard let real = Double(text) else {
                throw FairShareSettingsError(.invalidSetting, field: key, "\(key): \(text) is not a whole number; \(fix)")
            }
            return try integer(.number(String(Int64(real))), key, in: range, fix: fix)
        }
        guard range.contains(number) else {
            let bounds = range.upperBound == Int64.max ? "\(key): \(text) is below \(range.lowerBound)" : "\(key): \(text) is outside \(range.lowerBound)–\(range.upperBound)"
            throw FairShareSettingsError(.invalidSetting, field: key, "\(bounds); \(fix)")
        }
        return number
    }

    /// Checks the ranges and the identifiers (AWS's rules, reference §6.3): weights 0.0001–999.9999,
    /// decay 0–604800, reservation 0–99, identifiers 1–255 characters, unique and non-overlapping
    /// (`UserA*` overlaps `UserA1`, and `ml*` overlaps `m*`).
    /// - Throws: `FairShareSettingsError` for the first entry that breaks a rule.
    public func validate() throws(FairShareSettingsError) {
        guard (0...604_800).contains(shareDecaySeconds) else {
            throw FairShareSettingsError(.invalidSetting, field: "shareDecaySeconds",
                                         "shareDecaySeconds: \(shareDecaySeconds) is outside 0–604800; give the decay window in seconds, at most one week (0 means the 600 s minimum).")
        }
        guard (0...99).contains(computeReservation) else {
            throw FairShareSettingsError(.invalidSetting, field: "computeReservation",
                                         "computeReservation: \(computeReservation) is outside 0–99; give the percentage to reserve for inactive shares.")
        }
        if let capacity = capacityVCPUMillis, capacity < 1 {
            throw FairShareSettingsError(.invalidSetting, field: "capacityVcpuMillis",
                                         "capacityVcpuMillis: \(capacity) is below 1; give the queue's total vCPUs in thousandths (16 vCPUs = 16000), or leave it out to use the vCPUs in use plus those free.")
        }
        for (index, entry) in shareDistribution.enumerated() {
            let path = "shareDistribution[\(index)]"
            let identifier = entry.shareIdentifier
            guard !identifier.isEmpty else {
                throw FairShareSettingsError(.invalidSetting, field: "\(path).shareIdentifier",
                                             "\(path).shareIdentifier is empty; give 1 to 255 characters.")
            }
            guard identifier.count <= 255 else {
                throw FairShareSettingsError(.invalidSetting, field: "\(path).shareIdentifier",
                                             "\(path).shareIdentifier is \(identifier.count) characters long; shorten it to at most 255.")
            }
            guard entry.weightFactor >= 0.0001 && entry.weightFactor <= 999.9999 else {
                throw FairShareSettingsError(.invalidSetting, field: "\(path).weightFactor",
                                             "\(path).weightFactor: \(entry.weightFactor) is outside 0.0001–999.9999; give a weight in that range (lower gets more compute).")
            }
            for earlier in 0..<index {
                let other = shareDistribution[earlier].shareIdentifier
                if other == identifier {
                    throw FairShareSettingsError(.invalidSetting, field: "\(path).shareIdentifier",
                                                 "\(path).shareIdentifier: '\(identifier)' repeats shareDistribution[\(earlier)]; give each identifier once.")
                }
                if Self.overlaps(other, identifier) {
                    throw FairShareSettingsError(.invalidSetting, field: "\(path).shareIdentifier",
                                                 "\(path).shareIdentifier: '\(identifier)' overlaps '\(other)' (shareDistribution[\(earlier)]); identifiers and prefixes (ending in *) must not overlap.")
                }
            }
        }
    }

    /// Whether two distribution identifiers (a trailing `*` makes a prefix) can match one job share.
    static func overlaps(_ a: String, _ b: String) -> Bool {
        let aPrefix = a.utf8.last == UInt8(ascii: "*"), bPrefix = b.utf8.last == UInt8(ascii: "*")
        let aStem = aPrefix ? String(a.dropLast()) : a
        let bStem = bPrefix ? String(b.dropLast()) : b
        switch (aPrefix, bPrefix) {
        case (false, false): return a == b
        case (true, false): return b.utf8.starts(with: aStem.utf8)
        case (false, true): return a.utf8.starts(with: bStem.utf8)
        case (true, true): return aStem.utf8.starts(with: bStem.utf8) || bStem.utf8.starts(with: aStem.utf8)
        }
    }
}

/// Why settings were refused: `field` is the key path (`shareDistribution[1].weightFactor`), and
/// `message` one sentence that starts with it and says the fix. Match on `code`, never on text.
public struct FairShareSettingsError: Error, Equatable, Sendable {
    public struct Code: Equatable, Sendable {
        private enum Kind: Equatable, Sendable { case notJSON, invalidSetting }
        private let kind: Kind
        /// The text is not a JSON object.
        public static let notJSON = Code(kind: .notJSON)
        /// A key is unknown, or a value has the wrong type or is out of range.
        public static let invalidSetting = Code(kind: .invalidSetting)
    }

    public var code: Code
    public var field: String
    public var message: String

    init(_ code: Code, field: String, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }
}
