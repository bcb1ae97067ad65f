import DocketCore
import Foundation
import Yams

/// The server's configuration: the YAML file people edit by hand, merged with command-line flags.
///
/// ```yaml
/// server:
///   listen: 127.0.0.1:8400        # host:port; beyond loopback needs access keys (or allow_unauthenticated_remote)
///   access_keys:                  # requests must carry a SigV4 signature from one of these
///     - access_key_id: AKIDDOCKET
///       secret_access_key: "..."
///   access_keys_file: /etc/docket/keys   # or: one "ACCESS_KEY_ID SECRET" per line (keeps secrets out of this file)
///   allow_unauthenticated_remote: false  # listen beyond loopback with no keys: anyone reaching the port runs commands
///   minimum_timeout_seconds: 60   # the least attemptDurationSeconds accepted (AWS: 60)
///   minimum_time_limit_seconds: 600  # the least jobStateTimeLimitActions maxTimeSeconds (AWS: 600)
///   max_array_size: 10000         # the largest arrayProperties.size (AWS: 10,000)
///   max_dependencies: 20          # the most dependsOn entries (AWS: 20)
///   data_dir: /var/lib/docket
///   plugins_dir: /usr/lib/docket/plugins
///   region: local
///   account_id: "000000000000"
///   default_executor: process
///   run_as_user: nobody           # jobs of a root server run as this user unless the CE allows root
///   terminate_grace_seconds: 30
/// plugins:
///   - /opt/site/libslurm_executor.so
/// compute_environments:
///   - name: gpu-box
///     executor: process
///     max_vcpus: 8
///     allow_root: false
///     settings: { vcpus: 16, memory_mib: 64000 }
/// job_queues:
///   - name: high
///     priority: 10
///     compute_environments: [gpu-box]
///     policy: fifo
/// ```
package struct Configuration: Sendable {
    package struct EnvironmentEntry: Sendable {
        package var name: String
        package var executor: String?
        package var maxVCPUs: Int64?
        package var allowsRoot: Bool
        package var settings: [String: JSONValue]
        package var state: ResourceState
    }

    package struct QueueEntry: Sendable {
        package var name: String
        package var priority: Int
        package var computeEnvironments: [String]
        package var policy: String
        package var policySettings: [String: JSONValue]
        package var state: ResourceState
    }

    package var listen: String = "127.0.0.1:8400"
    /// Listen beyond loopback without access keys (allow_unauthenticated_remote; allow_remote is its old name).
    package var allowRemote = false
    /// Secret access keys by access key id: with any, every request must be SigV4-signed by one.
    package var accessKeys: [String: String] = [:]
    package var minimumTimeoutSeconds: Int64 = 60
    package var minimumTimeLimitSeconds: Int64 = 600
    package var maximumArraySize = 10_000
    package var maximumDependencies = 20
    package var dataDirectory: String?
    package var pluginsDirectory: String?
    package var region = "local"
    package var accountID = "000000000000"
    package var defaultExecutor = "process"
    package var runAsUser = "nobody"
    package var terminateGraceSeconds: Double = 30
    package var pluginPaths: [String] = []
    package var computeEnvironments: [EnvironmentEntry] = []
    package var jobQueues: [QueueEntry] = []

    package init() {}

    /// Adds one access key, refusing an empty id or secret and a duplicate id.
    mutating func addAccessKey(_ id: String, _ secret: String, error: (String) -> ConfigurationError) throws(ConfigurationError) {
        guard !id.isEmpty, !secret.isEmpty else { throw error("an access key needs a non-empty id and secret.") }
        guard accessKeys[id] == nil else { throw error("access key id '\(id)' is listed twice; give each key once.") }
        accessKeys[id] = secret
    }

    /// Adds the access key in DOCKET_ACCESS_KEY_ID and DOCKET_SECRET_ACCESS_KEY, for containers
    /// and CI that inject secrets through the environment; it replaces a configured key with
    /// the same id.
    /// - Throws: `ConfigurationError` when only one of the two is set, so that a half-configured
    ///   server never starts without the key its operator meant to require.
    package mutating func addAccessKey(fromEnvironment environment: [String: String]) throws(ConfigurationError) {
        let id = environment["DOCKET_ACCESS_KEY_ID"].flatMap { $0.isEmpty ? nil : $0 }
        let secret = environment["DOCKET_SECRET_ACCESS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        switch (id, secret) {
        case let (id?, secret?): accessKeys[id] = secret
        case (nil, nil): return
        case (_?, nil):
            throw ConfigurationError(path: "environment", line: nil, message: "DOCKET_ACCESS_KEY_ID is set but DOCKET_SECRET_ACCESS_KEY is not; set both to add an access key, or unset DOCKET_ACCESS_KEY_ID.")
        case (nil, _?):
            throw ConfigurationError(path: "environment", line: nil, message: "DOCKET_SECRET_ACCESS_KEY is set but DOCKET_ACCESS_KEY_ID is not; set both to add an access key, or unset DOCKET_SECRET_ACCESS_KEY.")
        }
    }

    /// The default data directory: $DOCKET_DATA_DIR, else $XDG_DATA_HOME/docket, else ~/.local/share/docket.
    package static var defaultDataDirectory: String {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["DOCKET_DATA_DIR"], !explicit.isEmpty { return explicit }
        if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty { return xdg + "/docket" }
        return NSHomeDirectory() + "/.local/share/docket"
    }
}

