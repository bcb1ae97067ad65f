import DocketGPUPlacement
import Foundation

// docket-bench gpu: the GPU executor's placement (GPUPlacement.choose: the free set whose slowest
// link is fastest, then the one that strands the fewest free GPUs) against first-fit (the
// `count` lowest-indexed free GPUs), on the same inventory and the same seeded job stream:
//  - decisions: how many placements per second each makes under steady-state churn, and the
//    latency of one decision;
//  - day: a discrete-event simulation of a loaded machine, where a job placed across slower
//    links runs longer, so placement quality shows as GPU time lost.
// Options: --seed N (1), --decisions N (10000), --hours H (24).

// MARK: The inventory and the model

/// 8 NVLink islands of 8 GPUs (NV12 within an island, as on an HGX board); islands 0-3 on
/// NUMA node 0 and 4-7 on node 1; NODE between islands of one socket, SYS across sockets.
/// Synthetic: no single machine has 64 GPUs. It stands for the largest inventory one instance
/// must place on, which is where a placement's cost per decision is highest.
private func syntheticInventory() -> GPUTopology {
    let numa: [Int?] = (0..<64).map { $0 / 8 < 4 ? 0 : 1 }
    return GPUTopology(numaNodes: numa) { a, b in
        if a / 8 == b / 8 { return .nvlink(lanes: 12) }
        return numa[a] == numa[b] ? .sameNUMANode : .crossSocket
    }
}

/// How much longer a job runs when its slowest link is `link`: the day simulation's model of
/// what placement quality costs. A 1-GPU job has no link and runs at 1.0.
private func slowdown(_ link: GPULink?) -> Double {
    switch link {
    case nil, .nvlink: 1.0
    case .singlePCIeSwitch, .multiplePCIeSwitches: 1.15
    case .hostBridge, .sameNUMANode: 1.3
    case .crossSocket: 1.6
    }
}

private let slowdownModel = "run time = nominal x slowdown of the set's slowest link: NVLink 1.0, PIX/PXB 1.15, PHB/NODE 1.3, SYS 1.6 (1-GPU jobs 1.0)"

/// The slowest link between any two GPUs of `set`; nil for a single GPU.
private func worstLink(_ set: [Int], in topology: GPUTopology) -> GPULink? {
    var worst: GPULink?
    for (position, a) in set.enumerated() {
        for b in set[(position + 1)...] {
            let link = topology.link(a, b)
            if worst.map({ $0 < link }) ?? true { worst = link }
        }
    }
    return worst
}

private enum Placer: CaseIterable {
    case topologyAware, firstFit

    var name: String { self == .topologyAware ? "topology-aware" : "first-fit" }

    /// - Parameter free: the free GPU indexes, ascending (the executor's inventory keeps them so).
    func choose(_ count: Int, from free: [Int], in topology: GPUTopology) -> [Int]? {
        switch self {
        case .topologyAware: GPUPlacement.choose(count, from: free, in: topology)
        case .firstFit: count <= free.count ? Array(free.prefix(count)) : nil
        }
    }
}

/// SplitMix64: small, seedable, and the same on every platform, so a seed names one stream.
private struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in 0..<bound.
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// Standard normal (Box-Muller).
    mutating func normal() -> Double {
        let u = 1 - unit()
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * unit())
    }
}

/// 1, 2, 4 or 8 GPUs, weighted 40/30/20/10.
private let sizeWeights = [(gpus: 1, weight: 40), (gpus: 2, weight: 30), (gpus: 4, weight: 20), (gpus: 8, weight: 10)]
private let meanGPUsPerJob = Double(sizeWeights.map { $0.gpus * $0.weight }.reduce(0, +)) / Double(sizeWeights.map(\.weight).reduce(0, +))

private func drawSize(_ random: inout SplitMix64) -> Int {
    var roll = random.below(sizeWeights.map(\.weight).reduce(0, +))
    for entry in sizeWeights {
        if roll < entry.weight { return entry.gpus }
        roll -= entry.weight
    }
    return sizeWeights[sizeWeights.count - 1].gpus
}

