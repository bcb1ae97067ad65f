import Foundation

/// What a compute environment lets its containers do (its settings), checked against each job.
public struct ContainerPolicy: Sendable {
    public var networkMode = "none"
    /// Modes a job may ask for with DOCKET_NETWORK_MODE; networkMode is always allowed.
    public var allowedNetworkModes: [String] = []
    public var allowsPrivileged = false
    /// Host directories volumes' host.sourcePath may name (or lie under).
    public var allowedHostPaths: [String] = []
    /// Host device nodes linuxParameters.devices may name.
    public var allowedDevices: [String] = []
    /// The containers' working directory; nil keeps the image's.
    public var workingDirectory: String?
    /// The engine's machine's online CPUs and NUMA nodes as Linux lists ("0-3,8"), which
    /// DOCKET_CPUSET_CPUS and DOCKET_CPUSET_MEMS must stay within; nil when unknown (an engine
    /// elsewhere), and then the engine checks them at create.
    public var onlineCPUs: String?
    public var onlineMemoryNodes: String?

    public init() {}

    /// Reads this machine's online CPUs and NUMA nodes from sysfs, for an engine on this machine.
    /// A kernel without NUMA has no node directory, and only node 0.
    public mutating func readOnlineTopology() {
        let read = { (path: String) -> String? in
            (try? String(contentsOfFile: path, encoding: .utf8)).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        onlineCPUs = read("/sys/devices/system/cpu/online")
        onlineMemoryNodes = read("/sys/devices/system/node/online") ?? (onlineCPUs != nil ? "0" : nil)
    }
}

/// A job's bad container request: the field, and what to do.
public struct ContainerPlanError: Error, Sendable, CustomStringConvertible {
    public var field: String
    public var message: String
    public init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { "\(field): \(message)" }
}

/// One attempt's container, translated from AWS Batch's containerProperties into the Engine
/// API's ContainerCreate body, and checked against the compute environment's policy first, so
/// a request that can never run is refused before anything is created.
public struct ContainerPlan: Sendable {
    /// Docker refuses a memory limit below 6 MiB ("Minimum memory limit allowed is 6MB").
    public static let minimumMemoryMiB: Int64 = 6
    /// AWS's ulimit names (containerProperties.ulimits[].name).
    static let ulimitNames: Set<String> = ["core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile",
                                           "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"]
    /// The PATH the host adds when a job sets none; a container keeps its image's PATH instead.
    static let hostDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    public var image: String
    public var body: [String: Any] { bodyStorage.value }
    /// Host directories the executor must create before the container (volumes without a
    /// sourcePath live in the attempt's work directory; missing sourcePaths are created, as AWS does).
    public var directoriesToCreate: [String]
    public var networkMode: String
    private let bodyStorage: JSONBox

