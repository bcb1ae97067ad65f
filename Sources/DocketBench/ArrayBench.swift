import Foundation
import GRDB

// docket-bench array: issue 4's three array figures, each against a baseline from the same run.
//  1. one 10,000-child array of `true`, end to end, vs posix_spawn of 10,000 `true` at the
//     same concurrency (the compute environment's vCPUs; each child asks for 1);
//  2. submit to every child RUNNABLE: children are stored RUNNABLE in SubmitJob's own
//     transaction, so this is SubmitJob's latency; checked by reading statusSummary back from a
//     server whose compute environment is DISABLED (nothing moves on);
//  3. a 1,000-child SEQUENTIAL array: the gap from one child's exit to the next one's start,
//     from the attempts' recorded stoppedAt and startedAt, and from the chain's wall time less
//     1,000 raw spawns.
// DOCKET_BENCH_ARRAY_SIZE (10,000), DOCKET_BENCH_ARRAY_CONCURRENCY (the machine's cores),
// DOCKET_BENCH_CHAIN_SIZE (1,000) change the sizes.

/// An integer from the environment (the benchmarks' size knobs), else `fallback`.
func environmentInteger(_ name: String, _ fallback: Int) -> Int {
    Int(ProcessInfo.processInfo.environment[name] ?? "") ?? fallback
}

/// A response body that must be a JSON object.
func jsonObject(_ body: [UInt8]) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
        throw BenchError("the server answered something other than a JSON object: \(String(decoding: body, as: UTF8.self))")
    }
    return object
}

private func arraySubmitBody(size: Int, sequential: Bool) -> String {
    let dependency = sequential ? ",\"dependsOn\":[{\"type\":\"SEQUENTIAL\"}]" : ""
    return "{\"jobName\":\"bench-array\",\"jobQueue\":\"default\",\"jobDefinition\":\"default\",\"arrayProperties\":{\"size\":\(size)}\(dependency),\"containerOverrides\":{\"command\":[\"/bin/true\"]}}"
}

private func submitArray(_ client: KeepAliveClient, size: Int, sequential: Bool) throws -> (jobID: String, seconds: Double) {
    let began = now()
    let (status, body) = try client.request("POST", "/v1/submitjob", body: arraySubmitBody(size: size, sequential: sequential))
    let seconds = now() - began
    guard status == 200, let jobID = try jsonObject(body)["jobId"] as? String else {
        throw BenchError("SubmitJob for the array answered \(status): \(String(decoding: body, as: UTF8.self))")
    }
    return (jobID, seconds)
}

private func describeJob(_ client: KeepAliveClient, _ jobID: String) throws -> [String: Any] {
    let (status, body) = try client.request("POST", "/v1/describejobs", body: "{\"jobs\":[\"\(jobID)\"]}")
    guard status == 200, let job = (try jsonObject(body)["jobs"] as? [[String: Any]])?.first else {
        throw BenchError("DescribeJobs \(jobID) answered \(status): \(String(decoding: body, as: UTF8.self))")
    }
    return job
}

/// Waits until the array parent has ended; returns its status and the seconds since `start`.
private func waitForParent(_ client: KeepAliveClient, _ jobID: String, since start: Double, limit: Double) throws -> String {
    while true {
        let status = try describeJob(client, jobID)["status"] as? String ?? "?"
        if status == "SUCCEEDED" || status == "FAILED" { return status }
        guard now() - start < limit else { throw BenchError("array \(jobID) did not finish in \(Int(limit)) s (it is \(status))") }
        usleep(5_000)
    }
}

private func processEnvironmentConfig(vcpus: Int, state: String = "ENABLED") -> String {
    """
    compute_environments:
      - name: default
        executor: process
        allow_root: true
        state: \(state)
        settings: { vcpus: \(vcpus), memory_mib: \(max(vcpus, 1) * 1024)\(ProcessInfo.processInfo.environment["DOCKET_BENCH_CGROUPS_OFF"] != nil ? ", cgroups: \"off\"" : "") }
    """
}

/// Every child's (index, startedAt, stoppedAt) in ms, through ListJobs by arrayJobId.
private func childTimes(_ client: KeepAliveClient, parent: String) throws -> [(index: Int, started: Int64, stopped: Int64)] {
    var times: [(index: Int, started: Int64, stopped: Int64)] = []
    var token: String? = nil
    repeat {
        let tokenMember = token.map { ",\"nextToken\":\"\($0)\"" } ?? ""
        let (status, body) = try client.request("POST", "/v1/listjobs", body: "{\"arrayJobId\":\"\(parent)\",\"jobStatus\":\"SUCCEEDED\",\"maxResults\":100\(tokenMember)}")
        guard status == 200 else { throw BenchError("ListJobs answered \(status): \(String(decoding: body, as: UTF8.self))") }
        let page = try jsonObject(body)
        for summary in page["jobSummaryList"] as? [[String: Any]] ?? [] {
            guard let index = (summary["arrayProperties"] as? [String: Any])?["index"] as? Int,
                  let started = summary["startedAt"] as? Int, let stopped = summary["stoppedAt"] as? Int else { continue }
            times.append((index, Int64(started), Int64(stopped)))
        }
        token = page["nextToken"] as? String
    } while token != nil
    return times.sorted { $0.index < $1.index }
}