private struct GPUBenchOptions {
    var seed: UInt64 = 1
    var decisions = 10_000
    var hours = 24.0

    /// Reads --seed, --decisions and --hours from anywhere after the subcommand.
    /// - Throws: `BenchError` naming the option and the fix.
    static func parse(_ arguments: [String]) throws -> GPUBenchOptions {
        var options = GPUBenchOptions()
        var index = 0
        while index < arguments.count {
            let option = arguments[index]
            guard option.hasPrefix("--") else { index += 1; continue }
            guard index + 1 < arguments.count else { throw BenchError("gpu: \(option) needs a value; see the usage at the top of main.swift") }
            let value = arguments[index + 1]
            switch option {
            case "--seed":
                guard let seed = UInt64(value) else { throw BenchError("gpu: --seed is '\(value)'; give a whole number from 0 to \(UInt64.max)") }
                options.seed = seed
            case "--decisions":
                guard let count = Int(value), count >= 100 else { throw BenchError("gpu: --decisions is '\(value)'; give a whole number of 100 or more") }
                options.decisions = count
            case "--hours":
                guard let hours = Double(value), hours > 0, hours.isFinite else { throw BenchError("gpu: --hours is '\(value)'; give a number of hours above 0") }
                options.hours = hours
            default:
                throw BenchError("gpu: unknown option \(option); use --seed N, --decisions N or --hours H")
            }
            index += 2
        }
        return options
    }
}

// MARK: Decisions per second

/// The inputs one placer met under churn, replayed to time it.
private struct DecisionTrace {
    var inputs: [(count: Int, free: [Int])] = []
    var refusals = 0  // jobs that found fewer free GPUs than they asked for
    var multiGPU = 0
    var multiGPUWithinIsland = 0
}

/// Drives one placer through churn until it has placed `decisions` jobs: jobs from the size
/// stream are placed while they fit; when one does not, a random held set is released and the
/// same job asks again. Both placers refuse exactly when fewer GPUs are free than asked, and the
/// releases draw from their own stream, so both meet the same sequence of (size, free count):
/// only which GPUs are free differs. A refusal is a count check, not a placement, so it is
/// counted but not timed. The fill from an empty machine comes before the steady state and is
/// not traced: the empty machine's cost is measured on its own.
private func traceDecisions(_ placer: Placer, decisions: Int, seed: UInt64, topology: GPUTopology) -> DecisionTrace {
    var sizes = SplitMix64(seed: seed)
    var releases = SplitMix64(seed: seed ^ 0x5EED_0F_DEC1_5105)
    var isFree = [Bool](repeating: true, count: topology.count)
    var held: [[Int]] = []
    var waiting: Int?
    var isSteady = false  // from the first refusal on: the machine has filled
    var trace = DecisionTrace()
    trace.inputs.reserveCapacity(decisions)
    while trace.inputs.count < decisions {
        let count = waiting ?? drawSize(&sizes)
        let free = (0..<topology.count).filter { isFree[$0] }
        guard count <= free.count else {
            if isSteady { trace.refusals += 1 }
            isSteady = true
            waiting = count
            let released = held.remove(at: releases.below(held.count))
            for index in released { isFree[index] = true }
            continue
        }
        guard let set = placer.choose(count, from: free, in: topology) else {
            preconditionFailure("\(placer.name) placed nothing for \(count) GPUs with \(free.count) free")
        }
        if isSteady { trace.inputs.append((count, free)) }
        for index in set { isFree[index] = false }
        held.append(set)
        waiting = nil
        if count > 1 && isSteady {
            trace.multiGPU += 1
            if case .nvlink = worstLink(set, in: topology) { trace.multiGPUWithinIsland += 1 }
        }
    }
    return trace
}

/// Decisions per second over the whole trace, replayed in a tight loop until at least
/// `minimumSeconds` have passed, so no clock read sits inside the loop.
private func replayRate(_ placer: Placer, _ trace: DecisionTrace, topology: GPUTopology, minimumSeconds: Double) -> Double {
    var passes = 0
    var sink = 0
    let start = now()
    repeat {
        for input in trace.inputs { sink &+= placer.choose(input.count, from: input.free, in: topology)?.first ?? 0 }
        passes += 1
    } while now() - start < minimumSeconds
    let elapsed = now() - start
    if sink == Int.min { print("") }  // keeps the calls from being optimised away
    return Double(passes * trace.inputs.count) / elapsed
}

