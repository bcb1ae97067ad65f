import CDocketPlugin
import DocketDockerEngine
import DocketSwiftPluginSupport
import Foundation
import Synchronization

/// One attempt the instance holds, from its start (or re-adoption) to its reported exit.
final class AttemptState: @unchecked Sendable {
    // @unchecked: the mutable fields are guarded by `lock`; `delivered` is touched only by the
    // attempt's own thread.
    let id: String
    var containerName: String { Self.containerName(id) }

    /// Docker allows [a-zA-Z0-9][a-zA-Z0-9_.-] in names; an array child's attempt id
    /// ("JOB:3-1") has a colon. Job ids are UUIDs, so the mapping cannot collide.
    static func containerName(_ attemptID: String) -> String {
        "docket-" + attemptID.replacingOccurrences(of: ":", with: "_")
    }
    private let lock = NSLock()
    private var stopGraceMillis: Int64?
    /// Bytes of the container's output already in the attempt's log, persisted in the attempt's
    /// state file so a follower that starts over (after an engine or server restart) skips them.
    var delivered: Int64
    private let stateDescriptor: Int32

    init(id: String, delivered: Int64, stateDescriptor: Int32) {
        self.id = id
        self.delivered = delivered
        self.stateDescriptor = stateDescriptor
    }

    deinit { if stateDescriptor >= 0 { close(stateDescriptor) } }

    /// The grace the host asked for when it terminated the attempt; nil while it has not.
    var requestedStop: Int64? { lock.withLock { stopGraceMillis } }

    func requestStop(graceMillis: Int64) { lock.withLock { stopGraceMillis = graceMillis } }

    func persistDelivered() {
        guard stateDescriptor >= 0 else { return }
        let text = Array(String(format: "%020lld\n", delivered).utf8)
        _ = text.withUnsafeBytes { pwrite(stateDescriptor, $0.baseAddress, $0.count, 0) }
    }
}

/// A launch that failed before the container ran: the reason, in AWS's words.
struct LaunchFailure: Error {
    var reason: String
}

/// One Docker executor instance: a compute environment's containers on one engine. Every
/// attempt has a thread of its own that pulls, creates, starts, follows the output and waits
/// for the exit, then removes the container; the containers carry labels naming their owner,
/// so a restarted server finds them and follows them again.
final class DockerExecutor: AttemptRunning, @unchecked Sendable {
    // @unchecked: every mutable member is behind a Mutex or its own lock.
    let host: HostLink
    let settings: DockerSettings
    let client: EngineClient
    /// The label value marking this instance's containers: its state directory, unique per
    /// server data directory and compute environment (two servers may share an engine).
    let owner: String
    let attemptsDirectory: String
    let computeEnvironment: String
    private let attempts = Mutex<[String: AttemptState]>([:])
    private let health = Mutex<(healthy: Bool, reason: String?)>((false, "the Docker engine has not been asked yet"))
    private let totals: (vcpuMillis: Int64, memoryMiB: Int64)
    private let recovered = Mutex(false)
    /// The settings' policy, with the online CPUs and NUMA nodes when the engine is on this
    /// machine (a unix socket), so that a pinning it cannot honour is refused before create.
    private let containerPolicy: ContainerPolicy

    init(host: HostLink, configJSON: String) throws(SettingsError) {
        self.host = host
        settings = try DockerSettings(json: configJSON, environment: ProcessInfo.processInfo.environment)
        client = EngineClient(endpoint: settings.endpoint)
        var policy = settings.policy
        if case .unix = settings.endpoint { policy.readOnlineTopology() }
        containerPolicy = policy
        guard let state = host.setting("instance.state_dir") else {
            throw SettingsError("docker executor: the host gave no instance.state_dir setting; this executor needs one to find its containers after a restart.")
        }
        owner = state
        computeEnvironment = host.setting("instance.name") ?? "unknown"
        attemptsDirectory = state + "/attempts"
        do {
            try FileManager.default.createDirectory(atPath: attemptsDirectory, withIntermediateDirectories: true)
        } catch {
            throw SettingsError("docker executor: cannot create \(attemptsDirectory): \(error.localizedDescription); make the server's data directory writable.")
        }
        var engineInfo: [String: Any] = [:]
        var initialHealth: (healthy: Bool, reason: String?) = (true, nil)
        do throws(EngineError) {
            try client.negotiate(timeoutSeconds: 3)
            engineInfo = try client.call("GET", "/info", timeoutSeconds: 5).object
        } catch {
            initialHealth = (false, Self.unreachableReason(error))
            host.log(DOCKET_LOG_WARNING, "\(error.message); jobs wait until it answers")
        }
        let engineCPUs = (engineInfo["NCPU"] as? NSNumber)?.int64Value ?? Int64(ProcessInfo.processInfo.activeProcessorCount)
        let engineMemory = (engineInfo["MemTotal"] as? NSNumber)?.int64Value ?? Int64(ProcessInfo.processInfo.physicalMemory)
        totals = (settings.vcpuMillis ?? engineCPUs * 1000, settings.memoryMiB ?? engineMemory / 1_048_576)
        health.withLock { $0 = initialHealth }
        recover()
    }

