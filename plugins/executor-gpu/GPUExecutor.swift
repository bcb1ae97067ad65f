import CDocketPlugin
import DocketGPUInventory
import DocketSwiftPluginSupport
import Foundation

/// The GPU executor of one compute environment: it owns the machine's GPU inventory and who
/// holds each GPU, gives each attempt the best-connected free GPUs it asks for, and runs the
/// attempt through the process or Docker runner with only those GPUs visible and its CPUs and
/// memory on their NUMA nodes.
final class GPUExecutor: RunnerReports, AttemptRunning, @unchecked Sendable {
    // @unchecked: `runners` is filled in init and only read afterwards; the inventory's
    // refresh state is guarded by `refreshLock`; the ledger guards itself.
    let host: HostLink
    private let settings: GPUSettings
    private let ledger: GPULedger
    private var runners: [String: Runner] = [:]
    private let refreshLock = NSLock()
    private var lastRefresh = Date()
    /// Why the inventory could not be read at the last try; nil when it could.
    private var inventoryProblem: String?
    private let machine = MachineNUMA()

    init(host: HostLink, configJSON: String) throws(SettingsError) {
        self.host = host
        settings = try GPUSettings(json: configJSON)
        guard let stateDirectory = host.setting("instance.state_dir") else {
            throw SettingsError("gpu executor: the host gave no instance.state_dir; this executor needs a host of ABI 1.0 or later.")
        }
        var first = GPUInventory(units: [], topology: .init(numaNodes: []) { _, _ in .crossSocket })
        do {
            first = try Self.read(settings.source)
        } catch {
            // A configuration that can never work is refused; nvidia-smi may work later.
            guard case .nvidiaSMI = settings.source else { throw SettingsError("gpu executor: setting \(error.description)") }
            inventoryProblem = error.message
        }
        ledger = GPULedger(inventory: first, directory: stateDirectory + "/assignments")
        let pluginDirectory = settings.pluginDirectory ?? Self.ownDirectory()
        for name in settings.runners {
            let file = name == "docker" ? "libDocketExecutorDocker.so" : "libDocketExecutorProcess.so"
            runners[name] = try Runner(name: name, pluginPath: "\(pluginDirectory)/\(file)", settings: settings.runnerSettings[name] ?? [:],
                                       host: host, stateDirectory: "\(stateDirectory)/\(name)", reports: self)
        }
        // Attempts whose GPUs were recorded but that no runner has: they never started.
        let running = Set(runners.values.flatMap { $0.listRunning() })
        for attemptID in ledger.forgetAll(except: running) {
            host.log(DOCKET_LOG_INFO, "released the GPUs of attempt \(attemptID): no runner has it")
        }
        host.log(DOCKET_LOG_INFO, "\(ledger.units.count) GPU units from \(Self.describe(settings.source)); runners \(settings.runners.joined(separator: ", "))")
    }

    func destroy() {
        for runner in runners.values { runner.destroy() }
        host.close()
    }

    // MARK: Capacity and health

    struct CapacityReport {
        var healthy: Bool
        var vcpuMillis: Int64
        var memoryMiB: Int64
        var gpuCount: Int64
        var reason: String?
        var notice: String?
        var devices: [String]
    }

    func capacity() -> CapacityReport {
        refreshInventoryIfDue()
        let (runnerReport, runnerReason) = runners[settings.runners[0]]!.capacity()
        let problem = refreshLock.withLock { inventoryProblem }
        var reason = runnerReport.healthy == 0 ? (runnerReason ?? "the \(settings.runners[0]) runner cannot run jobs now") : nil
        if let problem { reason = "cannot read the GPU inventory: \(problem)" }
        let units = ledger.units
        let drainedNotice = ledger.notice
        return CapacityReport(healthy: reason == nil, vcpuMillis: runnerReport.vcpu_millis, memoryMiB: runnerReport.memory_mib,
                              gpuCount: Int64(ledger.healthyCount), reason: reason, notice: drainedNotice,
                              devices: units.map(\.uuid))
    }

    /// Reads the inventory again when it may have changed: recorded files at every capacity
    /// call (they are cheap to read), nvidia-smi every refresh_seconds, a static list never.
    private func refreshInventoryIfDue() {
        let source: InventorySource = settings.source
        if case .staticList = source { return }
        let due = refreshLock.withLock {
            if case .nvidiaSMI = source, inventoryProblem == nil, Date().timeIntervalSince(lastRefresh) < settings.refreshSeconds { return false }
            lastRefresh = Date()
            return true
        }
        guard due else { return }
        do {
            // Health needs only the GPUs and their faults; the links stay those of the first
            // reading (and a matrix read a moment apart from a GPU falling off could disagree).
            let isFirst = ledger.units.isEmpty
            let reading = try Self.read(source, withTopology: isFirst)
            if isFirst, ledger.adopt(reading) { host.log(DOCKET_LOG_INFO, "\(reading.units.count) GPU units from \(Self.describe(source))") }
            refreshLock.withLock { inventoryProblem = nil }
            for change in ledger.refresh(with: reading, source: Self.describe(source)) { host.log(DOCKET_LOG_WARNING, change) }
        } catch {
            host.log(DOCKET_LOG_ERROR, "cannot read the GPU inventory: \(error.description)")
            refreshLock.withLock { inventoryProblem = error.description }
        }
    }

