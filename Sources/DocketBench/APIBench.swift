import DocketCore
import DocketStore
import Foundation

// `docket-bench api`: SubmitJob, DescribeJobs and ListJobs over one kept-alive connection, on
// an empty store and on one holding 100,000 jobs, against two floors measured in the same run:
// the same client against a raw HTTP responder (what any HTTP answer costs here) and one
// durable write with fdatasync (what a durable SubmitJob cannot go below).

/// Latency percentiles of one measured call, in milliseconds.
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
    var rate: Double { Double(calls) / seconds }
    var line: String {
        "\(format(rate, 0)) calls/s; p50 \(format(percentile(0.5), 3)) ms, p90 \(format(percentile(0.9), 3)), p99 \(format(percentile(0.99), 3)), max \(format(sorted.last! * 1000, 2))"
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

/// A raw HTTP/1.1 responder on a loopback port, in a thread: reads each request and answers a
/// fixed 2-byte JSON body on the same connection. The floor for any HTTP answer.
final class RawHTTPResponder: @unchecked Sendable {
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

/// One small write and fdatasync, `count` times: the cost of one durable commit here.
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

/// Writes `count` RUNNABLE jobs shaped as SubmitJob makes them straight into the store, in
/// transactions of 5,000: how the benchmark gets a large store quickly.
func seedJobs(storePath: String, count: Int) throws -> Double {
    let store = try SQLiteStore(path: storePath)
    var sequence = try store.lastJobSequence()
    let started = now()
    let container = ContainerSpec(image: "busybox", command: ["true"], environment: [],
                                  resources: Resources(vcpuMillis: 1000, memoryMiB: 512), user: nil,
                                  properties: ["image": "busybox", "command": ["true"]])
    for batchStart in stride(from: 0, to: count, by: 5_000) {
        var jobs: [Job] = []
        for index in batchStart..<min(count, batchStart + 5_000) {
            sequence += 1
            let id = UUID().uuidString.lowercased()
            var job = Job(id: id, name: "seed\(index)", arn: "arn:aws:batch:local:000000000000:job/\(id)", queue: "default",
                          jobDefinitionArn: "arn:aws:batch:local:000000000000:job-definition/default:1", jobDefinitionName: "default",
                          sequence: sequence, createdAt: Int64(Date().timeIntervalSince1970 * 1000), container: container)
            try? job.move(to: .runnable, reason: nil, at: job.createdAt)
            jobs.append(job)
        }
        try store.commit(jobs: jobs, statuses: [])
    }
    return now() - started
}

func benchAPI() throws {
    let environment = ProcessInfo.processInfo.environment
    let calls = Int(environment["DOCKET_BENCH_API_CALLS"] ?? "") ?? 2_000
    let stored = Int(environment["DOCKET_BENCH_API_STORED"] ?? "") ?? 100_000
    // Jobs stay queued: the compute environment is DISABLED, so only the API is measured.
    let config = "compute_environments:\n  - name: default\n    executor: process\n    state: DISABLED\n"

    let responder = try RawHTTPResponder()
    let raw = try KeepAliveClient(port: responder.port)
    let httpFloor = try measure(calls) { _ in _ = try raw.request("POST", "/v1/describejobs", body: #"{"jobs":["x"]}"#) }
    print("api: floor: raw HTTP round trip on one kept-alive connection: \(httpFloor.line)")

    let dataDirectory = NSTemporaryDirectory() + "docket-bench-api-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
    let syncFloor = fdatasyncFloor(directory: dataDirectory, count: 500)
    print("api: floor: one 128-byte write + fdatasync: \(syncFloor.line)")

    struct Round { var submit, describe1, describe100, listFirst, listDeep: LatencySummary; var startSeconds: Double }
    func round(label: String) throws -> Round {
        let configPath = dataDirectory + "/config.yaml"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let started = now()
        let server = try ServerProcess(configPath: configPath, dataDirectory: dataDirectory + "/data")
        let startSeconds = now() - started
        defer { server.stop(keepData: true) }
        let client = try KeepAliveClient(port: server.port)
        var ids: [String] = []
        let submit = try measure(calls) { index in
            let (status, body) = try client.request("POST", "/v1/submitjob", body: submitBody(index, command: ["true"]))
            guard status == 200, case .object(let reply)? = try? JSONParser.parse(body), let id = reply["jobId"]?.stringValue else {
                throw BenchError("SubmitJob answered \(status): \(String(decoding: body, as: UTF8.self))")
            }
            ids.append(id)
        }
        var generator = SystemRandomNumberGenerator()
        let describe1 = try measure(calls) { _ in
            let (status, _) = try client.request("POST", "/v1/describejobs", body: "{\"jobs\":[\"\(ids.randomElement(using: &generator)!)\"]}")
            guard status == 200 else { throw BenchError("DescribeJobs answered \(status)") }
        }
        let describe100 = try measure(max(10, calls / 10)) { _ in
            let chosen = (0..<100).map { _ in "\"\(ids.randomElement(using: &generator)!)\"" }.joined(separator: ",")
            let (status, _) = try client.request("POST", "/v1/describejobs", body: "{\"jobs\":[\(chosen)]}")
            guard status == 200 else { throw BenchError("DescribeJobs answered \(status)") }
        }
        let listFirst = try measure(max(10, calls / 10)) { _ in
            let (status, _) = try client.request("POST", "/v1/listjobs", body: #"{"jobQueue":"default","jobStatus":"RUNNABLE","maxResults":100}"#)
            guard status == 200 else { throw BenchError("ListJobs answered \(status)") }
        }
        // A page deep in the queue: after the job with the middle sequence number.
        let token = Data("seq:\(max(1, (stored + calls) / 2))".utf8).base64EncodedString()
        let listDeep = try measure(max(10, calls / 10)) { _ in
            let (status, _) = try client.request("POST", "/v1/listjobs", body: "{\"jobQueue\":\"default\",\"jobStatus\":\"RUNNABLE\",\"maxResults\":100,\"nextToken\":\"\(token)\"}")
            guard status == 200 else { throw BenchError("ListJobs answered \(status)") }
        }
        print("api: \(label): server ready in \(format(startSeconds, 2)) s")
        print("api: \(label): SubmitJob: \(submit.line)")
        print("api: \(label): DescribeJobs (1 id): \(describe1.line)")
        print("api: \(label): DescribeJobs (100 ids): \(describe100.line)")
        print("api: \(label): ListJobs (first page of 100): \(listFirst.line)")
        print("api: \(label): ListJobs (page of 100 deep in the queue): \(listDeep.line)")
        return Round(submit: submit, describe1: describe1, describe100: describe100, listFirst: listFirst, listDeep: listDeep,
                     startSeconds: startSeconds)
    }

    let empty = try round(label: "empty store")
    let seeding = try seedJobs(storePath: dataDirectory + "/data/docket.sqlite", count: stored)
    print("api: seeded \(stored) RUNNABLE jobs into the store in \(format(seeding, 1)) s")
    let full = try round(label: "\(stored) jobs stored")
    func ratio(_ name: String, _ a: LatencySummary, _ b: LatencySummary) {
        print("api: \(name): p50 \(format(b.percentile(0.5) / a.percentile(0.5), 2))x, p99 \(format(b.percentile(0.99) / a.percentile(0.99), 2))x with \(stored) jobs stored vs empty")
    }
    ratio("SubmitJob", empty.submit, full.submit)
    ratio("DescribeJobs (1 id)", empty.describe1, full.describe1)
    ratio("DescribeJobs (100 ids)", empty.describe100, full.describe100)
    ratio("ListJobs (first page)", empty.listFirst, full.listFirst)
    print("api: SubmitJob p50 vs floors: \(format(full.submit.percentile(0.5) / httpFloor.percentile(0.5), 1))x the raw HTTP round trip, \(format(full.submit.percentile(0.5) / syncFloor.percentile(0.5), 1))x one fdatasync")
    print("api: DescribeJobs (1 id) p50 vs the raw HTTP round trip: \(format(full.describe1.percentile(0.5) / httpFloor.percentile(0.5), 1))x")
}
