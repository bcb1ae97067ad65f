import DocketDockerEngine
import Foundation
import Synchronization

// docket-bench docker: trivial containers (`true` in docket-test/busybox:1) through Docket's
// Docker executor against the same containers driven by direct Engine API calls, at the same
// concurrency, on the same engine, in the same run:
//  - direct: C threads, each looping create, start, wait, read the output (logs), remove.
//    The logs call is there because Docket's executor reads every container's output into
//    the attempt's log; without it the baseline would skip work Docket cannot;
//  - docket: one array job of N children on a `docket server` whose compute environment is the
//    Docker executor with C vCPUs (each child asks for 1 vCPU and 64 MiB), timed from SubmitJob
//    to every child SUCCEEDED. One array rather than N SubmitJobs, so the figure is the
//    scheduler and the executor, not N HTTP round trips; DOCKET_BENCH_DOCKER_SUBMIT=jobs
//    submits N single jobs instead (a SubmitJob takes about 1 ms, a container hundreds).
// The two alternate (direct, docket, direct, docket, ...) so engine warm-up and noise show in
// every round; the summary takes the medians. Docket's overhead per container is
// (docket wall - direct wall) / N x C: the time each of the C slots spends per container on
// top of the Engine API calls themselves. Each round also prints its CPU per container (the
// machine's, dockerd's and the side's own process's): on a small machine the engine's CPU is
// the limit for both sides, and it moves less between rounds than wall time does.
// DOCKET_BENCH_DOCKER_COUNT (200), DOCKET_BENCH_DOCKER_CONCURRENCY (4) and
// DOCKET_BENCH_DOCKER_ROUNDS (2) change the sizes; DOCKET_BENCH_DOCKER_FIRST=docket starts each
// round with Docket; DOCKER_HOST picks the engine, as it does for the executor.

private let benchImage = "docket-test/busybox:1"


private func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

// MARK: The engine

/// The engine the executor would use: DOCKER_HOST, else the default socket.
private func benchEngine() throws -> EngineClient {
    var endpoint = EngineEndpoint.defaultSocket
    if let host = ProcessInfo.processInfo.environment["DOCKER_HOST"], !host.isEmpty {
        do { endpoint = try EngineEndpoint.parse(host) } catch { throw BenchError("DOCKER_HOST: \(error.message)") }
    }
    return EngineClient(endpoint: endpoint)
}

/// Checks that the engine answers and holds the benchmark's image.
/// - Throws: `BenchError` saying how to get both (scripts/docker-engine.sh).
private func checkEngine(_ client: EngineClient) throws -> EngineVersion {
    let fix = "run `bash scripts/docker-engine.sh` (it starts dockerd and builds the test images), then run the benchmark again"
    let version: EngineVersion
    do { version = try client.negotiate(timeoutSeconds: 5) } catch {
        throw BenchError("docker: no Docker engine answers at \(client.endpoint): \(error.message); \(fix).")
    }
    let name = benchImage.split(separator: "/").map { EngineClient.pathSegment(String($0)) }.joined(separator: "/")
    let image = try client.call("GET", "/images/\(name)/json")
    guard image.status == 200 else {
        throw BenchError("docker: the engine at \(client.endpoint) has no image \(benchImage) (GET /images answered \(image.status): \(image.message)); \(fix).")
    }
    return version
}

/// Containers on the engine whose labels match `filter` ("docket.owner" or "docket.owner=VALUE").
private func containers(_ client: EngineClient, label filter: String) throws -> [[String: Any]] {
    let response = try client.call("GET", "/containers/json", query: [("all", "1"), ("filters", "{\"label\":[\"\(filter)\"]}")])
    guard response.status == 200, let list = response.json as? [[String: Any]] else {
        throw BenchError("docker: GET /containers/json answered \(response.status): \(response.message)")
    }
    return list
}

// MARK: CPU

