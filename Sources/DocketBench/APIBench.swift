import DocketCore
import DocketStore
import Foundation
import GRDB
import Hummingbird
import Logging

// `docket-bench api`: SubmitJob, DescribeJobs and ListJobs over one kept-alive connection to a
// real `docket server`, on an empty store and again on the same store holding 100,000 more jobs,
// printed side by side with the ratio (stored / empty) of each figure. Floors measured in the
// same run:
// - HTTP: the same client against a Hummingbird server (the HTTP stack Docket runs on) that
//   answers every POST with a fixed small JSON body, and against a bare socket loop (the client
//   and loopback alone);
// - durable write: one single-row INSERT transaction with synchronous=FULL in a scratch SQLite
//   database (GRDB, WAL, as the store opens it); beside it the same INSERT through SQLiteStore
//   itself, and a bare fdatasync.
// DOCKET_BENCH_API_CALLS (default 3,000) sets the calls per measurement, DOCKET_BENCH_API_STORED
// (default 100,000) the jobs seeded, DOCKET_BENCH_API_BOTO3 (default 1,000; 0 skips) the calls
// made through boto3.

/// Latencies of one measured loop: rate and percentiles (in milliseconds).
struct LatencySummary {
    var calls: Int
    var seconds: Double
    var sorted: [Double]

    init(_ latencies: [Double], seconds: Double) {
        calls = latencies.count
        self.seconds = seconds
        sorted = latencies.sorted()
    }

    func percentile(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1000 }
    var p50: Double { percentile(0.5) }
    var maximum: Double { sorted.last! * 1000 }
    var rate: Double { Double(calls) / seconds }
    /// calls/s, p50, p90, p99 and max, in the order the tables print them.
    var figures: [Double] { [rate, percentile(0.5), percentile(0.9), percentile(0.99), maximum] }
    var line: String {
        "\(format(rate, 0)) calls/s; p50 \(format(p50, 3)) ms, p90 \(format(percentile(0.9), 3)), p99 \(format(percentile(0.99), 3)), max \(format(maximum, 2))"
    }
}

/// Runs `body` `count` times, timing each call.
func measure(_ count: Int, _ body: (Int) throws -> Void) rethrows -> LatencySummary {
    var latencies: [Double] = []
    latencies.reserveCapacity(count)
    let start = now()
    for index in 0..<count {
        let began = now()
        try body(index)
        latencies.append(now() - began)
    }
    return LatencySummary(latencies, seconds: now() - start)
}

// MARK: Floors

/// A bare HTTP/1.1 responder on a loopback port, in a thread: reads each request and answers a
/// fixed 2-byte JSON body on the same connection. What the client and loopback cost alone.
final class RawHTTPResponder: @unchecked Sendable {
    // @unchecked: `listener` is set once in init and only read after; the thread owns the rest.
    let port: Int
    private let listener: Int32

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && listen(listener, 4) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        guard bound else { throw BenchError("cannot open the raw HTTP responder: errno \(errno)") }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread {
            let connection = accept(listener, nil, nil)
            var one: Int32 = 1
            setsockopt(connection, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let answer = Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}".utf8)
            var pending: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(connection, $0.baseAddress, $0.count) }
                guard count > 0 else { close(connection); return }
                pending += chunk[0..<count]
                // Answer every complete request (headers, then Content-Length bytes).
                while let end = pending.indices.dropLast(3).first(where: { pending[$0] == 13 && pending[$0 + 1] == 10 && pending[$0 + 2] == 13 && pending[$0 + 3] == 10 }) {
                    let head = String(decoding: pending[0..<end], as: UTF8.self).lowercased()
                    let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                        .flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) } ?? 0
                    guard pending.count >= end + 4 + length else { break }
                    pending.removeFirst(end + 4 + length)
                    _ = answer.withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
                }
            }
        }
    }

    deinit { close(listener) }
}

/// Answers every request with the same small JSON body after reading the request's body, as
/// Docket's own responder does before it routes: the HTTP stack's share of a Docket call.
struct FixedReplyResponder: HTTPResponder {
    typealias Context = BasicRequestContext

    func respond(to request: Request, context: Context) async throws -> Response {
        _ = try await request.body.collect(upTo: 1 << 20)
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"jobs":[]}"#)))
    }
}