func benchArray() throws {
    let size = environmentInteger("DOCKET_BENCH_ARRAY_SIZE", 10_000)
    let concurrency = environmentInteger("DOCKET_BENCH_ARRAY_CONCURRENCY", ProcessInfo.processInfo.activeProcessorCount)
    let chainSize = environmentInteger("DOCKET_BENCH_CHAIN_SIZE", 1_000)

    // 2. Submit to all RUNNABLE, with nothing started (the compute environment is DISABLED).
    do {
        let server = try ServerProcess(config: processEnvironmentConfig(vcpus: concurrency, state: "DISABLED"))
        defer { server.stop() }
        let client = try KeepAliveClient(port: server.port)
        var latencies: [Double] = []
        for _ in 0..<5 {
            let (jobID, seconds) = try submitArray(client, size: size, sequential: false)
            let summary = try describeJob(client, jobID)["arrayProperties"] as? [String: Any]
            let runnable = (summary?["statusSummary"] as? [String: Any])?["RUNNABLE"] as? Int ?? -1
            guard runnable == size else { throw BenchError("after SubmitJob returned, \(runnable) of \(size) children were RUNNABLE") }
            latencies.append(seconds)
        }
        latencies.sort()
        let insertFloor = try durableInsertFloor(rows: size + 1)
        print("array submit: \(size) children RUNNABLE when SubmitJob returns: median \(format(latencies[2] * 1000, 1)) ms (min \(format(latencies[0] * 1000, 1)), max \(format(latencies[4] * 1000, 1)); 5 arrays); one synchronous=FULL transaction inserting \(size + 1) rows of 100 bytes: \(format(insertFloor * 1000, 1)) ms; ratio \(format(latencies[2] / insertFloor, 2)) (target < 200 ms)")
    }

    // 1. The whole array, end to end, against raw posix_spawn at the same concurrency.
    do {
        let raw = rawSpawnRate(count: size, concurrency: concurrency)
        let server = try ServerProcess(config: processEnvironmentConfig(vcpus: concurrency))
        defer { server.stop() }
        let client = try KeepAliveClient(port: server.port)
        let start = now()
        let (jobID, submitSeconds) = try submitArray(client, size: size, sequential: false)
        let status = try waitForParent(client, jobID, since: start, limit: 900)
        let elapsed = now() - start
        let rate = Double(size) / elapsed
        print("array e2e: \(size) children of `true`, concurrency \(concurrency): docket \(format(rate)) children/s (\(format(elapsed, 2)) s, parent \(status), SubmitJob \(format(submitSeconds * 1000, 1)) ms); posix_spawn \(format(raw)) spawns/s; ratio \(format(rate / raw, 2)) (target >= 0.5)")
    }

    // 3. A SEQUENTIAL chain: child i+1 starts when child i has succeeded.
    do {
        let raw = rawSpawnRate(count: chainSize, concurrency: 1)
        let server = try ServerProcess(config: processEnvironmentConfig(vcpus: concurrency))
        defer { server.stop() }
        let client = try KeepAliveClient(port: server.port)
        let start = now()
        let (jobID, _) = try submitArray(client, size: chainSize, sequential: true)
        let status = try waitForParent(client, jobID, since: start, limit: 900)
        let elapsed = now() - start
        let times = try childTimes(client, parent: jobID)
        guard times.count == chainSize else { throw BenchError("\(times.count) of \(chainSize) chained children SUCCEEDED (parent \(status))") }
        var gaps: [Double] = []
        for index in 1..<times.count { gaps.append(Double(times[index].started - times[index - 1].stopped)) }
        let mean = gaps.reduce(0, +) / Double(gaps.count)
        gaps.sort()
        let wallPerLink = (elapsed - Double(chainSize) / raw) / Double(chainSize - 1) * 1000
        print("array chain: \(chainSize) SEQUENTIAL children of `true`: exit-to-next-start from the attempt records: mean \(format(mean, 2)) ms, p50 \(format(percentile(gaps, 0.5), 0)) ms, p99 \(format(percentile(gaps, 0.99), 0)) ms (ms-resolution timestamps); from wall time: \(format(elapsed, 2)) s for the chain less \(chainSize) raw spawns (\(format(1000 / raw, 2)) ms each) = \(format(wallPerLink, 2)) ms per link (target < 5 ms)")
    }
}

/// One synchronous=FULL transaction inserting `rows` rows of 100 bytes into a scratch WAL
/// database: the floor under storing an array's children durably. The fastest of 3.
func durableInsertFloor(rows: Int) throws -> Double {
    let path = NSTemporaryDirectory() + "docket-bench-bulk-\(getpid()).sqlite"
    defer { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } }
    let pool = try DatabasePool(path: path)
    try pool.writeWithoutTransaction { db in
        try db.execute(sql: "PRAGMA synchronous = FULL; CREATE TABLE floor (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    }
    let value = String(repeating: "x", count: 100)
    var best = Double.infinity
    for round in 0..<3 {
        let began = now()
        try pool.write { db in
            let statement = try db.makeStatement(sql: "INSERT INTO floor (key, value) VALUES (?, ?)")
            for row in 0..<rows { try statement.execute(arguments: ["\(round)-\(row)", value]) }
        }
        best = min(best, now() - began)
    }
    return best
}