/// CPU seconds spent so far: by the whole machine, by one process, and by the engine's daemon
/// when it runs here. On a small machine the engine's CPU is what limits both sides, so each
/// round also reports what it cost in CPU, which moves less than its wall time.
private struct CPUTimes {
    static let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))

    var machine: Double
    var engine: Double?
    var own: Double

    /// Reads the counters now; `process` is the side's own process (this one, or the server).
    init(process: Int32, engine: Int32?) {
        machine = Self.machineBusySeconds()
        self.engine = engine.map(Self.processSeconds)
        own = Self.processSeconds(process)
    }

    /// The non-idle time of every CPU, from /proc/stat's first line (user, nice, system, irq,
    /// softirq; not idle, iowait or steal).
    static func machineBusySeconds() -> Double {
        let text = (try? String(contentsOfFile: "/proc/stat", encoding: .utf8)) ?? ""
        let fields = text.split(separator: "\n").first?.split(separator: " ").dropFirst().compactMap { Double($0) } ?? []
        guard fields.count >= 7 else { return 0 }
        return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6]) / ticks
    }

    /// utime + stime of `pid`, from /proc/PID/stat; 0 when it cannot be read.
    static func processSeconds(_ pid: Int32) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = text.lastIndex(of: ")") else { return 0 }
        // After "pid (comm)": state is field 3, utime 14 and stime 15.
        let fields = text[text.index(after: end)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / ticks
    }

    /// The local dockerd's pid, nil when the engine is elsewhere or hidden from this user.
    static func enginePID() -> Int32? {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry),
                  let name = try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8) else { continue }
            if name.trimmingCharacters(in: .whitespacesAndNewlines) == "dockerd" { return pid }
        }
        return nil
    }

    /// The CPU from `start` to `end`, per container, in milliseconds: the machine, the engine
    /// and the side's own process (`label`).
    static func line(_ start: CPUTimes, _ end: CPUTimes, count: Int, label: String) -> String {
        let ms = { (seconds: Double) in format(seconds / Double(count) * 1000, 0) }
        var engine = ""
        if let before = start.engine, let after = end.engine { engine = "dockerd \(ms(after - before)) ms, " }
        return "CPU per container: machine \(ms(end.machine - start.machine)) ms (\(engine)\(label) \(ms(end.own - start.own)) ms)"
    }
}

// MARK: Direct Engine API calls

/// Seconds one container spent in each Engine API call, or their sums over a round.
private struct EnginePhases: Sendable {
    var create = 0.0, start = 0.0, wait = 0.0, logs = 0.0, remove = 0.0
    var total: Double { create + start + wait + logs + remove }

    static func + (a: EnginePhases, b: EnginePhases) -> EnginePhases {
        EnginePhases(create: a.create + b.create, start: a.start + b.start, wait: a.wait + b.wait,
                     logs: a.logs + b.logs, remove: a.remove + b.remove)
    }

    /// The means over `count` containers, in milliseconds.
    func line(over count: Int) -> String {
        let ms = { (seconds: Double) in format(seconds / Double(count) * 1000, 1) }
        return "create \(ms(create)), start \(ms(start)), wait \(ms(wait)), logs \(ms(logs)), remove \(ms(remove))"
    }
}

/// One direct round: containers handed out one at a time to the worker threads.
private final class DirectRound: Sendable {
    let count: Int
    let next = Mutex(0)
    let phases = Mutex(EnginePhases())
    let failure = Mutex<String?>(nil)

    init(count: Int) { self.count = count }

    /// The next container's index, nil when every one is taken or a worker failed.
    func claim() -> Int? {
        if failure.withLock({ $0 != nil }) { return nil }
        return next.withLock { value in
            guard value < count else { return nil }
            value += 1
            return value - 1
        }
    }
}