    /// Plans a container.
    /// - Parameters:
    ///   - properties: the job's containerProperties (overrides applied), as JSON.
    ///   - workDirectory: the attempt's scratch directory on the host.
    ///   - devices: devices the host assigned (GPU UUIDs, or /dev paths).
    /// - Throws: `ContainerPlanError` naming the field.
    public init(image: String?, command: [String], environment: [String], labels: [String: String], memoryMiB: Int64,
                vcpuMillis: Int64, gpuCount: Int64, devices: [String], properties: [String: Any], workDirectory: String,
                policy: ContainerPolicy) throws(ContainerPlanError) {
        guard let image, !image.isEmpty else {
            throw ContainerPlanError("containerProperties.image", "the job has no image; the Docker executor runs images, so set containerProperties.image (e.g. \"busybox:1.36\").")
        }
        if let problem = Self.imageProblem(image) {
            throw ContainerPlanError("containerProperties.image", "'\(image)' is not an image reference Docker accepts: \(problem); write [registry/]name[:tag], e.g. busybox:1.36.")
        }
        self.image = image
        guard !command.isEmpty else {
            throw ContainerPlanError("containerProperties.command", "the command is empty; set containerProperties.command or containerOverrides.command.")
        }
        if memoryMiB > 0 && memoryMiB < Self.minimumMemoryMiB {
            throw ContainerPlanError("resourceRequirements.MEMORY", "\(memoryMiB) MiB is below Docker's minimum memory limit of \(Self.minimumMemoryMiB) MiB; ask for \(Self.minimumMemoryMiB) MiB or more.")
        }

        var environmentValues = environment.filter { $0 != Self.hostDefaultPath }
        var networkMode = policy.networkMode
        if let requested = environment.last(where: { $0.hasPrefix("DOCKET_NETWORK_MODE=") }) {
            let mode = String(requested.dropFirst("DOCKET_NETWORK_MODE=".count))
            guard mode == policy.networkMode || policy.allowedNetworkModes.contains(mode) else {
                let allowed = ([policy.networkMode] + policy.allowedNetworkModes).joined(separator: ", ")
                throw ContainerPlanError("environment.DOCKET_NETWORK_MODE", "network mode '\(mode)' is not allowed on this compute environment (allowed: \(allowed)); drop the variable, or add the mode to the compute environment's allowed_network_modes setting.")
            }
            networkMode = mode
            environmentValues.removeAll { $0.hasPrefix("DOCKET_NETWORK_MODE=") }
        }
        self.networkMode = networkMode
        let cpuset = try Self.cpuset(environment: environment, policy: policy)

        var host: [String: Any] = [
            "NetworkMode": networkMode,
            // json-file keeps the output the executor follows, whatever the engine's default driver.
            "LogConfig": ["Type": "json-file", "Config": [String: String]()],
        ]
        if memoryMiB > 0 { host["Memory"] = memoryMiB * 1_048_576 }
        if vcpuMillis > 0 {
            host["NanoCpus"] = vcpuMillis * 1_000_000      // a hard limit, as the process executor's cgroup
            host["CpuShares"] = max(2, vcpuMillis * 1024 / 1000)  // AWS: 1 vCPU = 1024 shares
        }
        // Docket's pinning convention (the GPU executor sets it); the variables stay in the
        // environment, so the job sees its CPUs. DOCKET_DENY_DEVICES needs nothing here: a
        // container sees only the devices it is given.
        if let cpus = cpuset.cpus { host["CpusetCpus"] = cpus }
        if let mems = cpuset.mems { host["CpusetMems"] = mems }

        if let privileged = properties["privileged"] as? Bool, privileged {
            guard policy.allowsPrivileged else {
                throw ContainerPlanError("containerProperties.privileged", "privileged containers are not allowed on this compute environment; remove privileged, or set the compute environment's allow_privileged setting (tag docket:allow_privileged) to true.")
            }
            host["Privileged"] = true
        }
        if properties["readonlyRootFilesystem"] as? Bool == true { host["ReadonlyRootfs"] = true }

        var ulimits: [[String: Any]] = []
        for (index, item) in (properties["ulimits"] as? [[String: Any]] ?? []).enumerated() {
            let field = "containerProperties.ulimits[\(index)]"
            guard let name = item["name"] as? String, Self.ulimitNames.contains(name) else {
                throw ContainerPlanError("\(field).name", "'\(item["name"] ?? "")' is not a ulimit name; use one of \(Self.ulimitNames.sorted().joined(separator: ", ")).")
            }
            guard let soft = (item["softLimit"] as? NSNumber)?.int64Value, let hard = (item["hardLimit"] as? NSNumber)?.int64Value, soft <= hard else {
                throw ContainerPlanError(field, "softLimit and hardLimit must be integers with softLimit <= hardLimit.")
            }
            ulimits.append(["Name": name, "Soft": soft, "Hard": hard])
        }
        if !ulimits.isEmpty { host["Ulimits"] = ulimits }

        var directories: [String] = []
        var binds: [String] = []
        var volumesByName: [String: String] = [:]
        for (index, volume) in (properties["volumes"] as? [[String: Any]] ?? []).enumerated() {
            let field = "containerProperties.volumes[\(index)]"
            guard let name = volume["name"] as? String, !name.isEmpty else {
                throw ContainerPlanError("\(field).name", "every volume needs a name, which mountPoints[].sourceVolume refers to.")
            }
            if volume["efsVolumeConfiguration"] != nil {
                throw ContainerPlanError("\(field).efsVolumeConfiguration", "EFS volumes are not available to the Docker executor; mount the file system on the host and use host.sourcePath.")
            }
            if let source = (volume["host"] as? [String: Any])?["sourcePath"] as? String, !source.isEmpty {
                guard source.hasPrefix("/") else {
                    throw ContainerPlanError("\(field).host.sourcePath", "'\(source)' is not an absolute path; write the host directory in full, e.g. /data/inputs.")
                }
                let resolved = Self.resolve(source)
                guard policy.allowedHostPaths.contains(where: { Self.isWithin(resolved, Self.resolve($0)) }) else {
                    let allowed = policy.allowedHostPaths.isEmpty ? "none are allowed" : "allowed: \(policy.allowedHostPaths.joined(separator: ", "))"
                    throw ContainerPlanError("\(field).host.sourcePath", "'\(source)' is outside the host directories this compute environment lets containers mount (\(allowed)); use a path under one of them, or add its directory to the allowed_host_paths setting.")
                }
                volumesByName[name] = resolved
                directories.append(resolved)
            } else {
                // AWS: an empty host is a runtime-assigned path that does not outlive the container.
                let scratch = workDirectory + "/volumes/" + name.replacingOccurrences(of: "/", with: "_")
                volumesByName[name] = scratch
                directories.append(scratch)
            }
        }
        for (index, mount) in (properties["mountPoints"] as? [[String: Any]] ?? []).enumerated() {
            let field = "containerProperties.mountPoints[\(index)]"
            guard let name = mount["sourceVolume"] as? String, let source = volumesByName[name] else {
                throw ContainerPlanError("\(field).sourceVolume", "'\(mount["sourceVolume"] ?? "")' names no volume in containerProperties.volumes; add the volume or fix the name.")
            }
            guard let target = mount["containerPath"] as? String, target.hasPrefix("/") else {
                throw ContainerPlanError("\(field).containerPath", "containerPath must be an absolute path inside the container, e.g. /data.")
            }
            binds.append("\(source):\(target)" + (mount["readOnly"] as? Bool == true ? ":ro" : ""))
        }
        if !binds.isEmpty { host["Binds"] = binds }

        let linux = properties["linuxParameters"] as? [String: Any] ?? [:]
        var deviceMappings: [[String: Any]] = []
        for (index, device) in (linux["devices"] as? [[String: Any]] ?? []).enumerated() {
            let field = "containerProperties.linuxParameters.devices[\(index)]"
            guard let hostPath = device["hostPath"] as? String, hostPath.hasPrefix("/dev/") else {
                throw ContainerPlanError("\(field).hostPath", "hostPath must be a device under /dev, e.g. /dev/fuse.")
            }
            guard policy.allowsPrivileged || policy.allowedDevices.contains(hostPath) else {
                throw ContainerPlanError("\(field).hostPath", "device \(hostPath) is not one this compute environment lets containers use; remove it, or add it to the allowed_devices setting.")
            }
            var permissions = ""
            for permission in device["permissions"] as? [String] ?? ["READ", "WRITE", "MKNOD"] {
                switch permission {
                case "READ": permissions += "r"
                case "WRITE": permissions += "w"
                case "MKNOD": permissions += "m"
                default: throw ContainerPlanError("\(field).permissions", "'\(permission)' is not a permission; use READ, WRITE or MKNOD.")
                }
            }
            deviceMappings.append(["PathOnHost": hostPath, "PathInContainer": device["containerPath"] as? String ?? hostPath,
                                   "CgroupPermissions": permissions])
        }
        var gpuIDs: [String] = []
        for device in devices {
            if device.hasPrefix("/dev/") {
                deviceMappings.append(["PathOnHost": device, "PathInContainer": device, "CgroupPermissions": "rwm"])
            } else {
                gpuIDs.append(device)
            }
        }
        if !deviceMappings.isEmpty { host["Devices"] = deviceMappings }
        if !gpuIDs.isEmpty {
            // Exactly the GPUs the host assigned, by UUID, so pinning holds inside the container.
            host["DeviceRequests"] = [["Driver": "nvidia", "DeviceIDs": gpuIDs, "Capabilities": [["gpu"]]]]
        } else if gpuCount > 0 {
            host["DeviceRequests"] = [["Driver": "nvidia", "Count": gpuCount, "Capabilities": [["gpu"]]]]
        }
        if let shared = (linux["sharedMemorySize"] as? NSNumber)?.int64Value {
            guard shared > 0 else {
                throw ContainerPlanError("containerProperties.linuxParameters.sharedMemorySize", "must be 1 MiB or more.")
            }
            host["ShmSize"] = shared * 1_048_576
        }
        var tmpfs: [String: String] = [:]
        for (index, item) in (linux["tmpfs"] as? [[String: Any]] ?? []).enumerated() {
            let field = "containerProperties.linuxParameters.tmpfs[\(index)]"
            guard let path = item["containerPath"] as? String, path.hasPrefix("/") else {
                throw ContainerPlanError("\(field).containerPath", "containerPath must be an absolute path inside the container, e.g. /scratch.")
            }
            guard let size = (item["size"] as? NSNumber)?.int64Value, size > 0 else {
                throw ContainerPlanError("\(field).size", "size is required, in MiB, 1 or more.")
            }
            tmpfs[path] = (["size=\(size)m"] + (item["mountOptions"] as? [String] ?? [])).joined(separator: ",")
        }
        if !tmpfs.isEmpty { host["Tmpfs"] = tmpfs }
        if linux["initProcessEnabled"] as? Bool == true { host["Init"] = true }
        if let maxSwap = (linux["maxSwap"] as? NSNumber)?.int64Value {
            guard maxSwap >= 0 else {
                throw ContainerPlanError("containerProperties.linuxParameters.maxSwap", "must be 0 (no swap) or more MiB.")
            }
            // AWS: --memory-swap is memory + maxSwap; swappiness counts only with maxSwap.
            if memoryMiB > 0 { host["MemorySwap"] = (memoryMiB + maxSwap) * 1_048_576 }
            if let swappiness = (linux["swappiness"] as? NSNumber)?.int64Value {
                guard (0...100).contains(swappiness) else {
                    throw ContainerPlanError("containerProperties.linuxParameters.swappiness", "\(swappiness) is outside 0–100.")
                }
                host["MemorySwappiness"] = swappiness
            }
        }

        var body: [String: Any] = [
            "Image": image,
            "Cmd": command,
            "Env": environmentValues,
            "Labels": labels,
            "HostConfig": host,
            "AttachStdin": false, "AttachStdout": false, "AttachStderr": false, "Tty": false, "OpenStdin": false,
        ]
        if networkMode == "none" { body["NetworkDisabled"] = true }
        if let user = properties["user"] as? String, !user.isEmpty { body["User"] = user }
        if let directory = policy.workingDirectory { body["WorkingDir"] = directory }
        directoriesToCreate = directories
        bodyStorage = JSONBox(body)
    }