/// Starts a Hummingbird application with `FixedReplyResponder` on a free loopback port, in this
/// process, on the same configuration Docket's API uses. Cancel the task to stop it.
func startHummingbirdFloor() async throws -> (port: Int, task: Task<Void, any Error>) {
    var logger = Logger(label: "docket-bench.floor")
    // Stopping the server by cancelling it logs a CancellationError at error level.
    logger.logLevel = .critical
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    let application = Application(responder: FixedReplyResponder(),
                                  configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0), serverName: "docket"),
                                  onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
                                  logger: logger)
    // Detached: the caller (top-level code, on the main actor) blocks in the client's reads.
    let task = Task.detached { try await application.run() }
    for await port in ports { return (port, task) }
    throw BenchError("the Hummingbird floor server stopped before it listened")
}

/// `count` single-row INSERT transactions in a scratch WAL database through a GRDB pool, each
/// synced (synchronous=FULL) before it returns: a durable SubmitJob cannot go below this.
///
/// The pragma is set after the pool opens: GRDB's DatabasePool sets synchronous=NORMAL on its
/// writer when it turns WAL on, after `prepareDatabase` has run, so setting it there is undone.
func durableWriteFloor(directory: String, count: Int) throws -> LatencySummary {
    let path = directory + "/floor.sqlite"
    defer { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } }
    let pool = try DatabasePool(path: path)
    let level = try pool.writeWithoutTransaction { db in
        try db.execute(sql: "PRAGMA synchronous = FULL; CREATE TABLE floor (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        return try Int.fetchOne(db, sql: "PRAGMA synchronous")
    }
    guard level == 2 else { throw BenchError("the floor's SQLite connection runs synchronous=\(level ?? -1), not FULL (2)") }
    return try measure(count) { index in
        try pool.write { db in try db.execute(sql: "INSERT INTO floor (key, value) VALUES (?, 'x')", arguments: ["floor-\(index)"]) }
    }
}

/// The same single-row INSERT transaction through SQLiteStore (a setting), as the server's
/// store is opened: what a write to Docket's store costs, synced or not.
func storeWriteFloor(directory: String, count: Int) throws -> LatencySummary {
    let path = directory + "/store-floor.sqlite"
    defer { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } }
    let store = try SQLiteStore(path: path)
    return try measure(count) { index in try store.setSetting("floor-\(index)", "x") }
}

/// One small write and fdatasync, `count` times: one durable flush here, without SQLite.
func fdatasyncFloor(directory: String, count: Int) -> LatencySummary {
    let path = directory + "/fsync-probe"
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    defer { close(descriptor); unlink(path) }
    let bytes = [UInt8](repeating: 7, count: 128)
    return measure(count) { _ in
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        fdatasync(descriptor)
    }
}

// MARK: Seeding

/// Writes `count` copies of the job `templateID` (one SubmitJob stored: same queue, definition,
/// container and status) with fresh ids, names and sequences straight into the store, in
/// transactions of 5,000. The server must be stopped: it is the store's only writer.
/// - Returns: the new jobs' ids and the seconds the writes took.
func seedJobs(storePath: String, templateID: String, count: Int) throws -> (ids: [String], seconds: Double, status: JobStatus) {
    let store = try SQLiteStore(path: storePath)
    guard let template = try store.jobs(ids: [templateID]).first else { throw BenchError("job \(templateID) is not in the store at \(storePath)") }
    var sequence = try store.lastJobSequence()
    var ids: [String] = []
    ids.reserveCapacity(count)
    let started = now()
    for batchStart in stride(from: 0, to: count, by: 5_000) {
        var jobs: [Job] = []
        let createdAt = Int64(Date().timeIntervalSince1970 * 1000)
        for index in batchStart..<min(count, batchStart + 5_000) {
            sequence += 1
            var job = template
            job.id = UUID().uuidString.lowercased()
            job.arn = template.arn.replacingOccurrences(of: template.id, with: job.id)
            job.name = "seed\(index)"
            job.sequence = sequence
            job.createdAt = createdAt
            if job.runnableAt != nil { job.runnableAt = createdAt }
            ids.append(job.id)
            jobs.append(job)
        }
        try store.commit(jobs: jobs, statuses: [])
    }
    store.close()  // the server opens the store next: leave it no checkpoint in progress
    return (ids, now() - started, template.status)
}

// MARK: boto3

/// SubmitJob then DescribeJobs (one random id of those it submitted) through one boto3 client,
/// `calls` of each after a warm-up; prints one JSON line of figures.
let boto3Script = #"""
import json, random, sys, time
import boto3
from botocore.config import Config
endpoint, calls = sys.argv[1], int(sys.argv[2])
client = boto3.session.Session().client("batch", region_name="local", endpoint_url=endpoint,
    aws_access_key_id="docket", aws_secret_access_key="docket", config=Config(retries={"max_attempts": 1}))