/// One trivial container, the one the executor would run, by direct Engine API calls: POST
/// /containers/create, POST .../start, POST .../wait, GET .../logs, DELETE (force).
/// - Throws: `BenchError` with the engine's answer when a call fails or `true` exits non-zero.
private func runDirectContainer(_ client: EngineClient, body: [String: Any]) throws -> EnginePhases {
    var phases = EnginePhases()
    var began = now()
    let creation = try client.call("POST", "/containers/create", json: body)
    phases.create = now() - began
    guard creation.status == 201, let id = creation.object["Id"] as? String else {
        throw BenchError("docker: POST /containers/create answered \(creation.status): \(creation.message)")
    }
    var removed = false
    defer { if !removed { _ = try? client.call("DELETE", "/containers/\(id)", query: [("force", "1")]) } }
    began = now()
    let started = try client.call("POST", "/containers/\(id)/start")
    phases.start = now() - began
    guard started.status == 204 else { throw BenchError("docker: POST /containers/\(id.prefix(12))/start answered \(started.status): \(started.message)") }
    began = now()
    let waited = try client.call("POST", "/containers/\(id)/wait", timeoutSeconds: 600)
    phases.wait = now() - began
    guard waited.status == 200, (waited.object["StatusCode"] as? NSNumber)?.intValue == 0 else {
        throw BenchError("docker: POST /containers/\(id.prefix(12))/wait answered \(waited.status): \(String(decoding: waited.body, as: UTF8.self))")
    }
    began = now()
    let logs = try client.call("GET", "/containers/\(id)/logs", query: [("stdout", "1"), ("stderr", "1")])
    phases.logs = now() - began
    guard logs.status == 200 else { throw BenchError("docker: GET /containers/\(id.prefix(12))/logs answered \(logs.status): \(logs.message)") }
    began = now()
    let removal = try client.call("DELETE", "/containers/\(id)", query: [("force", "1")])
    phases.remove = now() - began
    guard removal.status == 204 else { throw BenchError("docker: DELETE /containers/\(id.prefix(12)) answered \(removal.status): \(removal.message)") }
    removed = true
    return phases
}

/// `count` containers on `concurrency` threads; returns the wall seconds and the calls' sums.
private func directRound(_ client: EngineClient, plan: ContainerPlan, count: Int, concurrency: Int,
                         engine: Int32?) throws -> (seconds: Double, phases: EnginePhases, cpu: (CPUTimes, CPUTimes)) {
    let round = DirectRound(count: count)
    let group = DispatchGroup()
    let cpuStart = CPUTimes(process: getpid(), engine: engine)
    let start = now()
    for _ in 0..<concurrency {
        group.enter()
        Thread {
            // Each thread keeps its own copy of the body: Foundation's JSON values are not Sendable.
            let body = plan.body
            var sum = EnginePhases()
            while round.claim() != nil {
                do { sum = sum + (try runDirectContainer(client, body: body)) } catch {
                    round.failure.withLock { if $0 == nil { $0 = "\(error)" } }
                }
            }
            round.phases.withLock { $0 = $0 + sum }
            group.leave()
        }.start()
    }
    group.wait()
    let seconds = now() - start
    let cpuEnd = CPUTimes(process: getpid(), engine: engine)
    if let failure = round.failure.withLock({ $0 }) { throw BenchError(failure) }
    return (seconds, round.phases.withLock { $0 }, (cpuStart, cpuEnd))
}

// MARK: Docket

private func dockerServerConfig(concurrency: Int) -> String {
    """
    compute_environments:
      - name: bench-docker
        executor: docker
        settings: { vcpus: \(concurrency), memory_mib: \(64 * concurrency * 4) }
    job_queues:
      - name: bench-docker
        compute_environments: [bench-docker]
    """
}

private func describeJob(_ client: KeepAliveClient, _ jobID: String) throws -> [String: Any] {
    let (status, body) = try client.request("POST", "/v1/describejobs", body: "{\"jobs\":[\"\(jobID)\"]}")
    guard status == 200, let job = (try jsonObject(body)["jobs"] as? [[String: Any]])?.first else {
        throw BenchError("DescribeJobs \(jobID) answered \(status): \(String(decoding: body, as: UTF8.self))")
    }
    return job
}

/// Waits until the compute environment is VALID: its executor reached the engine.
private func waitForValidEnvironment(_ client: KeepAliveClient) throws {
    let start = now()
    while true {
        let (status, body) = try client.request("POST", "/v1/describecomputeenvironments", body: "{\"computeEnvironments\":[\"bench-docker\"]}")
        let environment = (try jsonObject(body)["computeEnvironments"] as? [[String: Any]])?.first
        if status == 200, environment?["status"] as? String == "VALID" { return }
        guard now() - start < 30 else {
            throw BenchError("docker: compute environment bench-docker is not VALID 30 s after the server started: \(environment?["statusReason"] as? String ?? String(decoding: body, as: UTF8.self))")
        }
        usleep(50_000)
    }
}