/// A configuration file error: the file, the line, what is wrong and the fix.
package struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    package var path: String
    package var line: Int?
    package var message: String
    package var description: String {
        if let line { return "\(path):\(line): \(message)" }
        return "\(path): \(message)"
    }
}

extension Configuration {
    /// Parses a configuration file.
    /// - Throws: `ConfigurationError` naming the line and the fix; nothing is applied then.
    package static func load(path: String) throws(ConfigurationError) -> Configuration {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigurationError(path: path, line: nil, message: "cannot read the file; check the path given to --config.")
        }
        return try parse(text, path: path)
    }

    package static func parse(_ text: String, path: String) throws(ConfigurationError) -> Configuration {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigurationError(path: path, line: Self.line(of: error), message: "not valid YAML: \(Self.problem(of: error)).")
        } catch {
            throw ConfigurationError(path: path, line: nil, message: "not valid YAML: \(error).")
        }
        var configuration = Configuration()
        guard let root else { return configuration }
        let reader = Reader(path: path)
        let top = try reader.mapping(root, "the top level")
        try reader.onlyKeys(top, ["server", "plugins", "compute_environments", "job_queues"], in: "the top level")
        if let server = top["server"] {
            let map = try reader.mapping(server, "server")
            try reader.onlyKeys(map, ["listen", "allow_unauthenticated_remote", "allow_remote", "access_keys", "access_keys_file",
                                      "data_dir", "plugins_dir", "region", "account_id", "default_executor", "run_as_user",
                                      "terminate_grace_seconds", "minimum_timeout_seconds", "minimum_time_limit_seconds", "max_array_size", "max_dependencies"], in: "server")
            if let value = map["listen"] { configuration.listen = try reader.string(value, "server.listen") }
            if let value = map["allow_remote"] { configuration.allowRemote = try reader.bool(value, "server.allow_remote") }
            if let value = map["allow_unauthenticated_remote"] {
                configuration.allowRemote = try reader.bool(value, "server.allow_unauthenticated_remote")
            }
            if let value = map["access_keys"] {
                for (index, item) in try reader.sequence(value, "server.access_keys").enumerated() {
                    let field = "server.access_keys[\(index)]"
                    let entry = try reader.mapping(item, field)
                    try reader.onlyKeys(entry, ["access_key_id", "secret_access_key"], in: field)
                    guard let id = entry["access_key_id"], let secret = entry["secret_access_key"] else {
                        throw reader.error(item, "\(field) needs access_key_id and secret_access_key.")
                    }
                    try configuration.addAccessKey(try reader.string(id, "\(field).access_key_id"),
                                                   try reader.string(secret, "\(field).secret_access_key"),
                                                   error: { message in reader.error(item, "\(field): \(message)") })
                }
            }
            if let value = map["access_keys_file"] {
                // A relative path is relative to this file, so the two can move together.
                var file = try reader.string(value, "server.access_keys_file")
                if !file.hasPrefix("/") { file = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(file).path }
                guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                    throw reader.error(value, "server.access_keys_file '\(file)' cannot be read; check the path and its permissions.")
                }
                for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let words = line.split(whereSeparator: \.isWhitespace)
                    guard let first = words.first, !first.hasPrefix("#") else { continue }
                    guard words.count == 2 else {
                        throw ConfigurationError(path: file, line: number + 1, message: "each line holds ACCESS_KEY_ID SECRET_ACCESS_KEY separated by a space.")
                    }
                    try configuration.addAccessKey(String(words[0]), String(words[1]), error: { message in
                        ConfigurationError(path: file, line: number + 1, message: message)
                    })
                }
            }
            if let value = map["minimum_timeout_seconds"] {
                let seconds = try reader.number(value, "server.minimum_timeout_seconds")
                guard seconds >= 1, seconds == seconds.rounded() else { throw reader.error(value, "server.minimum_timeout_seconds must be a whole number, 1 or more.") }
                configuration.minimumTimeoutSeconds = Int64(seconds)
            }
            if let value = map["minimum_time_limit_seconds"] {
                let seconds = try reader.number(value, "server.minimum_time_limit_seconds")
                guard seconds >= 1, seconds <= 86_400, seconds == seconds.rounded() else {
                    throw reader.error(value, "server.minimum_time_limit_seconds must be a whole number from 1 to 86400.")
                }
                configuration.minimumTimeLimitSeconds = Int64(seconds)
            }
            if let value = map["max_array_size"] {
                let size = try reader.number(value, "server.max_array_size")
                guard size >= 2, size <= 1_000_000, size == size.rounded() else { throw reader.error(value, "server.max_array_size must be a whole number from 2 to 1000000.") }
                configuration.maximumArraySize = Int(size)
            }
            if let value = map["max_dependencies"] {
                let count = try reader.number(value, "server.max_dependencies")
                guard count >= 1, count <= 1_000, count == count.rounded() else { throw reader.error(value, "server.max_dependencies must be a whole number from 1 to 1000.") }
                configuration.maximumDependencies = Int(count)
            }
            if let value = map["data_dir"] { configuration.dataDirectory = try reader.string(value, "server.data_dir") }
            if let value = map["plugins_dir"] { configuration.pluginsDirectory = try reader.string(value, "server.plugins_dir") }
            if let value = map["region"] { configuration.region = try reader.string(value, "server.region") }
            if let value = map["account_id"] {
                let account = try reader.string(value, "server.account_id")
                guard account.count == 12, account.allSatisfy(\.isNumber) else {
                    throw reader.error(value, "server.account_id '\(account)' must be 12 digits, quoted, e.g. \"000000000000\".")
                }
                configuration.accountID = account
            }
            if let value = map["default_executor"] { configuration.defaultExecutor = try reader.string(value, "server.default_executor") }
            if let value = map["run_as_user"] { configuration.runAsUser = try reader.string(value, "server.run_as_user") }
            if let value = map["terminate_grace_seconds"] {
                let seconds = try reader.number(value, "server.terminate_grace_seconds")
                guard seconds >= 0 else { throw reader.error(value, "server.terminate_grace_seconds must be 0 or more.") }
                configuration.terminateGraceSeconds = seconds
            }
        }
        if let plugins = top["plugins"] {
            for item in try reader.sequence(plugins, "plugins") {
                configuration.pluginPaths.append(try reader.string(item, "plugins[]"))
            }
        }
        if let environments = top["compute_environments"] {
            for (index, item) in try reader.sequence(environments, "compute_environments").enumerated() {
                let field = "compute_environments[\(index)]"
                let map = try reader.mapping(item, field)
                try reader.onlyKeys(map, ["name", "executor", "max_vcpus", "allow_root", "settings", "state"], in: field)
                guard let nameNode = map["name"] else { throw reader.error(item, "\(field) needs a name.") }
                let name = try reader.string(nameNode, "\(field).name")
                do { try ResourceName.validate(name, field: "\(field).name") } catch { throw reader.error(nameNode, error.message) }
                var entry = EnvironmentEntry(name: name, executor: nil, maxVCPUs: nil, allowsRoot: false, settings: [:], state: .enabled)
                if let value = map["executor"] { entry.executor = try reader.string(value, "\(field).executor") }
                if let value = map["max_vcpus"] {
                    let number = try reader.number(value, "\(field).max_vcpus")
                    guard number >= 0 else { throw reader.error(value, "\(field).max_vcpus must be 0 or more.") }
                    entry.maxVCPUs = Int64(number)
                }
                if let value = map["allow_root"] { entry.allowsRoot = try reader.bool(value, "\(field).allow_root") }
                if let value = map["state"] { entry.state = try reader.state(value, "\(field).state") }
                if let value = map["settings"] { entry.settings = try reader.jsonObject(value, "\(field).settings") }
                configuration.computeEnvironments.append(entry)
            }
        }
        if let queues = top["job_queues"] {
            for (index, item) in try reader.sequence(queues, "job_queues").enumerated() {
                let field = "job_queues[\(index)]"
                let map = try reader.mapping(item, field)
                try reader.onlyKeys(map, ["name", "priority", "compute_environments", "policy", "policy_settings", "state"], in: field)
                guard let nameNode = map["name"] else { throw reader.error(item, "\(field) needs a name.") }
                let name = try reader.string(nameNode, "\(field).name")
                do { try ResourceName.validate(name, field: "\(field).name") } catch { throw reader.error(nameNode, error.message) }
                guard let environmentsNode = map["compute_environments"] else {
                    throw reader.error(item, "\(field) needs compute_environments: a list of 1 to 3 compute environment names.")
                }
                var names: [String] = []
                for node in try reader.sequence(environmentsNode, "\(field).compute_environments") {
                    names.append(try reader.string(node, "\(field).compute_environments[]"))
                }
                guard (1...3).contains(names.count) else {
                    throw reader.error(environmentsNode, "\(field).compute_environments lists \(names.count); a queue takes 1 to 3.")
                }
                var entry = QueueEntry(name: name, priority: 1, computeEnvironments: names, policy: "fifo", policySettings: [:], state: .enabled)
                if let value = map["priority"] { entry.priority = Int(try reader.number(value, "\(field).priority")) }
                if let value = map["policy"] { entry.policy = try reader.string(value, "\(field).policy") }
                if let value = map["policy_settings"] { entry.policySettings = try reader.jsonObject(value, "\(field).policy_settings") }
                if let value = map["state"] { entry.state = try reader.state(value, "\(field).state") }
                configuration.jobQueues.append(entry)
            }
        }
        let declared = Set(configuration.computeEnvironments.map(\.name))
        for (index, queue) in configuration.jobQueues.enumerated() {
            for name in queue.computeEnvironments where !declared.contains(name) && name != "default" {
                throw ConfigurationError(path: path, line: nil, message: "job_queues[\(index)] ('\(queue.name)') names compute environment '\(name)', which compute_environments does not declare; declare it or fix the name.")
            }
        }
        return configuration
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _): return mark.line
        default: return nil
        }
    }

    private static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _): return problem
        default: return "\(error)"
        }
    }
}