def timed(call):
    latencies = []
    start = time.perf_counter()
    for index in range(calls):
        began = time.perf_counter()
        call(index)
        latencies.append(time.perf_counter() - began)
    elapsed = time.perf_counter() - start
    latencies.sort()
    at = lambda p: latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000
    return {"rate": calls / elapsed, "p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": latencies[-1] * 1000}
ids = [client.submit_job(jobName="warm", jobQueue="default", jobDefinition="default",
                         containerOverrides={"command": ["true"]})["jobId"] for _ in range(20)]
submit = timed(lambda i: ids.append(client.submit_job(jobName=f"boto{i}", jobQueue="default", jobDefinition="default",
                                                     containerOverrides={"command": ["true"]})["jobId"]))
describe = timed(lambda i: client.describe_jobs(jobs=[random.choice(ids)]))
print(json.dumps({"submit": submit, "describe": describe}))
"""#

/// Runs `boto3Script` against `port`; a line of figures, or why it could not run.
func boto3Figures(port: Int, calls: Int, directory: String) -> String {
    let scriptPath = directory + "/boto3-bench.py"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", scriptPath, "http://127.0.0.1:\(port)", String(calls)]
    var environment = ProcessInfo.processInfo.environment
    // The user's own AWS files must not change what is measured.
    environment["AWS_CONFIG_FILE"] = "/dev/null"
    environment["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
    environment["AWS_EC2_METADATA_DISABLED"] = "true"
    process.environment = environment
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    do {
        try boto3Script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        try process.run()
    } catch { return "skipped: cannot run python3 (\(error))" }
    let text = output.fileHandleForReading.readDataToEndOfFile()
    let failure = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0, let json = try? JSONParser.parse(Array(text)) else {
        return "skipped: the boto3 script failed (python3 with boto3 is needed): \(failure.split(separator: "\n").last ?? "")"
    }
    func describe(_ key: String) -> String {
        let value = { (name: String) in json[key]?[name]?.doubleValue ?? .nan }
        return "\(format(value("rate"), 0)) calls/s, p50 \(format(value("p50"), 3)) ms, p90 \(format(value("p90"), 3)), p99 \(format(value("p99"), 3)), max \(format(value("max"), 2))"
    }
    return "SubmitJob \(describe("submit")); DescribeJobs (1 id) \(describe("describe"))"
}

// MARK: The benchmark

/// The measurements of one server run on one store.
struct APIRound {
    var submit, describe1, describe100, listFirst, listDeep: LatencySummary
    var startSeconds: Double
    var residentMiB: Double
    /// Jobs in the store when the server started.
    var storedAtStart: Int
    var submittedIDs: [String]
    var boto3: String?
}

/// Resident memory of process `pid` in MiB, from /proc.
func residentMiB(of pid: Int32) -> Double {
    let text = (try? String(contentsOfFile: "/proc/\(pid)/statm", encoding: .utf8)) ?? "0 0"
    let pages = Double(text.split(separator: " ")[1]) ?? 0
    return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
}

func benchAPI() async throws {
    let environment = ProcessInfo.processInfo.environment
    let calls = max(10, Int(environment["DOCKET_BENCH_API_CALLS"] ?? "") ?? 3_000)
    let stored = max(0, Int(environment["DOCKET_BENCH_API_STORED"] ?? "") ?? 100_000)
    let boto3Calls = max(0, Int(environment["DOCKET_BENCH_API_BOTO3"] ?? "") ?? 1_000)
    let batchCalls = max(10, calls / 10)
    // Jobs stay queued: the compute environment is DISABLED, so only the API and store are measured.
    let config = "compute_environments:\n  - name: default\n    executor: process\n    state: DISABLED\n"

    let directory = NSTemporaryDirectory() + "docket-bench-api-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let configPath = directory + "/config.yaml"
    try config.write(toFile: configPath, atomically: true, encoding: .utf8)
    let storePath = directory + "/data/docket.sqlite"

    // 1. Floors.
    let hummingbird = try await startHummingbirdFloor()
    let httpFloor = try {
        let client = try KeepAliveClient(port: hummingbird.port)
        for _ in 0..<100 { _ = try client.request("POST", "/v1/describejobs", body: #"{"jobs":["x"]}"#) }
        return try measure(calls) { _ in _ = try client.request("POST", "/v1/describejobs", body: #"{"jobs":["x"]}"#) }
    }()
    hummingbird.task.cancel()
    _ = await hummingbird.task.result
    let responder = try RawHTTPResponder()
    let socketFloor = try {
        let client = try KeepAliveClient(port: responder.port)
        return try measure(calls) { _ in _ = try client.request("POST", "/v1/describejobs", body: #"{"jobs":["x"]}"#) }
    }()
    let writeFloor = try durableWriteFloor(directory: directory, count: 1_000)
    let storeWrite = try storeWriteFloor(directory: directory, count: 1_000)
    let syncFloor = fdatasyncFloor(directory: directory, count: 1_000)
    print("api: floor: HTTP, Hummingbird answering {\"jobs\":[]} to every POST, one kept-alive connection: \(httpFloor.line)")
    print("api: floor: HTTP, a bare socket loop answering {} (the client and loopback alone): \(socketFloor.line)")
    print("api: floor: durable write, one single-row INSERT transaction, WAL, synchronous=FULL (GRDB): \(writeFloor.line)")
    print("api: floor: durable write, one 128-byte write + fdatasync: \(syncFloor.line)")
    print("api: the same single-row INSERT through SQLiteStore, as the server opens its store: \(storeWrite.line)")
    if storeWrite.p50 < writeFloor.p50 / 2 {
        print("api: note: SQLiteStore's write takes \(format(storeWrite.p50 / writeFloor.p50, 2))x the synchronous=FULL floor, so it is not synced at commit: its writer runs synchronous=NORMAL (GRDB's DatabasePool sets it when it turns WAL on, after prepareDatabase); Docket's writes survive a crash of the server but not a power loss")
    }

    // 2. One server run: start on the data directory, measure, stop keeping the data.
    var knownIDs: [String] = []
    func round(listStatus: String) throws -> APIRound {
        let started = now()
        let server = try ServerProcess(configPath: configPath, dataDirectory: directory + "/data")
        let startSeconds = now() - started
        let resident = residentMiB(of: server.process.processIdentifier)
        defer { server.stop(keepData: true) }
        let client = try KeepAliveClient(port: server.port)
        let storedAtStart = try jobCount(client, status: listStatus)
        var ids: [String] = []
        func submit(_ index: Int) throws {
            let (status, body) = try client.request("POST", "/v1/submitjob", body: submitBody(index, command: ["true"]))
            guard status == 200, let id = (try? JSONParser.parse(body))?["jobId"]?.stringValue else {
                throw BenchError("SubmitJob answered \(status): \(String(decoding: body, as: UTF8.self))")
            }
            ids.append(id)
        }
        for index in 0..<50 { try submit(index) }  // warm-up: connection, caches, statements
        let submit = try measure(calls) { index in try submit(50 + index) }
        // Random ids among every job stored, seeded ones included, so lookups spread over the table.
        let pool = knownIDs + ids
        var generator = SystemRandomNumberGenerator()
        func describe(_ count: Int) throws {
            let chosen = (0..<count).map { _ in "\"\(pool.randomElement(using: &generator)!)\"" }.joined(separator: ",")
            let (status, body) = try client.request("POST", "/v1/describejobs", body: "{\"jobs\":[\(chosen)]}")
            guard status == 200, let found = (try? JSONParser.parse(body))?["jobs"]?.arrayValue?.count, found > 0 else {
                throw BenchError("DescribeJobs answered \(status): \(String(decoding: body.prefix(300), as: UTF8.self))")
            }
        }
        let describe1 = try measure(calls) { _ in try describe(1) }
        let describe100 = try measure(batchCalls) { _ in try describe(100) }
        func list(_ token: String?) throws {
            let after = token.map { ",\"nextToken\":\"\($0)\"" } ?? ""
            let (status, body) = try client.request("POST", "/v1/listjobs",
                                                    body: "{\"jobQueue\":\"default\",\"jobStatus\":\"\(listStatus)\",\"maxResults\":100\(after)}")
            guard status == 200, (try? JSONParser.parse(body))?["jobSummaryList"]?.arrayValue?.count == 100 else {
                throw BenchError("ListJobs answered \(status) without 100 jobs: \(String(decoding: body.prefix(300), as: UTF8.self))")
            }
        }
        let listFirst = try measure(batchCalls) { _ in try list(nil) }
        // A page from the middle of the queue: nextToken is base64 "seq:<sequence>", continue after it.
        let middle = (storedAtStart + calls + 50) / 2
        let token = Data("seq:\(middle)".utf8).base64EncodedString()
        let listDeep = try measure(batchCalls) { _ in try list(token) }
        let boto3 = boto3Calls > 0 ? boto3Figures(port: server.port, calls: boto3Calls, directory: directory) : nil
        knownIDs += ids
        return APIRound(submit: submit, describe1: describe1, describe100: describe100, listFirst: listFirst, listDeep: listDeep,
                        startSeconds: startSeconds, residentMiB: resident, storedAtStart: storedAtStart, submittedIDs: ids, boto3: boto3)
    }

    // 3. Empty store, then seed, then the same on the large store.
    let empty = try round(listStatus: "RUNNABLE")
    let seeding = try seedJobs(storePath: storePath, templateID: empty.submittedIDs[0], count: stored)
    knownIDs += seeding.ids
    guard seeding.status == .runnable else {
        throw BenchError("a submitted job was stored \(seeding.status.rawValue), not RUNNABLE; the ListJobs pages need RUNNABLE jobs")
    }
    print("api: seeded \(stored) RUNNABLE jobs (copies of one SubmitJob's) into the store in \(format(seeding.seconds, 1)) s (\(format(Double(stored) / seeding.seconds, 0)) jobs/s, transactions of 5,000)")
    let full = try round(listStatus: "RUNNABLE")

    // 4. Side by side.
    let storeLabel = "\(full.storedAtStart) jobs"
    print("api: server ready after start: \(format(empty.startSeconds, 2)) s on the empty store (\(format(empty.residentMiB, 0)) MiB resident), \(format(full.startSeconds, 2)) s with \(storeLabel) stored (\(format(full.residentMiB, 0)) MiB resident)")
    print("api: \(calls) calls per measurement (\(batchCalls) for 100-id and list calls), one kept-alive connection; latencies in ms; empty: the first run, from an empty store; \(storeLabel): the second, on the \(stored) seeded jobs and those the first run submitted; ratio = \(storeLabel) / empty (for latencies above 1 is slower, for calls/s below 1)")
    let header = ["calls/s", "p50", "p90", "p99", "max"]
    func cell(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
    print("api: " + "call".padding(toLength: 32, withPad: " ", startingAt: 0) + "store".padding(toLength: 12, withPad: " ", startingAt: 0)
          + header.map { cell($0, 9) }.joined())
    func table(_ name: String, _ a: LatencySummary, _ b: LatencySummary) {
        let rows: [(String, [String])] = [
            ("empty", a.figures.enumerated().map { format($0.element, $0.offset == 0 ? 0 : 3) }),
            (storeLabel, b.figures.enumerated().map { format($0.element, $0.offset == 0 ? 0 : 3) }),
            ("ratio", zip(b.figures, a.figures).map { format($0 / $1, 2) + "x" }),
        ]
        for (index, row) in rows.enumerated() {
            print("api: " + (index == 0 ? name : "").padding(toLength: 32, withPad: " ", startingAt: 0)
                  + row.0.padding(toLength: 12, withPad: " ", startingAt: 0) + row.1.map { cell($0, 9) }.joined())
        }
    }
    table("SubmitJob", empty.submit, full.submit)
    table("DescribeJobs (1 id)", empty.describe1, full.describe1)
    table("DescribeJobs (100 ids)", empty.describe100, full.describe100)
    table("ListJobs (first page of 100)", empty.listFirst, full.listFirst)
    table("ListJobs (page of 100, middle)", empty.listDeep, full.listDeep)
    print("api: DescribeJobs (100 ids): \(format(empty.describe100.rate * 100, 0)) jobs/s on the empty store, \(format(full.describe100.rate * 100, 0)) jobs/s with \(storeLabel)")
    for (label, result) in [("empty", empty), (storeLabel, full)] {
        print("api: p50 vs floors (\(label)): SubmitJob \(format(result.submit.p50 / httpFloor.p50, 1))x the Hummingbird round trip, \(format(result.submit.p50 / writeFloor.p50, 2))x the single-row durable INSERT; DescribeJobs (1 id) \(format(result.describe1.p50 / httpFloor.p50, 2))x the Hummingbird round trip")
    }
    for (label, result) in [("empty", empty), (storeLabel, full)] {
        if let boto3 = result.boto3 { print("api: boto3, one client, \(boto3Calls) calls each (\(label)): \(boto3)") }
    }
}
