import DocketCore
import DocketPluginHost
import Foundation
import Logging
import Synchronization

// MARK: shares: 1,000,000 RUNNABLE jobs over many shares, through each policy plugin

/// The policy's virtual clock: the benchmark moves it one millisecond per decision, so usage
/// decays and running jobs accrue as they would.
private let benchClock = Atomic<Int64>(1_000_000)

/// One policy plugin, loaded through the C ABI as a server loads it.
private func loadPolicy(_ file: String, settings: String) throws -> PolicyInstance {
    let plugin = try PluginLoader.load(path: binDirectory + "/" + file, logger: Logger(label: "bench"))
    return try PolicyInstance(plugin: plugin, name: "bench", configJSON: settings, settings: [:], logger: Logger(label: "bench"),
                              clock: { benchClock.load(ordering: .relaxed) })
}

/// `docket-bench shares`: for FIFO (the baseline), fair-share and quota, fills one policy
/// instance with `DOCKET_BENCH_SHARES_JOBS` (1,000,000) RUNNABLE 1-vCPU jobs spread round-robin
/// over `DOCKET_BENCH_SHARES_COUNT` (1,000) share identifiers, then times scheduling decisions
/// in steady state: a decision is one pick of one key, that job started, the oldest running
/// job finished once 1,000 run, and a new job arriving, so the queue stays full. Prints
/// decisions per second, the cost per decision, and the resident memory the jobs added.
func benchShares() throws {
    let environment = ProcessInfo.processInfo.environment
    let jobs = Int(environment["DOCKET_BENCH_SHARES_JOBS"] ?? "") ?? 1_000_000
    let shareCount = Int(environment["DOCKET_BENCH_SHARES_COUNT"] ?? "") ?? 1_000
    let decisions = Int(environment["DOCKET_BENCH_SHARES_DECISIONS"] ?? "") ?? 200_000
    // AWS allows 20 quota shares per queue: the quota policy gets 20, each job's share its
    // identifier modulo 20, each share 50 vCPUs of a 1,000-vCPU queue, lending and borrowing.
    let quotaShares = 20
    let quotaSettings = "{\"quotaShares\": [" + (0..<quotaShares).map { index in
        "{\"name\": \"share-\(index)\", \"state\": \"ENABLED\", \"capacityLimits\": [{\"capacityUnit\": \"VCPU\", \"maxCapacity\": 50}], \"resourceSharingConfiguration\": {\"strategy\": \"LEND_AND_BORROW\", \"borrowLimit\": -1}, \"preemptionConfiguration\": {\"inSharePreemption\": \"DISABLED\"}}"
    }.joined(separator: ", ") + "], \"capacity\": {\"vcpuMillis\": 1000000, \"memoryMiB\": 64000000, \"gpus\": 0}}"
    let fairshareSettings = "{\"shareDecaySeconds\": 3600, \"shareDistribution\": [" + (0..<10).map { index in
        "{\"shareIdentifier\": \"share-\(index)\", \"weightFactor\": \(Double(index + 1) / 4)}"
    }.joined(separator: ", ") + "]}"
    let policies: [(name: String, file: String, settings: String, shares: Int)] = [
        ("fifo", "libDocketPolicyFIFO.so", "{}", shareCount),
        ("fairshare", "libDocketPolicyFairShare.so", fairshareSettings, shareCount),
        ("quota", "libDocketPolicyQuota.so", quotaSettings, quotaShares),
    ]
    var baseline: Double?
    for (name, file, settings, shares) in policies {
        let policy = try loadPolicy(file, settings: settings)
        let identifiers = (0..<shares).map { "share-\($0)" }
        let request = Resources(vcpuMillis: 1000, memoryMiB: 64)
        func job(_ sequence: UInt64) -> PolicyJob {
            let share = Int(sequence % UInt64(shares))
            return PolicyJob(key: sequence, sequence: sequence, isRetry: false, submittedAt: 0, runnableAt: 0, queuePriority: 1,
                             schedulingPriority: 0, request: request, shareKey: UInt64(share + 1),
                             shareIdentifier: name == "fifo" ? nil : identifiers[share])
        }
        let before = residentBytes()
        let fillStart = now()
        for sequence in 1...UInt64(jobs) { policy.jobRunnable(job(sequence)) }
        let fillSeconds = now() - fillStart
        let perJob = Double(residentBytes() - before) / Double(jobs)

        var free = Resources(vcpuMillis: 1_000_000, memoryMiB: 64_000_000)
        var running: [(key: UInt64, startedAt: Int64)] = []
        running.reserveCapacity(1_001)
        var oldest = 0
        var sequence = UInt64(jobs)
        var made = 0
        let start = now()
        while made < decisions {
            let time = benchClock.add(1, ordering: .relaxed).newValue
            // At most 1,000 run: the oldest finishes first, so a vCPU is always free.
            if running.count - oldest >= 1_000 {
                let done = running[oldest]
                oldest += 1
                policy.jobFinished(key: done.key, usage: request, startedAt: done.startedAt, stoppedAt: time)
                free = free + request
            }
            guard let key = policy.pick(free: free, limit: 1).first else { break }
            policy.jobStarted(key: key, usage: request, startedAt: time)
            free = free - request
            running.append((key, time))
            if oldest > 100_000 { running.removeFirst(oldest); oldest = 0 }
            sequence += 1
            policy.jobRunnable(job(sequence))
            made += 1
        }
        let seconds = now() - start
        let rate = Double(made) / seconds
        if baseline == nil { baseline = rate }
        _ = policy.takePreemptionRequests()
        print("shares: \(name): \(jobs) RUNNABLE jobs over \(shares) shares filled in \(format(fillSeconds, 2)) s (\(format(perJob, 0)) bytes resident per job); \(made) decisions in \(format(seconds, 2)) s = \(format(rate, 0)) decisions/s (\(format(seconds / Double(made) * 1e6, 2)) us each, pick + start + finish + arrival through the C ABI); ratio to FIFO \(format(rate / baseline!, 3)) (target >= 100,000/s)")
        policy.destroy()
    }
}
