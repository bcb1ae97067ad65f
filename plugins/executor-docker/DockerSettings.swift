import DocketDockerEngine
import Foundation

/// When the executor pulls an attempt's image.
enum PullPolicy: String {
    case ifMissing = "if-missing"
    case always
    case never

    static let names = "if-missing, always, never"
}

/// A compute environment's settings for the Docker executor: the configuration file's
/// `settings` table, or its docket:* tags with the prefix removed (values arrive as strings,
/// numbers or booleans; lists as JSON arrays or comma-separated strings).
struct DockerSettings {
    var endpoint = EngineEndpoint.defaultSocket
    var vcpuMillis: Int64?
    var memoryMiB: Int64?
    var pullPolicy = PullPolicy.ifMissing
    var policy = ContainerPolicy()
    var keepFailedContainers = false
    /// How long attempts wait for an engine that stopped answering before they are reported lost.
    var engineLossGraceSeconds = 120.0

    static let keys = ["docker_host", "vcpus", "memory_mib", "pull_policy", "network_mode", "allowed_network_modes",
                       "allow_privileged", "allowed_host_paths", "allowed_devices", "working_dir", "keep_failed_containers",
                       "engine_loss_grace_seconds"]

    /// Parses the settings JSON.
    /// - Throws: a message naming the key and the fix.
    init(json: String, environment: [String: String]) throws(SettingsError) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else {
            throw SettingsError("docker executor: settings are not a JSON object; use {} or e.g. {\"pull_policy\": \"never\"}.")
        }
        if let host = environment["DOCKER_HOST"], !host.isEmpty {
            do { endpoint = try EngineEndpoint.parse(host) } catch {
                throw SettingsError("docker executor: the server's DOCKER_HOST: \(error.message)")
            }
        }
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            switch key {
            case "docker_host":
                do { endpoint = try EngineEndpoint.parse(try Self.string(value, key)) } catch let error as EngineError {
                    throw SettingsError("docker executor: setting \(error.message)")
                } catch let error as SettingsError { throw error } catch { throw SettingsError("\(error)") }
            case "vcpus":
                let vcpus = try Self.number(value, key, "the vCPUs this compute environment offers, e.g. 8")
                vcpuMillis = Int64((vcpus * 1000).rounded())
            case "memory_mib":
                memoryMiB = Int64(try Self.number(value, key, "the MiB of memory this compute environment offers, e.g. 16384"))
            case "pull_policy":
                let text = try Self.string(value, key)
                guard let parsed = PullPolicy(rawValue: text) else {
                    throw SettingsError("docker executor: setting pull_policy is '\(text)'; use one of \(PullPolicy.names).")
                }
                pullPolicy = parsed
            case "network_mode": policy.networkMode = try Self.string(value, key)
            case "allowed_network_modes": policy.allowedNetworkModes = try Self.list(value, key)
            case "allow_privileged": policy.allowsPrivileged = try Self.bool(value, key)
            case "allowed_host_paths":
                policy.allowedHostPaths = try Self.list(value, key)
                for path in policy.allowedHostPaths where !path.hasPrefix("/") {
                    throw SettingsError("docker executor: setting allowed_host_paths holds '\(path)', which is not an absolute path; list host directories such as /data.")
                }
            case "allowed_devices": policy.allowedDevices = try Self.list(value, key)
            case "working_dir":
                let directory = try Self.string(value, key)
                guard directory.hasPrefix("/") else {
                    throw SettingsError("docker executor: setting working_dir must be an absolute path inside the container, e.g. /work.")
                }
                policy.workingDirectory = directory
            case "keep_failed_containers": keepFailedContainers = try Self.bool(value, key)
            case "engine_loss_grace_seconds":
                engineLossGraceSeconds = try Self.number(value, key, "seconds, e.g. 120", allowZero: true)
            case "allow-root":
                break  // the host's own setting (docket:allow-root); containers run as their image's or job's user
            default:
                throw SettingsError("docker executor: setting '\(key)' is not known; remove it (known settings: \(Self.keys.joined(separator: ", "))).")
            }
        }
        if policy.networkMode == "host" && !policy.allowedNetworkModes.contains("host") {
            throw SettingsError("docker executor: setting network_mode is 'host', which gives every job the host's network; also list host in allowed_network_modes to confirm, or use none or bridge.")
        }
    }

    private static func string(_ value: Any, _ key: String) throws(SettingsError) -> String {
        guard let text = value as? String, !text.isEmpty else {
            throw SettingsError("docker executor: setting \(key) must be a non-empty string.")
        }
        return text
    }

    private static func number(_ value: Any, _ key: String, _ example: String, allowZero: Bool = false) throws(SettingsError) -> Double {
        let number = (value as? NSNumber)?.doubleValue ?? (value as? String).flatMap(Double.init)
        guard let number, number.isFinite, allowZero ? number >= 0 : number > 0 else {
            throw SettingsError("docker executor: setting \(key) must be a number\(allowZero ? "" : " greater than 0"): \(example).")
        }
        return number
    }

    private static func bool(_ value: Any, _ key: String) throws(SettingsError) -> Bool {
        if let flag = value as? Bool { return flag }
        if let text = value as? String, text == "true" || text == "false" { return text == "true" }
        throw SettingsError("docker executor: setting \(key) must be true or false.")
    }

    private static func list(_ value: Any, _ key: String) throws(SettingsError) -> [String] {
        if let items = value as? [Any] {
            var result: [String] = []
            for item in items {
                guard let text = item as? String, !text.isEmpty else {
                    throw SettingsError("docker executor: setting \(key) must list non-empty strings.")
                }
                result.append(text)
            }
            return result
        }
        if let text = value as? String {
            return text.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        throw SettingsError("docker executor: setting \(key) must be a list of strings, or one comma-separated string.")
    }
}

struct SettingsError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