/// Each decision's latency, sorted: the same call repeated `repeats` times between two clock
/// reads, less the reads' own cost, divided by `repeats` (a first-fit call is about as short
/// as the clock read itself).
private func latencies(_ placer: Placer, _ trace: DecisionTrace, topology: GPUTopology, repeats: Int, clockCost: Double) -> [Double] {
    var result: [Double] = []
    result.reserveCapacity(trace.inputs.count)
    var sink = 0
    for input in trace.inputs {
        let began = now()
        for _ in 0..<repeats { sink &+= placer.choose(input.count, from: input.free, in: topology)?.first ?? 0 }
        result.append(max(0, now() - began - clockCost) / Double(repeats))
    }
    if sink == Int.min { print("") }
    return result.sorted()
}

/// The cost of the two clock reads around a timed call, so it can be taken off.
private func clockReadCost() -> Double {
    let reads = 200_000
    var total = 0.0
    for _ in 0..<reads { let before = now(); total += now() - before }
    return total / Double(reads)
}

/// One decision's latency on an empty machine (all GPUs free, the most candidate sets), the
/// median of `repeats` calls.
private func emptyMachineLatency(_ placer: Placer, count: Int, topology: GPUTopology, repeats: Int, clockCost: Double) -> Double {
    let free = Array(0..<topology.count)
    var samples: [Double] = []
    var sink = 0
    for _ in 0..<repeats {
        let began = now()
        sink &+= placer.choose(count, from: free, in: topology)?.first ?? 0
        samples.append(max(0, now() - began - clockCost))
    }
    if sink == Int.min { print("") }
    return percentile(samples.sorted(), 0.5)
}

// MARK: A simulated day

private struct SimulatedJob {
    var arrival: Double
    var gpus: Int
    var nominal: Double  // seconds on a set joined by NVLink
}

private let medianNominal = 1800.0, nominalSigma = 1.0, nominalCap = 6 * 3600.0

/// The mean of the lognormal (median 30 min, sigma 1) capped at 6 h:
/// E[min(X, c)] = e^(mu + sigma^2/2) Phi((ln c - mu - sigma^2)/sigma) + c (1 - Phi((ln c - mu)/sigma)).
private func meanNominal() -> Double {
    let mu = log(medianNominal), sigma = nominalSigma, logCap = log(nominalCap)
    func phi(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }
    return exp(mu + sigma * sigma / 2) * phi((logCap - mu - sigma * sigma) / sigma) + nominalCap * (1 - phi((logCap - mu) / sigma))
}

/// Poisson arrivals over `horizon` seconds at `rate` per second, sizes and durations drawn from
/// the seed: one list, replayed for each placer.
private func jobStream(seed: UInt64, horizon: Double, rate: Double) -> [SimulatedJob] {
    var random = SplitMix64(seed: seed ^ 0xDA7A_0F_0B5_0000)
    var jobs: [SimulatedJob] = []
    var time = 0.0
    while true {
        time += -log(1 - random.unit()) / rate
        guard time < horizon else { return jobs }
        let gpus = drawSize(&random)
        let nominal = min(nominalCap, medianNominal * exp(nominalSigma * random.normal()))
        jobs.append(SimulatedJob(arrival: time, gpus: gpus, nominal: nominal))
    }
}

private struct DayResult {
    var completed = 0
    var started = 0
    var usefulGPUSeconds = 0.0
    var occupiedGPUSeconds = 0.0
    var waits: [Double] = []
    var stillQueued = 0
    var multiGPU = 0
    var worstLinks: [String: Int] = [:]
    var multiGPUWithinIsland = 0
}