/// Reads typed values out of YAML nodes, turning every mismatch into a ConfigurationError with the line.
private struct Reader {
    var path: String

    func error(_ node: Node, _ message: String) -> ConfigurationError {
        ConfigurationError(path: path, line: node.mark?.line, message: message)
    }

    func mapping(_ node: Node, _ field: String) throws(ConfigurationError) -> [String: Node] {
        guard let mapping = node.mapping else { throw error(node, "\(field) must be a mapping of key: value lines.") }
        var result: [String: Node] = [:]
        for (key, value) in mapping {
            guard let name = key.string else { throw error(key, "\(field) has a key that is not a string.") }
            result[name] = value
        }
        return result
    }

    func onlyKeys(_ map: [String: Node], _ allowed: [String], in field: String) throws(ConfigurationError) {
        for (key, value) in map where !allowed.contains(key) {
            throw ConfigurationError(path: path, line: value.mark.map { $0.line },
                                     message: "unknown key '\(key)' in \(field); the keys allowed there are \(allowed.joined(separator: ", ")).")
        }
    }

    func sequence(_ node: Node, _ field: String) throws(ConfigurationError) -> [Node] {
        guard let sequence = node.sequence else { throw error(node, "\(field) must be a list (lines starting with '- ').") }
        return Array(sequence)
    }