    static func unreachableReason(_ error: EngineError) -> String {
        "\(error.message). Start the engine (dockerd) or point the compute environment's docker_host setting at one."
    }

    // MARK: - Capacity and health

    func capacity() -> (healthy: Bool, reason: String?, vcpuMillis: Int64, memoryMiB: Int64) {
        do throws(EngineError) {
            let ping = try client.call("GET", "/_ping", timeoutSeconds: 2)
            guard ping.status == 200 else { throw EngineError("Docker engine at \(settings.endpoint) answered /_ping with \(ping.status): \(ping.message)") }
            health.withLock { $0 = (true, nil) }
        } catch {
            client.reset()
            health.withLock { $0 = (false, Self.unreachableReason(error)) }
        }
        let now = health.withLock { $0 }
        return (now.healthy, now.reason, totals.vcpuMillis, totals.memoryMiB)
    }

    private func markUnreachable(_ error: EngineError) {
        health.withLock { $0 = (false, Self.unreachableReason(error)) }
    }

    // MARK: - Start, signal, terminate, list

    /// Checks the spec against the compute environment and starts the attempt's thread.
    /// - Returns: nil when launched; else the status and message for the host.
    func start(_ spec: docket_attempt_spec) -> (docket_status, String)? {
        let attemptID = String(cString: spec.attempt_id)
        let strings = { (pointer: UnsafePointer<UnsafePointer<CChar>?>?, count: UInt32) -> [String] in
            guard let pointer else { return [] }
            return (0..<Int(count)).compactMap { pointer[$0].map { String(cString: $0) } }
        }
        let environment = strings(spec.env, spec.env_count)
        let propertiesText = spec.container_properties_json.map { String(cString: $0) } ?? "{}"
        let properties = (try? JSONSerialization.jsonObject(with: Data(propertiesText.utf8))) as? [String: Any] ?? [:]
        var labels = [
            "docket.owner": owner,
            "docket.attempt-id": attemptID,
            "docket.job-id": spec.job_id.map { String(cString: $0) } ?? "",
            "docket.job-name": spec.job_name.map { String(cString: $0) } ?? "",
            "docket.attempt": String(spec.attempt_number),
            "docket.job-queue": spec.job_queue.map { String(cString: $0) } ?? "",
            "docket.compute-environment": spec.compute_environment.map { String(cString: $0) } ?? computeEnvironment,
        ]
        labels = labels.filter { !$0.value.isEmpty }
        var pullPolicy = settings.pullPolicy
        if let requested = environment.last(where: { $0.hasPrefix("DOCKET_PULL_POLICY=") }) {
            let text = String(requested.dropFirst("DOCKET_PULL_POLICY=".count))
            guard let parsed = PullPolicy(rawValue: text) else {
                return (DOCKET_E_INVALID_ARGUMENT, "CannotCreateContainerError: environment.DOCKET_PULL_POLICY is '\(text)'; use one of \(PullPolicy.names).")
            }
            pullPolicy = parsed
        }
        let plan: ContainerPlan
        do {
            plan = try ContainerPlan(image: spec.image.map { String(cString: $0) }, command: strings(spec.argv, spec.argc),
                                     environment: environment.filter { !$0.hasPrefix("DOCKET_PULL_POLICY=") }, labels: labels,
                                     memoryMiB: spec.memory_mib, vcpuMillis: spec.vcpu_millis, gpuCount: spec.gpu_count,
                                     devices: strings(spec.devices, spec.device_count), properties: properties,
                                     workDirectory: String(cString: spec.work_dir), policy: containerPolicy)
        } catch {
            return (DOCKET_E_INVALID_ARGUMENT, "CannotCreateContainerError: \(error.field): \(error.message)")
        }
        // Asked now, not at the last capacity refresh: an engine that went away since sends the
        // job back to RUNNABLE here, instead of failing an attempt in the launch.
        do {
            _ = try client.call("GET", "/_ping", timeoutSeconds: 2)
        } catch {
            markUnreachable(error)
            return (DOCKET_E_UNAVAILABLE, Self.unreachableReason(error))
        }

        let path = attemptsDirectory + "/" + attemptID
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            return (DOCKET_E_INTERNAL, "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        let attempt = AttemptState(id: attemptID, delivered: 0, stateDescriptor: descriptor)
        attempt.persistDelivered()
        attempts.withLock { $0[attemptID] = attempt }
        let policy = pullPolicy
        let thread = Thread { [self] in launch(attempt, plan: plan, pullPolicy: policy) }
        thread.name = "docker " + attemptID
        thread.start()
        return nil
    }

    func signal(_ attemptID: String, _ signal: Int32) -> (docket_status, String)? {
        guard let attempt = attempts.withLock({ $0[attemptID] }) else { return (DOCKET_E_NOT_FOUND, "no attempt \(attemptID) on this executor") }
        do {
            let response = try client.call("POST", "/containers/\(attempt.containerName)/kill", query: [("signal", String(signal))])
            switch response.status {
            case 204: return nil
            case 404, 409: return (DOCKET_E_NOT_FOUND, "container \(attempt.containerName) is not running: \(response.message)")
            default: return (DOCKET_E_INTERNAL, "Docker engine refused to signal \(attempt.containerName): \(response.message)")
            }
        } catch {
            return (DOCKET_E_INTERNAL, error.message)
        }
    }

    /// Asks the engine to stop the container (SIGTERM, then SIGKILL after the grace) on a
    /// thread of its own; an attempt whose container does not run yet is stopped by its launch.
    func terminate(_ attemptID: String, graceMillis: Int64) -> (docket_status, String)? {
        guard let attempt = attempts.withLock({ $0[attemptID] }) else { return (DOCKET_E_NOT_FOUND, "no attempt \(attemptID) on this executor") }
        attempt.requestStop(graceMillis: graceMillis)
        let thread = Thread { [self] in stopContainer(attempt, graceMillis: graceMillis) }
        thread.name = "docker stop " + attemptID
        thread.start()
        return nil
    }

    private func stopContainer(_ attempt: AttemptState, graceMillis: Int64) {
        let seconds = max(0, (graceMillis + 999) / 1000)
        _ = try? client.call("POST", "/containers/\(attempt.containerName)/stop", query: [("t", String(seconds))],
                             timeoutSeconds: Double(seconds) + 30)
    }

    func listRunning() -> [String] {
        recovered.withLock { $0 = true }
        return attempts.withLock { Array($0.keys) }
    }

    func destroy() {
        host.close()
    }

    // MARK: - An attempt's life

    private func launch(_ attempt: AttemptState, plan: ContainerPlan, pullPolicy: PullPolicy) {
        var created = false
        do {
            for directory in plan.directoriesToCreate {
                do {
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                } catch {
                    throw LaunchFailure(reason: "CannotCreateContainerError: cannot create the volume directory \(directory): \(error.localizedDescription)")
                }
            }
            try ensureImage(plan.image, policy: pullPolicy, attempt: attempt)
            if attempt.requestedStop != nil { throw LaunchFailure(reason: "CannotStartContainerError: the job was terminated before its container started") }
            let creation = try client.call("POST", "/containers/create", query: [("name", attempt.containerName)], json: plan.body)
            switch creation.status {
            case 201: created = true
            case 404: throw LaunchFailure(reason: "CannotPullContainerError: \(creation.message)")
            case 409: created = true  // made by an earlier try of this same attempt: follow it
            default: throw LaunchFailure(reason: "CannotCreateContainerError: Error response from daemon: \(creation.message)")
            }
            let containerID = (creation.object["Id"] as? String).map { String($0.prefix(12)) } ?? attempt.containerName
            host.note(attempt.id, "container \(attempt.containerName) (\(containerID)) from image \(plan.image) on \(settings.endpoint), network \(plan.networkMode)")
            if attempt.requestedStop != nil { throw LaunchFailure(reason: "CannotStartContainerError: the job was terminated before its container started") }
            try startContainer(attempt)
        } catch let failure as LaunchFailure {
            if created { removeContainer(attempt) }
            finish(attempt, .launchFailed(failure.reason))
            return
        } catch let error as EngineError where !created {
            markUnreachable(error)
            finish(attempt, .launchFailed("CannotCreateContainerError: \(error.message)"))
            return
        } catch {
            // The engine went away after the create: follow() waits for it and finds out.
        }
        follow(attempt)
    }

    /// Starts a created container and reports the attempt RUNNING; stops it at once if the
    /// host terminated the attempt meanwhile (its stop may have reached the engine first).
    private func startContainer(_ attempt: AttemptState) throws {
        let started = try client.call("POST", "/containers/\(attempt.containerName)/start")
        guard started.status == 204 || started.status == 304 else {
            throw LaunchFailure(reason: "CannotStartContainerError: Error response from daemon: \(started.message)")
        }
        host.running(attempt.id, detail: "container \(attempt.containerName)")
        if let grace = attempt.requestedStop { stopContainer(attempt, graceMillis: grace) }
    }

    private func ensureImage(_ image: String, policy: PullPolicy, attempt: AttemptState) throws {
        let name = image.split(separator: "/").map { EngineClient.pathSegment(String($0)) }.joined(separator: "/")
        if policy != .always {
            let present = try client.call("GET", "/images/\(name)/json")
            if present.status == 200 { return }
            guard present.status == 404 else {
                throw LaunchFailure(reason: "CannotPullContainerError: Error response from daemon: \(present.message)")
            }
            if policy == .never {
                throw LaunchFailure(reason: "CannotPullContainerError: image \(image) is not present on the Docker engine at \(settings.endpoint) and the pull policy is never; load it there (docker load or docker import) or use pull policy if-missing.")
            }
        }
        host.note(attempt.id, "pulling image \(image)")
        var query: [(String, String)]
        if image.contains("@") {
            query = [("fromImage", image)]
        } else if let colon = image.lastIndex(of: ":"), !image[colon...].contains("/") {
            query = [("fromImage", String(image[..<colon])), ("tag", String(image[image.index(after: colon)...]))]
        } else {
            query = [("fromImage", image), ("tag", "latest")]
        }
        // Progress arrives as JSON lines; a failure mid-pull is a line with "error".
        var pending: [UInt8] = []
        var failure: String?
        let response = try client.stream("POST", "/images/create", query: query) { data in
            pending += data
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeFirst(newline + 1)
                if let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any],
                   let error = object["error"] as? String {
                    failure = error
                }
            }
        }
        if response.status >= 400 { failure = response.message }
        if let failure { throw LaunchFailure(reason: "CannotPullContainerError: pulling \(image): Error response from daemon: \(failure)") }
        host.note(attempt.id, "pulled image \(image)")
    }

    /// Follows a started (or re-adopted) container to its end: streams its output into the log,
    /// rides out an engine that stops answering for up to engine_loss_grace_seconds, and
    /// reports how it ended.
    func follow(_ attempt: AttemptState) {
        var unreachableSince: Date?
        var outputComplete = false
        while !host.isClosed {
            do {
                let inspection = try client.call("GET", "/containers/\(attempt.containerName)/json")
                unreachableSince = nil
                if inspection.status == 404 {
                    finish(attempt, .lost("the container \(attempt.containerName) is gone from the Docker engine at \(settings.endpoint) (removed by someone else, or never created); its end is unknown"))
                    return
                }
                guard inspection.status == 200 else { throw EngineError(inspection.message, status: inspection.status) }
                let state = inspection.object["State"] as? [String: Any] ?? [:]
                let status = state["Status"] as? String ?? ""
                switch status {
                case "created":
                    do { try startContainer(attempt) } catch let failure as LaunchFailure {
                        removeContainer(attempt)
                        finish(attempt, .launchFailed(failure.reason))
                        return
                    }
                case "running", "paused", "restarting":
                    host.running(attempt.id, detail: "container \(attempt.containerName)")
                    outputComplete = try streamOutput(attempt, follow: true)
                default:  // exited, dead, removing
                    if !outputComplete { outputComplete = try streamOutput(attempt, follow: false) }
                    guard outputComplete else { continue }
                    if host.isClosed { return }
                    finish(attempt, Self.exitReport(state), keepingStateFile: true)
                    // The container and its state file stay a moment after the report: a server
                    // that dies before committing the exit finds both at its restart and is told
                    // the exit again, instead of losing the attempt. The host commits within a
                    // scheduling cycle (milliseconds).
                    Thread.sleep(forTimeInterval: Self.removalDelaySeconds)
                    if host.isClosed { return }
                    dispose(attempt, state: state)
                    unlink(attemptsDirectory + "/" + attempt.id)
                    return
                }
            } catch let error as EngineError where error.isUnreachable {
                markUnreachable(error)
                client.reset()
                let since = unreachableSince ?? Date()
                unreachableSince = since
                let waited = Date().timeIntervalSince(since)
                if waited >= settings.engineLossGraceSeconds {
                    finish(attempt, .lost("Docker engine at \(settings.endpoint) stopped answering while the container ran and was still down \(Int(waited)) s later: \(error.message)"))
                    return
                }
                Thread.sleep(forTimeInterval: 1)
            } catch {
                host.log(DOCKET_LOG_WARNING, "attempt \(attempt.id): \(error); trying again in 1 s")
                Thread.sleep(forTimeInterval: 1)
            }
        }
    }

    /// Streams the container's output into the attempt's log, skipping what earlier streams
    /// delivered. Returns true when the stream ran to its end (the container stopped), false
    /// when it broke.
    private func streamOutput(_ attempt: AttemptState, follow: Bool) throws -> Bool {
        var demultiplexer = StreamDemultiplexer()
        var seen: Int64 = 0
        let query = [("stdout", "1"), ("stderr", "1"), ("follow", follow ? "1" : "0")]
        let response = try client.stream("GET", "/containers/\(attempt.containerName)/logs", query: query) { [host] data in
            var advanced = false
            demultiplexer.feed(data) { stream, payload in
                let end = seen + Int64(payload.count)
                defer { seen = end }
                guard end > attempt.delivered else { return }
                let fresh = payload.suffix(Int(end - max(seen, attempt.delivered)))
                host.appendLog(attempt.id, stream: stream == 2 ? DOCKET_STREAM_STDERR : DOCKET_STREAM_STDOUT, fresh)
                attempt.delivered = end
                advanced = true
            }
            if advanced { attempt.persistDelivered() }
        }
        if response.status == 404 { return true }
        guard response.status == 200 else { throw EngineError("logs of \(attempt.containerName): \(response.message)", status: response.status) }
        return true
    }

    static func exitReport(_ state: [String: Any]) -> ExitReport {
        let code = Int32((state["ExitCode"] as? NSNumber)?.intValue ?? -1)
        var report = ExitReport(outcome: DOCKET_EXIT_CODE, exitCode: code)
        report.startedAtMillis = Self.millis(state["StartedAt"] as? String)
        // The engine stamps the two on different clocks' paths: a container that exits at once
        // can show FinishedAt a few ms before StartedAt.
        report.stoppedAtMillis = max(Self.millis(state["FinishedAt"] as? String), report.startedAtMillis)
        if state["OOMKilled"] as? Bool == true {
            report.outcome = DOCKET_EXIT_SIGNAL
            report.signal = SIGKILL
            report.exitCode = 128 + SIGKILL
            report.isOOMKilled = true
            report.reason = "OutOfMemoryError: Container killed due to memory usage"
        } else if let error = state["Error"] as? String, !error.isEmpty {
            report.reason = "CannotStartContainerError: \(error)"
        }
        return report
    }

    /// Epoch milliseconds of the engine's RFC 3339 time ("2026-11-23T11:30:41.887951573Z"); 0
    /// for none (the engine writes "0001-01-01T00:00:00Z" for never).
    static func millis(_ text: String?) -> Int64 {
        guard let text, text.count >= 20, !text.hasPrefix("0001-") else { return 0 }
        let whole = String(text.prefix(19)) + "Z"
        let formatter = ISO8601DateFormatter()
        guard let date = formatter.date(from: whole) else { return 0 }
        var fraction = 0.0
        if let dot = text.firstIndex(of: "."), let end = text[dot...].firstIndex(where: { !$0.isNumber && $0 != "." }) {
            fraction = Double("0" + text[dot..<end]) ?? 0
        }
        return Int64((date.timeIntervalSince1970 + fraction) * 1000)
    }

    /// Reports the attempt's end to the host and forgets it.
    private func finish(_ attempt: AttemptState, _ report: ExitReport, keepingStateFile: Bool = false) {
        if host.isClosed { return }  // the next instance re-adopts it
        host.exited(attempt.id, report)
        attempts.withLock { $0[attempt.id] = nil }
        if !keepingStateFile { unlink(attemptsDirectory + "/" + attempt.id) }
    }

    /// How long an ended container outlives the report of its exit.
    static let removalDelaySeconds = 3.0

    /// Removes an ended container, or keeps a failed one (renamed, so later scans skip it)
    /// when keep_failed_containers is set.
    private func dispose(_ attempt: AttemptState, state: [String: Any]) {
        let failed = (state["ExitCode"] as? NSNumber)?.intValue != 0 || state["OOMKilled"] as? Bool == true
        if failed && settings.keepFailedContainers {
            _ = try? client.call("POST", "/containers/\(attempt.containerName)/rename",
                                 query: [("name", "docket-kept-" + attempt.containerName.dropFirst("docket-".count))])
            return
        }
        removeContainer(attempt)
    }

    private func removeContainer(_ attempt: AttemptState) {
        _ = try? client.call("DELETE", "/containers/\(attempt.containerName)", query: [("force", "1"), ("v", "1")])
    }

    // MARK: - Recovery

    /// Finds the attempts an earlier instance left: the state files, and the engine's containers
    /// labelled with this owner. Each gets a follower, which waits for the host's list_running
    /// (so no exit is reported before the host has asked what is running) or 10 s.
    private func recover() {
        var found: [String: AttemptState] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: attemptsDirectory)) ?? [] {
            let path = attemptsDirectory + "/" + name
            let descriptor = open(path, O_RDWR | O_CLOEXEC)
            guard descriptor >= 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, 31, 0) }
            let delivered = Int64(String(decoding: buffer.prefix(max(0, count)), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            found[name] = AttemptState(id: name, delivered: delivered, stateDescriptor: descriptor)
        }
        if health.withLock({ $0.healthy }) {
            let filter = "{\"label\":[\"docket.owner=\(owner)\"]}"
            if let listing = try? client.call("GET", "/containers/json", query: [("all", "1"), ("filters", filter)]),
               let containers = listing.json as? [[String: Any]] {
                for container in containers {
                    let names = container["Names"] as? [String] ?? []
                    if names.contains(where: { $0.hasPrefix("/docket-kept-") }) { continue }
                    guard let labels = container["Labels"] as? [String: String], let id = labels["docket.attempt-id"],
                          found[id] == nil else { continue }
                    if container["State"] as? String == "running" {
                        // No state file: the host will terminate it as an orphan if no job owns it.
                        found[id] = AttemptState(id: id, delivered: 0, stateDescriptor: -1)
                    } else {
                        // Its exit was reported before the server stopped: only the removal was left.
                        _ = try? client.call("DELETE", "/containers/\(AttemptState.containerName(id))", query: [("force", "1"), ("v", "1")])
                    }
                }
            }
        }
        guard !found.isEmpty else { return }
        host.log(DOCKET_LOG_INFO, "re-adopting \(found.count) attempt(s) left by the previous server")
        attempts.withLock { current in
            for (id, attempt) in found { current[id] = attempt }
        }
        for attempt in found.values {
            let thread = Thread { [self] in
                let deadline = Date().addingTimeInterval(10)
                while !recovered.withLock({ $0 }) && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
                follow(attempt)
            }
            thread.name = "docker adopt " + attempt.id
            thread.start()
        }
    }
}