    static func read(_ source: InventorySource, withTopology: Bool = true) throws(InventoryError) -> GPUInventory {
        switch source {
        case .staticList(let value):
            return try GPUInventory.staticInventory(value, field: "static_gpus")
        case .recorded(let query, let topo, let list):
            func text(_ path: String?, _ field: String) throws(InventoryError) -> String? {
                guard let path else { return nil }
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw InventoryError(field: field, "cannot read \(path); name a readable file holding the recorded output.")
                }
                return String(decoding: data, as: UTF8.self)
            }
            return try NvidiaSMI.inventory(queryXML: try text(query, "nvidia_smi_query_file")!,
                                           topoMatrix: withTopology ? try text(topo, "nvidia_smi_topo_file") : nil,
                                           gpuList: try text(list, "nvidia_smi_list_file"))
        case .nvidiaSMI(let executable):
            let query = try CommandOutput.run([executable, "-q", "-x"], field: "nvidia_smi_path")
            let topo = withTopology ? try CommandOutput.run([executable, "topo", "-m"], field: "nvidia_smi_path") : nil
            let list = try CommandOutput.run([executable, "-L"], field: "nvidia_smi_path")
            return try NvidiaSMI.inventory(queryXML: query, topoMatrix: topo, gpuList: list)
        }
    }

    static func describe(_ source: InventorySource) -> String {
        switch source {
        case .staticList: "static_gpus"
        case .recorded(let query, _, _): "the recorded nvidia-smi output \(query)"
        case .nvidiaSMI(let executable): executable
        }
    }

    /// The directory this plugin was loaded from, where Docket's other plugins are too: the
    /// file mapped at this library's own address in /proc/self/maps (Swift's Glibc module does
    /// not offer dladdr).
    static func ownDirectory() -> String {
        let address = UInt(bitPattern: #dsohandle)
        for line in readProcFile("/proc/self/maps").split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6, let dash = fields[0].firstIndex(of: "-"),
                  let low = UInt(fields[0][..<dash], radix: 16), let high = UInt(fields[0][fields[0].index(after: dash)...], radix: 16),
                  low <= address, address < high else { continue }
            let path = fields[5].trimmingCharacters(in: .whitespaces)
            return (path as NSString).deletingLastPathComponent
        }
        return "."
    }

    // MARK: Attempts

    func start(_ spec: docket_attempt_spec) -> (docket_status, String)? {
        let attemptID = String(cString: spec.attempt_id)
        var environment = cStrings(spec.env, Int(spec.env_count))
        let runnerName = value(of: "DOCKET_RUNNER", in: environment) ?? settings.runners[0]
        guard let runner = runners[runnerName] else {
            return (DOCKET_E_INVALID_ARGUMENT, "containerProperties.environment DOCKET_RUNNER: '\(runnerName)' is not a runner of this compute environment; use one of \(settings.runners.joined(separator: ", ")) (the compute environment's runners setting).")
        }
        guard spec.gpu_count >= 0 else {
            return (DOCKET_E_INVALID_ARGUMENT, "resourceRequirements GPU: \(spec.gpu_count) is not a GPU count; ask for 1 or more GPUs, or none.")
        }
        let units: [GPUUnit]
        switch ledger.assign(count: Int(spec.gpu_count), attemptID: attemptID, jobID: String(cString: spec.job_id), runner: runnerName) {
        case .failure(let shortage): return (shortage.permanent ? DOCKET_E_INVALID_ARGUMENT : DOCKET_E_UNAVAILABLE, shortage.message)
        case .success(let assigned): units = assigned
        }

        let uuids = units.map(\.uuid).joined(separator: ",")
        var added = ["CUDA_VISIBLE_DEVICES=\(uuids)", "NVIDIA_VISIBLE_DEVICES=\(units.isEmpty ? "none" : uuids)",
                     "CUDA_DEVICE_ORDER=PCI_BUS_ID", "DOCKET_GPU_UUIDS=\(uuids)",
                     "DOCKET_GPU_INDEXES=\(units.map { String($0.index) }.joined(separator: ","))"]
        var notes = [units.isEmpty ? "no GPUs: the job asks for none, and sees none" : "GPUs \(units.map(GPULedger.label).joined(separator: ", "))"]
        if settings.numaPinning, !units.isEmpty {
            let pinning = machine.pinning(for: units)
            if let cpus = pinning.cpus { added.append("DOCKET_CPUSET_CPUS=\(cpus)") }
            if let nodes = pinning.nodes { added.append("DOCKET_CPUSET_MEMS=\(nodes)") }
            notes.append(pinning.note)
        }
        var devices: [String] = []
        if runnerName == "docker" {
            devices = settings.containerGPUAccess == .nvidia ? units.map(\.uuid) : Array(Set(units.flatMap(\.deviceNodes))).sorted()
        } else if settings.denyOtherGPUs {
            let mine = Set(units.flatMap(\.deviceNodes))
            let others = Set(ledger.units.flatMap(\.deviceNodes)).subtracting(mine).sorted()
            if !others.isEmpty { added.append("DOCKET_DENY_DEVICES=\(others.joined(separator: ","))") }
        }
        let addedNames = Set(added.map { String($0.prefix { $0 != "=" }) })
        environment = environment.filter { !addedNames.contains(String($0.prefix { $0 != "=" })) } + added
        appendNote(spec.log_path, "[docket] \(notes.joined(separator: "; ")); runner \(runnerName)")

        let failure = withCStringArray(environment) { env in
            withCStringArray(devices) { deviceList in
                var decorated = spec
                decorated.env = env.baseAddress.map { UnsafePointer($0) }
                decorated.env_count = UInt32(environment.count)
                decorated.devices = deviceList.baseAddress.map { UnsafePointer($0) }
                decorated.device_count = UInt32(devices.count)
                // With device nodes, the runner must not ask Docker for GPUs on its own as well.
                if runnerName == "docker" && settings.containerGPUAccess == .deviceNodes { decorated.gpu_count = 0 }
                return withUnsafePointer(to: &decorated) { runner.start($0) }
            }
        }
        if failure != nil { ledger.release(attemptID) }
        return failure
    }

    func signal(_ attemptID: String, _ signal: Int32) -> (docket_status, String)? {
        route(attemptID) { $0.signal(attemptID, signal) }
    }

    func terminate(_ attemptID: String, graceMillis: Int64) -> (docket_status, String)? {
        route(attemptID) { $0.terminate(attemptID, graceMillis: graceMillis) }
    }

    /// Calls the runner the attempt was given to, or, for one the ledger does not know (it
    /// asked for no record: an attempt re-adopted without one), each runner until one has it.
    private func route(_ attemptID: String, _ call: (Runner) -> (docket_status, String)?) -> (docket_status, String)? {
        if let name = ledger.assignment(of: attemptID)?.runner, let runner = runners[name] { return call(runner) }
        for runner in runners.values {
            let outcome = call(runner)
            if outcome?.0 != DOCKET_E_NOT_FOUND { return outcome }
        }
        return (DOCKET_E_NOT_FOUND, "no runner of this compute environment has attempt \(attemptID)")
    }

    func listRunning() -> [String] { runners.values.flatMap { $0.listRunning() } }

    func describeGPUs() -> String {
        let data = (try? JSONSerialization.data(withJSONObject: ["gpus": ledger.describe()], options: [.sortedKeys])) ?? Data("{\"gpus\":[]}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: RunnerReports

    func attemptRunning(_ attemptID: String, detail: String) {
        let units = ledger.assignment(of: attemptID)?.uuids ?? []
        guard !units.isEmpty else { return host.running(attemptID, detail: detail) }
        let known = Dictionary(ledger.units.map { ($0.uuid, $0) }, uniquingKeysWith: { first, _ in first })
        let labels = units.map { uuid in known[uuid].map(GPULedger.label) ?? uuid }
        host.running(attemptID, detail: "\(detail); GPUs \(labels.joined(separator: ", "))")
    }

    func attemptExited(_ attemptID: UnsafePointer<CChar>, _ exit: UnsafePointer<docket_attempt_exit>) {
        ledger.release(String(cString: attemptID))
        host.forwardExit(attemptID, exit)
    }

    // MARK: Helpers

    private func value(of name: String, in environment: [String]) -> String? {
        environment.last { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
    }

    /// One line in the attempt's log before the runner starts it (the host and the runners
    /// append to the same file).
    private func appendNote(_ logPath: UnsafePointer<CChar>?, _ line: String) {
        guard let logPath else { return }
        let descriptor = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }
}

/// The whole of a /proc file. Its size reads as 0, and Foundation's String(contentsOfFile:)
/// may stop after the first read, which left the plugin's own mapping out of a long
/// /proc/self/maps often enough to fail one server start in a few.
private func readProcFile(_ path: String) -> String {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return "" }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = read(descriptor, &buffer, buffer.count)
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else { break }
        bytes.append(contentsOf: buffer[0..<count])
    }
    return String(decoding: bytes, as: UTF8.self)
}

private func cStrings(_ list: UnsafePointer<UnsafePointer<CChar>?>?, _ count: Int) -> [String] {
    guard let list else { return [] }
    return (0..<count).compactMap { list[$0].map { String(cString: $0) } }
}

/// Calls `body` with a C array of NUL-terminated copies of `strings`, valid for the call.
private func withCStringArray<Result>(_ strings: [String], _ body: (UnsafeBufferPointer<UnsafePointer<CChar>?>) -> Result) -> Result {
    let copies = strings.map { UnsafePointer(strdup($0)!) }
    defer { for copy in copies { free(UnsafeMutablePointer(mutating: copy)) } }
    let array: [UnsafePointer<CChar>?] = copies
    return array.withUnsafeBufferPointer(body)
}