    func string(_ node: Node, _ field: String) throws(ConfigurationError) -> String {
        guard let scalar = node.scalar else { throw error(node, "\(field) must be a plain value, not a list or mapping.") }
        return scalar.string
    }

    func bool(_ node: Node, _ field: String) throws(ConfigurationError) -> Bool {
        guard let value = node.bool else { throw error(node, "\(field) must be true or false.") }
        return value
    }

    func number(_ node: Node, _ field: String) throws(ConfigurationError) -> Double {
        guard let value = node.float ?? node.int.map(Double.init) else {
            throw error(node, "\(field) must be a number, got '\(node.string ?? "a list or mapping")'.")
        }
        return value
    }

    func state(_ node: Node, _ field: String) throws(ConfigurationError) -> ResourceState {
        let text = try string(node, field)
        guard let state = ResourceState(rawValue: text.uppercased()) else { throw error(node, "\(field) must be ENABLED or DISABLED.") }
        return state
    }

    func jsonObject(_ node: Node, _ field: String) throws(ConfigurationError) -> [String: JSONValue] {
        guard case .object(let members) = try json(node, field) else { throw error(node, "\(field) must be a mapping.") }
        return members
    }

    func json(_ node: Node, _ field: String) throws(ConfigurationError) -> JSONValue {
        switch node {
        case .mapping:
            var members: [String: JSONValue] = [:]
            for (key, value) in try mapping(node, field) { members[key] = try json(value, "\(field).\(key)") }
            return .object(members)
        case .sequence(let sequence):
            var items: [JSONValue] = []
            for item in sequence { items.append(try json(item, "\(field)[]")) }
            return .array(items)
        default:
            // Only true and false are booleans here: YAML 1.1 would read `cgroups: off` or
            // `region: no` as booleans, which settings never mean.
            let text = node.string ?? ""
            if node.scalar?.style == .plain {
                if let value = node.int { return .number(Double(value)) }
                if let value = node.float { return .number(value) }
                if text == "true" || text == "false" { return .bool(text == "true") }
                if node.null != nil { return .null }
            }
            return .string(text)
        }
    }
}