/// Plays `jobs` through one machine until `horizon`: FIFO, head of line (the queue's head waits
/// until enough GPUs are free; nothing behind it starts first). A started job runs
/// nominal x slowdown(its slowest link). Jobs still running at the horizon count pro rata.
private func simulateDay(_ jobs: [SimulatedJob], placer: Placer, topology: GPUTopology, horizon: Double) -> DayResult {
    struct Running { var end: Double; var start: Double; var set: [Int]; var slowdown: Double }
    var result = DayResult()
    var isFree = [Bool](repeating: true, count: topology.count)
    var freeCount = topology.count
    var running: [Running] = []
    var queue: [Int] = []
    var queueHead = 0
    var nextArrival = 0
    var time = 0.0
    while true {
        // 1. The next event: the earliest completion or arrival.
        let nextEnd = running.map(\.end).min() ?? .infinity
        let arrival = nextArrival < jobs.count ? jobs[nextArrival].arrival : .infinity
        time = min(nextEnd, arrival)
        guard time <= horizon else { break }
        // 2. Completions free their GPUs.
        running.removeAll { job in
            guard job.end <= time else { return false }
            let gpus = Double(job.set.count)
            result.occupiedGPUSeconds += gpus * (job.end - job.start)
            result.usefulGPUSeconds += gpus * (job.end - job.start) / job.slowdown
            result.completed += 1
            for index in job.set { isFree[index] = true }
            freeCount += job.set.count
            return true
        }
        // 3. Arrivals join the queue.
        while nextArrival < jobs.count && jobs[nextArrival].arrival <= time {
            queue.append(nextArrival)
            nextArrival += 1
        }
        // 4. The head starts while it fits.
        while queueHead < queue.count && jobs[queue[queueHead]].gpus <= freeCount {
            let job = jobs[queue[queueHead]]
            let free = (0..<topology.count).filter { isFree[$0] }
            guard let set = placer.choose(job.gpus, from: free, in: topology), set.count == job.gpus else {
                preconditionFailure("\(placer.name) placed nothing for \(job.gpus) GPUs with \(free.count) free")
            }
            for index in set { isFree[index] = false }
            freeCount -= set.count
            let link = worstLink(set, in: topology)
            if let link {
                result.multiGPU += 1
                result.worstLinks[link.description, default: 0] += 1
                if case .nvlink = link { result.multiGPUWithinIsland += 1 }
            }
            let factor = slowdown(link)
            running.append(Running(end: time + job.nominal * factor, start: time, set: set, slowdown: factor))
            result.waits.append(time - job.arrival)
            result.started += 1
            queueHead += 1
        }
    }
    for job in running {
        let gpus = Double(job.set.count)
        result.occupiedGPUSeconds += gpus * (horizon - job.start)
        result.usefulGPUSeconds += gpus * (horizon - job.start) / job.slowdown
    }
    result.stillQueued = queue.count - queueHead
    return result
}

// MARK: The bench