    /// DOCKET_CPUSET_CPUS and DOCKET_CPUSET_MEMS (the last of each; empty means unset), checked:
    /// a Linux list within the policy's online CPUs and nodes, when those are known.
    /// - Throws: `ContainerPlanError` naming the variable.
    static func cpuset(environment: [String], policy: ContainerPolicy) throws(ContainerPlanError) -> (cpus: String?, mems: String?) {
        var values: [String?] = []
        for (variable, what, example, online) in [("DOCKET_CPUSET_CPUS", "CPU", "0-3,8", policy.onlineCPUs),
                                                  ("DOCKET_CPUSET_MEMS", "NUMA node", "0", policy.onlineMemoryNodes)] {
            let value = environment.last(where: { $0.hasPrefix(variable + "=") }).map { String($0.dropFirst(variable.count + 1)) }
            guard let value, !value.isEmpty else { values.append(nil); continue }
            guard let ranges = idRanges(value) else {
                throw ContainerPlanError("environment.\(variable)", "'\(value)' is not a list of \(what)s; write \(what) numbers and ranges separated by commas, e.g. \"\(example)\", or remove the variable.")
            }
            if let online, let available = idRanges(online) {
                let has = { (id: Int) in available.contains { $0.contains(id) } }
                // Stops at the first id that is not online, so a huge range costs nothing.
                if let missing = ranges.lazy.compactMap({ range in range.first(where: { !has($0) }) }).first {
                    throw ContainerPlanError("environment.\(variable)", "'\(value)' names \(what) \(missing), which the Docker engine's machine does not have online (online: \(online)); use \(what)s from \(online).")
                }
            }
            values.append(value)
        }
        return (values[0], values[1])
    }

