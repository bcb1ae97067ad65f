/// ARNs of AWS's form for Docket's resources, with a configurable region and account id.
public struct ARNBuilder: Sendable, Hashable {
    public var region: String
    public var accountID: String

    public init(region: String = "local", accountID: String = "000000000000") {
        self.region = region
        self.accountID = accountID
    }

    private var prefix: String { "arn:aws:batch:\(region):\(accountID)" }
    public func computeEnvironment(_ name: String) -> String { "\(prefix):compute-environment/\(name)" }
    public func jobQueue(_ name: String) -> String { "\(prefix):job-queue/\(name)" }
    public func jobDefinition(_ name: String, _ revision: Int) -> String { "\(prefix):job-definition/\(name):\(revision)" }
    public func job(_ id: String) -> String { "\(prefix):job/\(id)" }
    public func schedulingPolicy(_ name: String) -> String { "\(prefix):scheduling-policy/\(name)" }
    public func consumableResource(_ name: String) -> String { "\(prefix):consumable-resource/\(name)" }
    /// Quota shares live inside a job queue: job-queue/QUEUE/quota-share/NAME.
    public func quotaShare(queue: String, name: String) -> String { "\(prefix):job-queue/\(queue)/quota-share/\(name)" }

    /// The resource kind and name an ARN of this server's region and account names
    /// ("job-queue", "high"); nil when it is not such an ARN. Job definitions keep their
    /// ":REVISION" in the name, quota shares their "QUEUE/quota-share/" prefix.
    public func parse(_ arn: String) -> (kind: String, name: String)? {
        guard arn.hasPrefix(prefix + ":") else { return nil }
        let rest = arn.dropFirst(prefix.count + 1)
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        let name = rest[rest.index(after: slash)...]
        guard !name.isEmpty else { return nil }
        return (String(rest[..<slash]), String(name))
    }

    /// The last path component of an ARN of `kind` ("job-queue"), or the input itself when
    /// it is not an ARN: AWS accepts names and ARNs wherever it takes a reference.
    public static func name(from reference: String, kind: String) -> String {
        guard reference.hasPrefix("arn:"), let slash = reference.firstIndex(of: "/"),
              reference[..<slash].hasSuffix(":\(kind)") else { return reference }
        return String(reference[reference.index(after: slash)...])
    }
}

/// The naming rules AWS Batch enforces, with messages that name the field and the fix.
public enum ResourceName {
    /// Letters, digits, hyphens and underscores, 1 to 128 characters, starting with a letter
    /// or digit: AWS's rule for compute environment, job queue, job definition and job names.
    public static func validate(_ value: String, field: String, maxLength: Int = 128) throws(DocketError) {
        // AWS's own wording first (botocore users grep for it), then which rule and the fix.
        let awsWording = "Provided name \(value) is not supported pattern[a-zA-Z_0-9-]{1,\(maxLength)}"
        guard !value.isEmpty, value.utf8.count <= maxLength else {
            throw .invalid(field, "\(awsWording): \(field) must be 1 to \(maxLength) characters long.")
        }
        let allowed = value.unicodeScalars.allSatisfy { scalar in
            (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9")
                || scalar == "-" || scalar == "_"
        }
        guard allowed, let first = value.unicodeScalars.first, first != "-", first != "_" else {
            throw .invalid(field, "\(awsWording): \(field) may contain only letters, digits, hyphens and underscores, and must start with a letter or digit.")
        }
    }
}