private func registerDefinition(_ client: KeepAliveClient) throws {
    let body = """
        {"jobDefinitionName":"bench-docker","type":"container","containerProperties":{"image":"\(benchImage)","command":["true"],\
        "resourceRequirements":[{"type":"VCPU","value":"1"},{"type":"MEMORY","value":"64"}]}}
        """
    let (status, answer) = try client.request("POST", "/v1/registerjobdefinition", body: body)
    guard status == 200 else { throw BenchError("RegisterJobDefinition answered \(status): \(String(decoding: answer, as: UTF8.self))") }
}

/// How the Docket side submits its containers: one array job of N children (the default), or
/// N SubmitJob calls (DOCKET_BENCH_DOCKER_SUBMIT=jobs).
private enum SubmitMode: String {
    case array, jobs
}

/// One Docket round's figures.
private struct DocketRound {
    var seconds: Double
    var submitSeconds: Double
    /// From the first SubmitJob to the last of the round's containers gone from the engine
    /// (Docket removes each after reporting its exit), nil if some were still there 30 s after
    /// the last exit.
    var removedSeconds: Double?
    /// The array parent's status at the end; nil for single jobs.
    var parentStatus: String?
    /// From the first SubmitJob to every container removed; `own` is the server's.
    var cpu: (CPUTimes, CPUTimes)
}

/// The first FAILED job's reasons, from ListJobs then DescribeJobs.
private func firstFailure(_ client: KeepAliveClient, listing: String) throws -> String {
    let (_, page) = try client.request("POST", "/v1/listjobs", body: "{\(listing),\"jobStatus\":\"FAILED\",\"maxResults\":1}")
    guard let id = ((try? jsonObject(page))?["jobSummaryList"] as? [[String: Any]])?.first?["jobId"] as? String else { return "?" }
    let job = try describeJob(client, id)
    let container = (job["container"] as? [String: Any])?["reason"] as? String
    return "job \(id): \(job["statusReason"] as? String ?? "?")" + (container.map { " (\($0))" } ?? "")
}

/// Submits `count` containers' jobs and waits for all of them to end, polling every 50 ms (the
/// array parent's statusSummary, or the server's job counts); then waits for their containers
/// to be removed from the engine.
/// - Throws: `BenchError` naming the first failed job's reason when any failed.
private func docketRound(_ client: KeepAliveClient, engine: EngineClient, owner: String, count: Int, mode: SubmitMode,
                         server: Int32, enginePID: Int32?) throws -> DocketRound {
    let before = (succeeded: try jobCount(client, status: "SUCCEEDED"), failed: try jobCount(client, status: "FAILED"))
    let cpuStart = CPUTimes(process: server, engine: enginePID)
    let start = now()
    var parent: String?
    switch mode {
    case .array:
        let (status, body) = try client.request("POST", "/v1/submitjob",
                                                body: "{\"jobName\":\"bench-docker\",\"jobQueue\":\"bench-docker\",\"jobDefinition\":\"bench-docker\",\"arrayProperties\":{\"size\":\(count)}}")
        guard status == 200, let jobID = try jsonObject(body)["jobId"] as? String else {
            throw BenchError("SubmitJob for the array answered \(status): \(String(decoding: body, as: UTF8.self))")
        }
        parent = jobID
    case .jobs:
        for index in 0..<count {
            let (status, body) = try client.request("POST", "/v1/submitjob",
                                                    body: "{\"jobName\":\"bench-docker-\(index)\",\"jobQueue\":\"bench-docker\",\"jobDefinition\":\"bench-docker\"}")
            guard status == 200 else { throw BenchError("SubmitJob answered \(status): \(String(decoding: body, as: UTF8.self))") }
        }
    }
    let submitSeconds = now() - start
    var succeeded = 0, failed = 0
    while succeeded + failed < count {
        usleep(50_000)
        if let parent {
            let summary = (try describeJob(client, parent)["arrayProperties"] as? [String: Any])?["statusSummary"] as? [String: Any]
            succeeded = summary?["SUCCEEDED"] as? Int ?? 0
            failed = summary?["FAILED"] as? Int ?? 0
        } else {
            succeeded = try jobCount(client, status: "SUCCEEDED") - before.succeeded
            failed = try jobCount(client, status: "FAILED") - before.failed
        }
        guard now() - start < 900 else {
            throw BenchError("docker: \(count) jobs did not finish in 900 s (\(succeeded) SUCCEEDED, \(failed) FAILED); is the engine healthy?")
        }
    }
    let seconds = now() - start
    if failed > 0 {
        let listing = parent.map { "\"arrayJobId\":\"\($0)\"" } ?? "\"jobQueue\":\"bench-docker\""
        throw BenchError("docker: \(failed) of \(count) jobs FAILED through Docket, so its rate means nothing; the first: \(try firstFailure(client, listing: listing))")
    }
    var removedSeconds: Double?
    let exited = now()
    while now() - exited < 30 {
        if try containers(engine, label: "docket.owner=\(owner)").isEmpty { removedSeconds = now() - start; break }
        usleep(20_000)
    }
    let cpuEnd = CPUTimes(process: server, engine: enginePID)
    var parentStatus = try parent.map { try describeJob(client, $0)["status"] as? String ?? "?" }
    while let status = parentStatus, status != "SUCCEEDED" && status != "FAILED" && now() - exited < 10 {
        usleep(20_000)
        parentStatus = try parent.map { try describeJob(client, $0)["status"] as? String ?? "?" }
    }
    return DocketRound(seconds: seconds, submitSeconds: submitSeconds, removedSeconds: removedSeconds, parentStatus: parentStatus,
                       cpu: (cpuStart, cpuEnd))
}