    /// A Linux list ("0-3,8") as its ranges; nil when it is not one.
    static func idRanges(_ text: String) -> [ClosedRange<Int>]? {
        var ranges: [ClosedRange<Int>] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = item.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            guard bounds.allSatisfy({ !$0.isEmpty && $0.count <= 7 && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
                  let low = Int(bounds[0]), let high = Int(bounds[bounds.count - 1]), low <= high else { return nil }
            ranges.append(low...high)
        }
        return ranges
    }

    /// Why `reference` is not an image reference Docker accepts, or nil when it is one.
    /// The grammar is distribution/reference's: [domain[:port]/]path[:tag][@algorithm:hex].
    static func imageProblem(_ reference: String) -> String? {
        guard reference.utf8.count <= 255 else { return "it is longer than 255 characters" }
        var rest = Substring(reference)
        if let at = rest.firstIndex(of: "@") {
            let digest = rest[rest.index(after: at)...]
            let parts = digest.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty, parts[1].count >= 32,
                  parts[1].allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return "the digest after @ is not algorithm:hex" }
            rest = rest[..<at]
        }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard let lastComponent = components.last else { return "it is empty" }
        if let colon = lastComponent.lastIndex(of: ":") {
            let tag = lastComponent[lastComponent.index(after: colon)...]
            guard !tag.isEmpty, tag.count <= 128, tag.first != "." && tag.first != "-",
                  tag.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-") }) else {
                return "the tag '\(tag)' may hold only letters, digits, _, . and - (at most 128, not starting with . or -)"
            }
            components[components.count - 1] = lastComponent[..<colon]
        }
        if components.count > 1, let first = components.first,
           first.contains(".") || first.contains(":") || first == "localhost" || first.contains(where: \.isUppercase) {
            let host = first.split(separator: ":", maxSplits: 1)
            guard !host[0].isEmpty, host[0].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }),
                  host.count == 1 || Int(host[1]) != nil else { return "the registry '\(first)' is not host[:port]" }
            components.removeFirst()
        }
        for component in components {
            guard !component.isEmpty else { return "it has an empty path component" }
            guard component.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") }) else {
                return "'\(component)' may hold only lowercase letters, digits, ., _ and -"
            }
            guard let first = component.first, let last = component.last, first.isLetter || first.isNumber,
                  last.isLetter || last.isNumber else {
                return "'\(component)' must start and end with a lowercase letter or digit"
            }
        }
        return nil
    }

    /// The path with symlinks in its existing part resolved and "." and ".." removed, so a
    /// sourcePath cannot leave an allowed directory through either.
    static func resolve(_ path: String) -> String {
        var existing = path
        var missing: [String] = []
        while !FileManager.default.fileExists(atPath: existing), existing != "/" {
            missing.insert((existing as NSString).lastPathComponent, at: 0)
            existing = (existing as NSString).deletingLastPathComponent
        }
        var parts: [String] = []
        let real = realpath(existing, nil).map { pointer -> String in defer { free(pointer) }; return String(cString: pointer) } ?? existing
        for part in real.split(separator: "/").map(String.init) + missing {
            switch part {
            case "", ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    static func isWithin(_ path: String, _ directory: String) -> Bool {
        directory == "/" || path == directory || path.hasPrefix(directory + "/")
    }
}

/// The create body, immutable once planned; Foundation's JSON values are not Sendable.
private final class JSONBox: @unchecked Sendable {
    let value: [String: Any]
    init(_ value: [String: Any]) { self.value = value }
}
