import CDocketPlugin
import DocketCore
import DocketFIFOQueue
import DocketPluginHost
import DocketScheduler
import DocketServer
import Foundation
import Logging

// docket-bench: release-mode benchmarks. Each prints its figures and the ratio to a baseline
// measured in the same run. Usage: docket-bench [e2e|array|submit|policy|scale|api|docker|gpu|shares|all]
// (gpu takes --seed N, --decisions N and --hours H; see GPUBench.swift)
// Build and run: swift build -c release && .build/release/docket-bench all

let arguments = CommandLine.arguments.dropFirst()
let selected = Set(arguments.isEmpty ? ["all"] : Array(arguments))
let all = selected.contains("all")
let binDirectory = PluginLoader.executableDirectory

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

func residentBytes() -> Int {
    let text = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? "0 0"
    let pages = Int(text.split(separator: " ")[1]) ?? 0
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

func format(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }

/// A `docket server` subprocess (the release binary beside this one) on a free port.
final class ServerProcess {
    let process = Process()
    let port: Int
    let dataDirectory: String

    convenience init(config: String) throws {
        let directory = NSTemporaryDirectory() + "docket-bench-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let configPath = directory + "/config.yaml"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        try self.init(configPath: configPath, dataDirectory: directory + "/data", removing: directory)
    }

    private let removable: String

    /// Starts a server on `dataDirectory` and waits for its ready line; `stop` removes `removing`.
    init(configPath: String, dataDirectory: String, removing: String? = nil) throws {
        self.dataDirectory = dataDirectory
        removable = removing ?? dataDirectory
        process.executableURL = URL(fileURLWithPath: binDirectory + "/docket")
        process.arguments = ["server", "--config", configPath, "--data-dir", dataDirectory, "--listen", "127.0.0.1:0"]
        let output = Pipe()
        process.standardOutput = output
        // DOCKET_BENCH_SERVER_LOG=FILE appends the servers' logs (and any crash report) there.
        let logPath = ProcessInfo.processInfo.environment["DOCKET_BENCH_SERVER_LOG"] ?? "/dev/null"
        if !FileManager.default.fileExists(atPath: logPath) { FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = FileHandle(forWritingAtPath: logPath)
        _ = try? log?.seekToEnd()
        process.standardError = log
        try process.run()
        var text = ""
        while !text.contains("\n") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { throw BenchError("docket server exited before it was ready") }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let range = text.range(of: "127.0.0.1:"),
              let parsed = Int(text[range.upperBound...].prefix { $0.isNumber }) else { throw BenchError("no port in: \(text)") }
        port = parsed
    }

    func stop(keepData: Bool = false) {
        process.terminate()
        process.waitUntilExit()
        if !keepData { try? FileManager.default.removeItem(atPath: removable) }
    }
}

func submitBody(_ index: Int, command: [String]) -> String {
    let quoted = command.map { "\"\($0)\"" }.joined(separator: ",")
    return "{\"jobName\":\"bench\(index)\",\"jobQueue\":\"default\",\"jobDefinition\":\"default\",\"containerOverrides\":{\"command\":[\(quoted)]}}"
}

// MARK: 1. End to end: 2,000 `true` jobs vs posix_spawn of 2,000 `true`

func rawSpawnRate(count: Int, concurrency: Int) -> Double {
    let start = now()
    let group = DispatchGroup()
    let perWorker = count / concurrency
    for _ in 0..<concurrency {
        group.enter()
        Thread {
            var argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
            for _ in 0..<perWorker {
                var pid: pid_t = 0
                posix_spawn(&pid, "/bin/true", nil, nil, &argv, environ)
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            }
            free(argv[0])
            group.leave()
        }.start()
    }
    group.wait()
    return Double(perWorker * concurrency) / (now() - start)
}

func jobCount(_ client: KeepAliveClient, status: String) throws -> Int {
    let (_, body) = try client.request("GET", "/docket/v1/server")
    let json = try JSONDecoder().decode(JSONValue.self, from: Data(body))
    return Int(json["jobs"]?[status]?.intValue ?? 0)
}

func benchEndToEnd() throws {
    let count = 2_000
    let concurrency = ProcessInfo.processInfo.activeProcessorCount
    let raw = rawSpawnRate(count: count, concurrency: concurrency)
    let server = try ServerProcess(config: """
        compute_environments:
          - name: default
            executor: process
            allow_root: true
            settings: { vcpus: \(concurrency), memory_mib: \(concurrency * 1024)\(ProcessInfo.processInfo.environment["DOCKET_BENCH_CGROUPS_OFF"] != nil ? ", cgroups: \"off\"" : "") }
        """)
    defer { server.stop() }
    let client = try KeepAliveClient(port: server.port)
    let start = now()
    for index in 0..<count {
        let (status, body) = try client.request("POST", "/v1/submitjob", body: submitBody(index, command: ["/bin/true"]))
        guard status == 200 else { throw BenchError("SubmitJob answered \(status): \(String(decoding: body, as: UTF8.self))") }
    }
    let submitted = now()
    while try jobCount(client, status: "SUCCEEDED") + jobCount(client, status: "FAILED") < count {
        guard now() - start < 600 else { throw BenchError("the jobs did not finish in 600 s; is the compute environment healthy?") }
        usleep(20_000)
    }
    let elapsed = now() - start
    let failed = try jobCount(client, status: "FAILED")
    let rate = Double(count) / elapsed
    print("e2e: \(count) `true` jobs, concurrency \(concurrency): docket \(format(rate)) jobs/s (\(format(elapsed, 2)) s, submits took \(format(submitted - start, 2)) s, \(failed) failed); posix_spawn \(format(raw)) jobs/s; ratio \(format(rate / raw, 2)) (target >= 0.5)")
}

// MARK: 2. SubmitJob over one kept-alive connection

func percentile(_ sorted: [Double], _ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }

func benchSubmit() throws {
    let server = try ServerProcess(config: """
        compute_environments:
          - name: default
            executor: process
            state: DISABLED
        """)
    defer { server.stop() }
    let client = try KeepAliveClient(port: server.port)
    let count = 5_000
    var latencies: [Double] = []
    latencies.reserveCapacity(count)
    let start = now()
    for index in 0..<count {
        let began = now()
        let (status, body) = try client.request("POST", "/v1/submitjob", body: submitBody(index, command: ["true"]))
        guard status == 200 else { throw BenchError("SubmitJob answered \(status): \(String(decoding: body, as: UTF8.self))") }
        latencies.append(now() - began)
    }
    let elapsed = now() - start
    latencies.sort()
    print("submit: \(count) durable SubmitJob calls on one kept-alive connection: \(format(Double(count) / elapsed)) calls/s; latency p50 \(format(percentile(latencies, 0.5) * 1000, 2)) ms, p99 \(format(percentile(latencies, 0.99) * 1000, 2)) ms (target >= 2000 calls/s)")
}

// MARK: 3. Policy hot path

func loadFIFO() throws -> PolicyInstance {
    let plugin = try PluginLoader.load(path: binDirectory + "/libDocketPolicyFIFO.so", logger: Logger(label: "bench"))
    return try PolicyInstance(plugin: plugin, name: "bench", configJSON: "{}", settings: [:], logger: Logger(label: "bench"), clock: { 0 })
}

func benchPolicy() throws {
    let queued = 100_000
    let policy = try loadFIFO()
    for index in 0..<queued {
        policy.jobRunnable(PolicyJob(key: UInt64(index + 1), sequence: UInt64(index + 1), isRetry: false, submittedAt: 0, runnableAt: 0,
                                     queuePriority: 1, schedulingPriority: 0, request: Resources(vcpuMillis: 1000, memoryMiB: 64)))
    }
    let (pick, instance) = policy.rawPick
    var free = docketFree(vcpuMillis: 1_000_000, memoryMiB: 1_000_000)
    var key: UInt64 = 0
    var sequence = UInt64(queued)
    let iterations = 2_000_000
    // Steady state: each pick's job starts and a new one arrives, so the queue stays at 100,000.
    var pickSeconds = 0.0
    let loopStart = now()
    for _ in 0..<iterations {
        let before = now()
        _ = pick(instance, &free, &key, 1)
        pickSeconds += now() - before
        policy.jobStarted(key: key, usage: Resources(vcpuMillis: 1000, memoryMiB: 64), startedAt: 0)
        sequence += 1
        policy.jobRunnable(PolicyJob(key: sequence, sequence: sequence, isRetry: false, submittedAt: 0, runnableAt: 0,
                                     queuePriority: 1, schedulingPriority: 0, request: Resources(vcpuMillis: 1000, memoryMiB: 64)))
    }
    _ = loopStart
    // The clock reads themselves cost: measure them alone and subtract.
    var clockSeconds = 0.0
    for _ in 0..<iterations { let before = now(); clockSeconds += now() - before }
    let viaABI = max(0, pickSeconds - clockSeconds) / Double(iterations) * 1e9
    // Tight loop of picks only (no churn): the per-call cost without clock overhead.
    let tight = 20_000_000
    let tightStart = now()
    for _ in 0..<tight { _ = pick(instance, &free, &key, 1) }
    let tightABI = (now() - tightStart) / Double(tight) * 1e9
    var direct = FIFOQueue()
    for index in 0..<queued {
        direct.add(key: UInt64(index + 1), sequence: UInt64(index + 1), isRetry: false, vcpuMillis: 1000, memoryMiB: 64, gpus: 0)
    }
    var sink: UInt64 = 0
    let directStart = now()
    for _ in 0..<tight {
        _ = direct.pick(freeVCPUMillis: 1_000_000, freeMemoryMiB: 1_000_000, freeGPUs: 0, into: &key, limit: 1)
        sink &+= key
    }
    let directNs = (now() - directStart) / Double(tight) * 1e9
    print("policy: FIFO pick on \(queued) queued jobs: \(format(viaABI, 1)) ns/pick through the C ABI with job churn, \(format(tightABI, 1)) ns/pick in a tight loop; the same scan called directly in Swift: \(format(directNs, 1)) ns/pick; ratio \(format(tightABI / max(directNs, 0.001), 2)) (target < 50 ns) [\(sink % 2)]")
}

func docketFree(vcpuMillis: Int64, memoryMiB: Int64) -> docket_policy_free {
    var free = docket_policy_free()
    free.struct_size = UInt32(MemoryLayout<docket_policy_free>.size)
    free.vcpu_millis = vcpuMillis
    free.memory_mib = memoryMiB
    return free
}

// MARK: 4. Scale: 100,000 RUNNABLE jobs

/// A store that keeps nothing: every job of the run is the same template, rebuilt from its id
/// ("job-<sequence>") on load. In a server the jobs live in SQLite on disk, so the resident
/// memory measured here is the scheduler's and the policy's alone.
final class TemplateJobStore: SchedulerStore {
    let template: Job
    init(template: Job) { self.template = template }
    func commit(jobs: [Job], statuses: [JobStatusChange], consumables: [ConsumableResource]) throws(DocketError) {}
    func loadJobs(ids: [String]) throws(DocketError) -> [Job] {
        ids.map { id in
            var job = template
            job.id = id
            var sequence: Int64 = 0
            for byte in id.utf8.dropFirst(4) {
                guard byte >= 48 && byte <= 57 else { break }
                sequence = sequence * 10 + Int64(byte - 48)
            }
            job.sequence = sequence
            job.status = .runnable
            return job
        }
    }
    func status(ofJob id: String) throws(DocketError) -> JobStatus? { nil }
    func arrayChildCounts(of parent: String) throws(DocketError) -> [JobStatus: Int] { [:] }
}

final class NullExecutor: ExecutorPort {
    func launch(_ launch: AttemptLaunch) async -> LaunchOutcome { .launched }
    func terminate(attemptID: String, graceMillis: Int64) async {}
}

func benchScale() async throws {
    let count = Int(ProcessInfo.processInfo.environment["DOCKET_BENCH_SCALE_JOBS"] ?? "") ?? 100_000
    var settings = Scheduler.Settings()
    settings.runsCyclesAutomatically = false
    let container = ContainerSpec(image: "busybox", command: ["true"], environment: [], resources: Resources(vcpuMillis: 1000, memoryMiB: 64),
                                  user: nil, properties: .object([:]))
    let template = Job(id: "job-0", name: "job", arn: "arn:aws:batch:local:000000000000:job/job-0", queue: "q",
                       jobDefinitionArn: "arn:aws:batch:local:000000000000:job-definition/default:1",
                       jobDefinitionName: "default", sequence: 0, createdAt: 0, container: container)
    let scheduler = Scheduler(store: TemplateJobStore(template: template), lastSequence: 0, settings: settings, clock: { 0 })
    let environment = ComputeEnvironment(name: "big", arn: "arn", uuid: "u", executor: "null", createdAt: 0)
    let queue = JobQueue(name: "q", arn: "arn", priority: 1, computeEnvironmentOrder: [ComputeEnvironmentOrder(order: 1, computeEnvironment: "big")], createdAt: 0)
    await scheduler.setQueue(queue, policy: PolicyAdapter(instance: try loadFIFO()))
    // No capacity while queueing, so every job stays RUNNABLE.
    await scheduler.setEnvironment(environment, port: NullExecutor(), capacity: .zero, isHealthy: true, healthReason: nil)
    let before = residentBytes()
    for index in 1...count {
        var job = template
        // Ids as long as a real job id (a UUID is 36 characters), so their storage is counted.
        job.id = "job-\(index)" + String(repeating: "x", count: max(0, 36 - 4 - String(index).count))
        job.sequence = Int64(index)
        try await scheduler.submit(job)
    }
    _ = await scheduler.cycle()
    let perJob = Double(residentBytes() - before) / Double(count)
    await scheduler.setEnvironment(environment, port: NullExecutor(), capacity: Resources(vcpuMillis: Int64(count) * 1000, memoryMiB: Int64(count) * 64),
                                   isHealthy: true, healthReason: nil)
    let start = now()
    var placed = 0
    while placed < count {
        let launches = await scheduler.cycle()
        if launches.isEmpty { break }
        placed += launches.count
    }
    let elapsed = now() - start
    if ProcessInfo.processInfo.environment["DOCKET_BENCH_EXPERIMENT"] != nil {
        let store = TemplateJobStore(template: template)
        let ids = (1...count).map { "job-\($0)" + String(repeating: "x", count: max(0, 36 - 4 - String($0).count)) }
        let t0 = now()
        var total = 0
        for chunk in stride(from: 0, to: count, by: 256) { total += try store.loadJobs(ids: Array(ids[chunk..<min(count, chunk + 256)])).count }
        print("experiment: loading \(total) jobs from the template store took \(format(now() - t0, 3)) s")
    }
    print("scale: \(count) RUNNABLE jobs: \(format(Double(placed) / elapsed, 0)) scheduling decisions/s (\(placed) placed in \(format(elapsed, 2)) s, target >= 100000/s); resident memory \(format(perJob, 0)) bytes per queued job (target < 1024)")
}

do {
    if all || selected.contains("policy") { try benchPolicy() }
    if all || selected.contains("scale") { try await benchScale() }
    if all || selected.contains("submit") { try benchSubmit() }
    if all || selected.contains("e2e") { try benchEndToEnd() }
    if all || selected.contains("array") { try benchArray() }
    if all || selected.contains("api") { try await benchAPI() }
    if all || selected.contains("docker") { try benchDocker() }
    if all || selected.contains("gpu") { try benchGPU() }
    if all || selected.contains("shares") { try benchShares() }
} catch {
    FileHandle.standardError.write(Data("docket-bench: \(error)\n".utf8))
    exit(1)
}