// MARK: The benchmark

func benchDocker() throws {
    let count = max(2, environmentInteger("DOCKET_BENCH_DOCKER_COUNT", 200))
    let concurrency = max(1, environmentInteger("DOCKET_BENCH_DOCKER_CONCURRENCY", 4))
    let rounds = max(1, environmentInteger("DOCKET_BENCH_DOCKER_ROUNDS", 2))
    let modeText = ProcessInfo.processInfo.environment["DOCKET_BENCH_DOCKER_SUBMIT"] ?? "array"
    guard let mode = SubmitMode(rawValue: modeText) else {
        throw BenchError("docker: DOCKET_BENCH_DOCKER_SUBMIT is '\(modeText)'; use array (one array job) or jobs (one SubmitJob per container).")
    }

    // 1. The engine and the image, before anything is measured.
    let engine = try benchEngine()
    let version = try checkEngine(engine)
    let info = try engine.call("GET", "/info").object
    let others = (info["ContainersRunning"] as? NSNumber)?.intValue ?? 0
    print("docker: engine \(info["ServerVersion"] as? String ?? "?") at \(engine.endpoint), API \(version), storage driver \(info["Driver"] as? String ?? "?"), \((info["NCPU"] as? NSNumber)?.intValue ?? 0) CPUs; \(others) other container(s) running")

    // 2. The direct baseline's body is the executor's own plan for the same job (64 MiB, 1 vCPU,
    //    network none, json-file logs), so both sides ask the engine for the same container.
    let plan = try ContainerPlan(image: benchImage, command: ["true"], environment: [], labels: ["docket-bench": "direct"],
                                 memoryMiB: 64, vcpuMillis: 1000, gpuCount: 0, devices: [], properties: [:],
                                 workDirectory: NSTemporaryDirectory(), policy: ContainerPolicy())

    // 3. One server for every Docket round, started before the first is timed.
    let enginePID = CPUTimes.enginePID()
    let server = try ServerProcess(config: dockerServerConfig(concurrency: concurrency))
    defer { server.stop() }
    let owner = server.dataDirectory + "/executors/bench-docker"
    let client = try KeepAliveClient(port: server.port)
    try waitForValidEnvironment(client)
    try registerDefinition(client)

    // 4. Alternate: direct, docket, direct, docket, ... (DOCKET_BENCH_DOCKER_FIRST=docket: docket first).
    var directSeconds: [Double] = [], docketSeconds: [Double] = []
    var directCPU: [(CPUTimes, CPUTimes)] = [], docketCPU: [(CPUTimes, CPUTimes)] = []
    let docketFirst = ProcessInfo.processInfo.environment["DOCKET_BENCH_DOCKER_FIRST"] == "docket"
    func runDirect(_ round: Int) throws {
        let direct = try directRound(engine, plan: plan, count: count, concurrency: concurrency, engine: enginePID)
        directSeconds.append(direct.seconds)
        directCPU.append(direct.cpu)
        print("docker: round \(round) direct: \(count) containers in \(format(direct.seconds, 2)) s: \(format(Double(count) / direct.seconds, 2)) containers/s; per container \(format(direct.phases.total / Double(count) * 1000, 1)) ms mean (\(direct.phases.line(over: count))); \(CPUTimes.line(direct.cpu.0, direct.cpu.1, count: count, label: "this client"))")
    }
    func runDocket(_ round: Int) throws {
        let docket = try docketRound(client, engine: engine, owner: owner, count: count, mode: mode,
                                     server: server.process.processIdentifier, enginePID: enginePID)
        docketSeconds.append(docket.seconds)
        docketCPU.append(docket.cpu)
        let removed = docket.removedSeconds.map { "\(format($0, 2)) s" } ?? "not within 30 s of the last exit"
        let submitted = mode == .array ? "SubmitJob of the array \(format(docket.submitSeconds * 1000, 1)) ms, parent \(docket.parentStatus ?? "?")"
                                       : "\(count) SubmitJobs \(format(docket.submitSeconds * 1000, 1)) ms"
        print("docker: round \(round) docket: \(count) jobs SUCCEEDED in \(format(docket.seconds, 2)) s: \(format(Double(count) / docket.seconds, 2)) containers/s (\(submitted); last container removed \(removed) after the first submit); \(CPUTimes.line(docket.cpu.0, docket.cpu.1, count: count, label: "docket server"))")
    }
    for round in 1...rounds {
        if docketFirst { try runDocket(round); try runDirect(round) } else { try runDirect(round); try runDocket(round) }
    }

    // 5. Medians, the ratio and the overhead per container.
    let direct = median(directSeconds)
    let docket = median(docketSeconds)
    let directRate = Double(count) / direct
    let docketRate = Double(count) / docket
    let overhead = (docket - direct) / Double(count) * Double(concurrency) * 1000
    print("docker: \(count) trivial containers (`true` in \(benchImage), 64 MiB, 1 vCPU, network none), concurrency \(concurrency), medians of \(rounds) round(s): docket \(format(docketRate, 2)) containers/s (\(mode == .array ? "one array job of \(count)" : "\(count) SubmitJobs"), the first SubmitJob to all SUCCEEDED); direct Engine API calls \(format(directRate, 2)) containers/s (create, start, wait, logs, remove; the logs call because Docket reads every container's output); ratio \(format(docketRate / directRate, 2)) (target >= 0.8); overhead Docket adds per container \(format(overhead, 1)) ms ((docket wall - direct wall) / \(count) x \(concurrency))")

    // The same in CPU: what each side cost the machine, the engine and itself per container.
    func perContainer(_ rounds: [(CPUTimes, CPUTimes)], _ value: (CPUTimes) -> Double?) -> String {
        let values = rounds.compactMap { start, end in value(end).flatMap { a in value(start).map { (a - $0) / Double(count) * 1000 } } }
        return values.isEmpty ? "?" : format(median(values), 0)
    }
    let engineText = enginePID == nil ? "" : "; dockerd: direct \(perContainer(directCPU, \.engine)) ms, docket \(perContainer(docketCPU, \.engine)) ms"
    print("docker: CPU per container, medians: machine: direct \(perContainer(directCPU, \.machine)) ms, docket \(perContainer(docketCPU, \.machine)) ms\(engineText); the docket server itself \(perContainer(docketCPU, \.own)) ms, the direct client \(perContainer(directCPU, \.own)) ms")

    // 6. Nothing of Docket's left on the engine.
    let left = try containers(engine, label: "docket.owner")
    let mine = left.filter { ($0["Labels"] as? [String: String])?["docket.owner"] == owner }.count
    let foreign = left.count - mine
    print("docker: containers labelled docket.owner left on the engine after Docket's runs: \(mine)\(foreign > 0 ? " (and \(foreign) of other Docket servers sharing this engine)" : "")")
}
