import Foundation

/// A settings problem: the message names the key and the fix.
struct SettingsError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// Where the GPU executor learns which GPUs the machine has.
enum InventorySource {
    /// `nvidia-smi -q -x`, `nvidia-smi topo -m` and `nvidia-smi -L`, run on this machine.
    case nvidiaSMI(executable: String)
    /// Files holding those three outputs, recorded on a machine (for tests, and for trying
    /// placement on a machine shape one does not have). Re-read at every refresh, so a GPU that
    /// a newer recording lacks, or reports a fault for, is drained.
    case recorded(query: String, topo: String?, list: String?)
    /// A list in the settings, for machines without NVIDIA's tools.
    case staticList(Any)
}

/// How a container job gets its GPUs from Docker.
enum ContainerGPUAccess: String {
    /// A device request for the NVIDIA runtime naming exactly the assigned UUIDs (needs the
    /// NVIDIA Container Toolkit on the engine).
    case nvidia
    /// The assigned units' device nodes mapped into the container, and nothing else: for
    /// engines without the toolkit (and for tests with stand-in device nodes).
    case deviceNodes = "device-nodes"
}

/// A compute environment's settings for the GPU executor: the configuration file's `settings`
/// table, or its docket:* tags with the prefix removed (values arrive as strings, numbers,
/// booleans or JSON text). Keys `process.NAME` and `docker.NAME` are handed to that runner as
/// its setting NAME.
struct GPUSettings {
    var source: InventorySource
    /// The runners jobs may use, the default first ("process", "docker").
    var runners = ["process"]
    var runnerSettings: [String: [String: Any]] = [:]
    /// Pin each job's CPUs and memory to its GPUs' NUMA nodes.
    var numaPinning = true
    /// Deny a process job the device nodes of the GPUs it does not hold.
    var denyOtherGPUs = true
    var containerGPUAccess = ContainerGPUAccess.nvidia
    /// How often nvidia-smi is run again to notice lost or failing GPUs.
    var refreshSeconds = 15.0
    /// Where the runner plugins are; by default the directory this plugin was loaded from.
    var pluginDirectory: String?

    static let keys = ["inventory", "static_gpus", "nvidia_smi_path", "nvidia_smi_query_file", "nvidia_smi_topo_file",
                       "nvidia_smi_list_file", "runners", "cpu_pinning", "deny_other_gpus", "container_gpu_access",
                       "refresh_seconds", "plugin_dir", "process.*", "docker.*"]

    init(json: String) throws(SettingsError) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else {
            throw SettingsError("gpu executor: settings are not a JSON object; use e.g. {\"inventory\": \"nvidia-smi\"}.")
        }
        var inventory: String?
        var staticList: Any?
        var smiPath = "nvidia-smi"
        var queryFile: String?, topoFile: String?, listFile: String?
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            if let dot = key.firstIndex(of: "."), ["process", "docker"].contains(String(key[..<dot])) {
                runnerSettings[String(key[..<dot]), default: [:]][String(key[key.index(after: dot)...])] = value
                continue
            }
            switch key {
            case "inventory":
                let text = try Self.string(value, key)
                guard ["auto", "nvidia-smi", "recorded", "static"].contains(text) else {
                    throw SettingsError("gpu executor: setting inventory is '\(text)'; use auto, nvidia-smi, recorded (with nvidia_smi_query_file) or static (with static_gpus).")
                }
                inventory = text
            case "static_gpus": staticList = value
            case "nvidia_smi_path": smiPath = try Self.string(value, key)
            case "nvidia_smi_query_file": queryFile = try Self.path(value, key)
            case "nvidia_smi_topo_file": topoFile = try Self.path(value, key)
            case "nvidia_smi_list_file": listFile = try Self.path(value, key)
            case "runners":
                let names = try Self.list(value, key)
                guard !names.isEmpty, names.allSatisfy({ ["process", "docker"].contains($0) }), Set(names).count == names.count else {
                    throw SettingsError("gpu executor: setting runners is '\(names.joined(separator: ","))'; list process and/or docker, the default first, e.g. \"process,docker\".")
                }
                runners = names
            case "cpu_pinning":
                let text = try Self.string(value, key)
                guard text == "numa" || text == "off" else {
                    throw SettingsError("gpu executor: setting cpu_pinning is '\(text)'; use numa (pin each job to its GPUs' NUMA nodes) or off.")
                }
                numaPinning = text == "numa"
            case "deny_other_gpus": denyOtherGPUs = try Self.bool(value, key)
            case "container_gpu_access":
                let text = try Self.string(value, key)
                guard let access = ContainerGPUAccess(rawValue: text) else {
                    throw SettingsError("gpu executor: setting container_gpu_access is '\(text)'; use nvidia (the NVIDIA Container Toolkit) or device-nodes.")
                }
                containerGPUAccess = access
            case "refresh_seconds":
                guard let seconds = Double(try Self.string(value, key)), seconds >= 1 else {
                    throw SettingsError("gpu executor: setting refresh_seconds must be a number of seconds, 1 or more, e.g. 15.")
                }
                refreshSeconds = seconds
            case "plugin_dir": pluginDirectory = try Self.path(value, key)
            case "allow-root":
                break  // the host's own setting (docket:allow-root)
            default:
                throw SettingsError("gpu executor: setting '\(key)' is not known; remove it (known settings: \(Self.keys.joined(separator: ", "))).")
            }
        }
        switch inventory ?? (staticList != nil ? "static" : queryFile != nil ? "recorded" : "auto") {
        case "static":
            guard let staticList else {
                throw SettingsError("gpu executor: setting inventory is static but static_gpus is missing; list the GPUs, e.g. [{\"uuid\": \"GPU-…\", \"numa_node\": 0}].")
            }
            source = .staticList(staticList)
        case "recorded":
            guard let queryFile else {
                throw SettingsError("gpu executor: setting inventory is recorded but nvidia_smi_query_file is missing; name a file holding `nvidia-smi -q -x` output.")
            }
            source = .recorded(query: queryFile, topo: topoFile, list: listFile)
        default:
            source = .nvidiaSMI(executable: smiPath)
        }
    }

    private static func string(_ value: Any, _ key: String) throws(SettingsError) -> String {
        switch value {
        case let text as String: return text
        case let number as NSNumber: return number.stringValue
        default: throw SettingsError("gpu executor: setting \(key) must be a string.")
        }
    }

    private static func path(_ value: Any, _ key: String) throws(SettingsError) -> String {
        let text = try string(value, key)
        guard text.hasPrefix("/") else {
            throw SettingsError("gpu executor: setting \(key) is '\(text)'; use an absolute path.")
        }
        return text
    }

    private static func bool(_ value: Any, _ key: String) throws(SettingsError) -> Bool {
        if let number = value as? NSNumber { return number.boolValue }
        switch try string(value, key) {
        case "true": return true
        case "false": return false
        case let text: throw SettingsError("gpu executor: setting \(key) is '\(text)'; use true or false.")
        }
    }

    private static func list(_ value: Any, _ key: String) throws(SettingsError) -> [String] {
        if let array = value as? [Any] {
            var items: [String] = []
            for item in array { items.append(try string(item, key)) }
            return items
        }
        return try string(value, key).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