func benchGPU() throws {
    let arguments = Array(CommandLine.arguments.dropFirst())
    let options = try GPUBenchOptions.parse(arguments)
    let topology = syntheticInventory()
    print("gpu: synthetic inventory of \(topology.count) GPUs as one machine: 8 NVLink islands of 8 (NV12 within an island, like an HGX board), islands 0-3 on NUMA node 0 and 4-7 on node 1, NODE between islands of one socket, SYS across sockets (no 64-GPU machine exists; it stands for the largest inventory one instance places on); seed \(options.seed); jobs ask 1/2/4/8 GPUs weighted 40/30/20/10; topology-aware = GPUPlacement.choose, baseline first-fit = the lowest-indexed free GPUs; day model: \(slowdownModel)")

    // 1. Decisions: trace each placer under churn, then time the traced calls.
    let clockCost = clockReadCost()
    var rates: [Placer: Double] = [:]
    var parts: [String] = []
    var refusals = 0
    for placer in Placer.allCases {
        let trace = traceDecisions(placer, decisions: options.decisions, seed: options.seed, topology: topology)
        refusals = trace.refusals
        _ = replayRate(placer, trace, topology: topology, minimumSeconds: 0.1)  // warm-up
        let rate = replayRate(placer, trace, topology: topology, minimumSeconds: 1)
        let sorted = latencies(placer, trace, topology: topology, repeats: 8, clockCost: clockCost)
        rates[placer] = rate
        let island = 100 * Double(trace.multiGPUWithinIsland) / Double(max(trace.multiGPU, 1))
        parts.append("\(placer.name) \(format(rate, 0)) decisions/s (latency p50 \(format(percentile(sorted, 0.5) * 1e6, 3)) us, p99 \(format(percentile(sorted, 0.99) * 1e6, 3)) us; \(format(island, 1))% of multi-GPU sets within one NVLink island)")
    }
    print("gpu decisions: \(options.decisions) placements on \(topology.count) GPUs under steady-state churn once the machine has filled (place while a job fits; when one does not, release a random held set and ask again: \(refusals) such refusals, the same for both and not timed), each placer's calls replayed for 1 s; latency: each call 8 times between two clock reads, less their \(format(clockCost * 1e9, 0)) ns: \(parts.joined(separator: "; ")); ratio topology-aware / first-fit \(format(rates[.topologyAware]! / rates[.firstFit]!, 4))")
    let empty = [1, 2, 4, 8].map { count in
        "\(count) GPU\(count == 1 ? "" : "s") \(format(emptyMachineLatency(.topologyAware, count: count, topology: topology, repeats: 101, clockCost: clockCost) * 1e6, 1)) us"
    }
    let emptyFirstFit = emptyMachineLatency(.firstFit, count: 8, topology: topology, repeats: 101, clockCost: clockCost)
    print("gpu decisions: on an empty machine (all \(topology.count) free, the most candidate sets), one topology-aware decision takes: \(empty.joined(separator: ", ")) (medians of 101); first-fit for 8 GPUs \(format(emptyFirstFit * 1e6, 3)) us")

    // 2. The simulated day: one job stream, replayed for each placer.
    let horizon = options.hours * 3600
    let offeredLoad = 1.1
    let rate = offeredLoad * Double(topology.count) / (meanGPUsPerJob * meanNominal())
    let jobs = jobStream(seed: options.seed, horizon: horizon, rate: rate)
    print("gpu day: \(format(options.hours, 1)) simulated hours from an empty machine, \(jobs.count) jobs: Poisson arrivals at \(format(rate * 3600, 1))/h, nominal run time lognormal (median 30 min, sigma 1, capped at 6 h; mean \(format(meanNominal() / 60, 1)) min), so the nominal offered load is \(format(offeredLoad, 2)) x the \(topology.count) GPUs; FIFO, head of line waits until it fits (no backfill), the same for both; \(slowdownModel); useful = nominal GPU-seconds, occupied = GPU-seconds held, each over \(topology.count) x \(format(horizon, 0)) s; jobs running at the end count pro rata")
    var useful: [Placer: Double] = [:]
    let capacity = Double(topology.count) * horizon
    for placer in Placer.allCases {
        let day = simulateDay(jobs, placer: placer, topology: topology, horizon: horizon)
        let waits = day.waits.sorted()
        let meanWait = waits.isEmpty ? 0 : waits.reduce(0, +) / Double(waits.count)
        let p95Wait = waits.isEmpty ? 0 : percentile(waits, 0.95)
        useful[placer] = day.usefulGPUSeconds / capacity
        let links = ["NV12", "NODE", "SYS"].map { "\($0) \(day.worstLinks[$0, default: 0])" }.joined(separator: ", ")
        print("gpu day: \(placer.name): \(day.completed) jobs completed, \(day.started) started, \(day.stillQueued) still queued at the end; useful utilisation \(format(100 * day.usefulGPUSeconds / capacity, 1))%, occupied \(format(100 * day.occupiedGPUSeconds / capacity, 1))%; queue wait mean \(format(meanWait / 60, 1)) min, p95 \(format(p95Wait / 60, 1)) min (jobs started); multi-GPU jobs within one NVLink island \(format(100 * Double(day.multiGPUWithinIsland) / Double(max(day.multiGPU, 1)), 1))% (slowest link of \(day.multiGPU): \(links))")
    }
    print("gpu day: useful utilisation ratio topology-aware / first-fit \(format(useful[.topologyAware]! / useful[.firstFit]!, 3))")
}
