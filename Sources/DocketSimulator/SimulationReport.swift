import DocketCore
import Foundation

/// One simulated job, times in milliseconds from the start of the simulation.
package struct JobRecord: Sendable, Hashable, Codable {
    package var jobID: String
    package var shareIdentifier: String?
    /// The workload share that made it; nil for a traced job.
    package var shareIndex: Int?
    /// Submission order.
    package var sequence: Int64
    package var request: Resources
    package var schedulingPriority: Int
    package var submittedAt: Int64
    package var plannedDurationMillis: Int64
    /// Its attempts in order: those preempted, then the one that runs its course.
    package var attempts: [AttemptRecord] = []

    /// When its first attempt started.
    package var startedAt: Int64? { attempts.first?.startedAt }
    /// When it finished its work: its last attempt's end, unless that attempt was preempted.
    package var stoppedAt: Int64? {
        guard let last = attempts.last, last.preemption == nil else { return nil }
        return last.stoppedAt
    }
    /// How many of its attempts were preempted.
    package var preemptionCount: Int { attempts.count { $0.preemption != nil } }
    /// How long it waited to start, in seconds; nil if it never started.
    package var waitSeconds: Double? { startedAt.map { Double($0 - submittedAt) / 1000 } }
}

/// One attempt of a simulated job, times in milliseconds from the start of the simulation.
package struct AttemptRecord: Sendable, Hashable, Codable {
    /// Why and when the policy took an attempt's capacity back.
    package struct Preemption: Sendable, Hashable, Codable {
        /// The policy's reason (docket.preempt/1).
        package var reason: String
        /// The scheduler cycle (counted from 1) whose pick asked for it; the attempt ended in
        /// the same simulated instant, before the next cycle.
        package var requestedInCycle: Int
        /// The job's status in the scheduler once the attempt's end was reported (RUNNABLE: it
        /// waits to be placed again).
        package var statusAfter: JobStatus?
    }

    package var startedAt: Int64
    /// nil while it runs.
    package var stoppedAt: Int64?
    /// The scheduler cycle (counted from 1) that placed it.
    package var placedInCycle: Int
    /// Set when it was preempted.
    package var preemption: Preemption?
    /// For the attempt that ran its course: how many of the job's earlier attempts the
    /// scheduler had marked preempted when it ended (nil for the others).
    package var attemptsMarkedPreemptedByScheduler: Int?
}

/// What a simulation measured: per share, per time window, and overall.
package struct SimulationReport: Sendable, Codable {
    /// One share's totals over the simulated horizon (jobs still running at the horizon
    /// count up to it; the drain after it is not counted in the fractions).
    package struct Share: Sendable, Codable, Hashable {
        package var shareIdentifier: String
        /// The fair-share policy's weightFactor for it, when the settings give a distribution.
        package var weightFactor: Double?
        /// Its entitlement among the shares that had work: (1 / weightFactor) normalised; nil
        /// for a policy without shares.
        package var targetFraction: Double?
        /// Its part of the vCPU-seconds used before the horizon.
        package var achievedFraction: Double
        package var vcpuSeconds: Double
        package var jobsSubmitted: Int
        package var jobsFinished: Int
        package var meanWaitSeconds: Double
        package var p95WaitSeconds: Double
        package var maxWaitSeconds: Double
        /// Attempts of its jobs that the policy preempted.
        package var preemptions: Int
        /// The most vCPUs its attempts held at one time, over the whole run.
        package var peakVCPUs: Double
    }

    /// One time window.
    package struct Window: Sendable, Codable, Hashable {
        package var startSeconds: Double
        /// Used vCPU-seconds over the compute environment's vCPU-seconds in the window.
        package var utilisation: Double
        package var vcpuSecondsByShare: [String: Double]
        /// The most vCPUs each share's attempts held at one time in the window.
        package var peakVCPUsByShare: [String: Double]
    }

    package var policy: String
    package var policySettings: JSONValue
    package var vcpus: Double
    package var memoryMiB: Int64
    package var gpus: Int64
    package var horizonSeconds: Double
    /// When the last job ended (after the drain).
    package var endedAtSeconds: Double
    package var windowSeconds: Double
    package var wallSeconds: Double
    package var jobsSubmitted: Int
    package var jobsFinished: Int
    /// SUCCEEDED jobs as the scheduler stored them: equals `jobsFinished` when all went well.
    package var jobsSucceeded: Int
    package var schedulingDecisions: Int
    package var schedulerCycles: Int
    /// Attempts the policy preempted (each came back RUNNABLE and restarted from scratch).
    package var preemptions: Int
    /// Over the horizon.
    package var utilisation: Double
    package var meanWaitSeconds: Double
    package var p95WaitSeconds: Double
    package var shares: [Share]
    package var windows: [Window]
    /// Every job, in submission order (not in the JSON report: it can be large).
    package var records: [JobRecord] = []

    private enum CodingKeys: String, CodingKey {
        case policy, policySettings, vcpus, memoryMiB, gpus, horizonSeconds, endedAtSeconds, windowSeconds, wallSeconds, jobsSubmitted,
             jobsFinished, jobsSucceeded, schedulingDecisions, schedulerCycles, preemptions, utilisation, meanWaitSeconds, p95WaitSeconds, shares, windows
    }

    init(workload: Workload, policy: PolicyChoice, pluginName: String, records: [JobRecord], endedAtMillis: Int64, jobsSucceeded: Int,
         decisions: Int, cycles: Int, wallSeconds: Double) {
        let capacity = workload.computeEnvironment.resources
        let horizon = workload.horizonMillis
        let window = workload.windowSeconds * 1000
        self.policy = pluginName
        policySettings = policy.settings
        vcpus = workload.computeEnvironment.vcpus
        memoryMiB = capacity.memoryMiB
        gpus = capacity.gpus
        horizonSeconds = Double(horizon) / 1000
        endedAtSeconds = Double(endedAtMillis) / 1000
        windowSeconds = Double(window) / 1000
        self.wallSeconds = wallSeconds
        jobsSubmitted = records.count
        jobsFinished = records.count { $0.stoppedAt != nil }
        self.jobsSucceeded = jobsSucceeded
        schedulingDecisions = decisions
        schedulerCycles = cycles
        self.records = records

        preemptions = records.reduce(0) { $0 + $1.preemptionCount }

        // vCPU-milliseconds per window and share, each attempt (preempted ones too: they held
        // their capacity until stopped) split across the windows it spans.
        let windowCount = Int((horizon + window - 1) / window)
        var used = [[String: Double]](repeating: [:], count: windowCount)
        var total: [String: Double] = [:]
        var beforeHorizon: [String: Double] = [:]
        /// Per share: (time, vCPU-millis held from then on, + for a start and - for an end).
        var steps: [String: [(time: Int64, vcpuMillis: Int64)]] = [:]
        for record in records {
            let share = record.shareIdentifier ?? "(none)"
            let vcpuMillis = Double(record.request.vcpuMillis) / 1000
            for attempt in record.attempts {
                let started = attempt.startedAt
                let stopped = attempt.stoppedAt ?? endedAtMillis
                total[share, default: 0] += vcpuMillis * Double(stopped - started)
                var from = started
                while from < min(stopped, horizon) {
                    let index = Int(from / window)
                    let to = min(stopped, Int64(index + 1) * window, horizon)
                    used[index][share, default: 0] += vcpuMillis * Double(to - from) / 1000
                    from = to
                }
                beforeHorizon[share, default: 0] += vcpuMillis * Double(max(0, min(stopped, horizon) - started)) / 1000
                steps[share, default: []].append((started, record.request.vcpuMillis))
                steps[share, default: []].append((stopped, -record.request.vcpuMillis))
            }
        }
        let (peaks, windowPeaks) = Self.peaks(steps, window: window, windowCount: windowCount)
        let capacitySeconds = Double(capacity.vcpuMillis) / 1000
        windows = used.enumerated().map { index, byShare in
            let length = Double(min(window, horizon - Int64(index) * window)) / 1000
            return Window(startSeconds: Double(Int64(index) * window) / 1000,
                          utilisation: Self.total(byShare) / (capacitySeconds * length), vcpuSecondsByShare: byShare,
                          peakVCPUsByShare: windowPeaks[index])
        }
        let usedBeforeHorizon = Self.total(beforeHorizon)
        utilisation = usedBeforeHorizon / (capacitySeconds * Double(horizon) / 1000)
        let allWaits = records.compactMap(\.waitSeconds).sorted()
        meanWaitSeconds = allWaits.isEmpty ? 0 : allWaits.reduce(0, +) / Double(allWaits.count)
        p95WaitSeconds = Self.percentile(allWaits, 0.95)

        // Shares, in the workload's order, then the traced ones by name.
        var names = workload.shares.map(\.shareIdentifier)
        for record in records { if let name = record.shareIdentifier, !names.contains(name) { names.append(name) } }
        if records.contains(where: { $0.shareIdentifier == nil }) { names.append("(none)") }
        let weights = Self.weightFactors(policy.settings, pluginName: pluginName, shares: names.filter { $0 != "(none)" })
        let inverseSum = weights.sorted { $0.key < $1.key }.reduce(0) { $0 + 1 / $1.value }
        shares = names.map { name in
            let mine = records.filter { ($0.shareIdentifier ?? "(none)") == name }
            let waits = mine.compactMap(\.waitSeconds).sorted()
            let weight = weights[name]
            return Share(shareIdentifier: name, weightFactor: weight, targetFraction: weight.map { (1 / $0) / inverseSum },
                         achievedFraction: usedBeforeHorizon > 0 ? (beforeHorizon[name] ?? 0) / usedBeforeHorizon : 0,
                         vcpuSeconds: (total[name] ?? 0) / 1000, jobsSubmitted: mine.count,
                         jobsFinished: mine.count { $0.stoppedAt != nil },
                         meanWaitSeconds: waits.isEmpty ? 0 : waits.reduce(0, +) / Double(waits.count),
                         p95WaitSeconds: Self.percentile(waits, 0.95), maxWaitSeconds: waits.last ?? 0,
                         preemptions: mine.reduce(0) { $0 + $1.preemptionCount }, peakVCPUs: peaks[name] ?? 0)
        }
    }

    /// The fair-share weightFactor of each share that had work, from the settings'
    /// shareDistribution (an entry ending in "*" covers the identifiers it prefixes; a share no
    /// entry names gets 1, AWS's default); empty for a policy without shares.
    static func weightFactors(_ settings: JSONValue, pluginName: String, shares: [String]) -> [String: Double] {
        guard pluginName == "fairshare" || settings["shareDistribution"] != nil else { return [:] }
        let entries: [(String, Double)] = (settings["shareDistribution"]?.arrayValue ?? []).compactMap { entry in
            guard let name = entry["shareIdentifier"]?.stringValue else { return nil }
            return (name, entry["weightFactor"]?.doubleValue ?? 1)
        }
        var weights: [String: Double] = [:]
        for share in shares {
            let exact = entries.first { $0.0 == share }
            let prefix = entries.first { $0.0.hasSuffix("*") && share.hasPrefix(String($0.0.dropLast())) }
            weights[share] = max((exact ?? prefix)?.1 ?? 1, 1e-6)
        }
        return weights
    }

    /// The most vCPUs each share held at one time, over the run and per window (windows cover
    /// the horizon only). At one instant ends count before starts: a preempted attempt's
    /// capacity is free for the attempt placed in its stead.
    static func peaks(_ steps: [String: [(time: Int64, vcpuMillis: Int64)]], window: Int64, windowCount: Int)
        -> (overall: [String: Double], byWindow: [[String: Double]])
    {
        var overall: [String: Double] = [:]
        var byWindow = [[String: Double]](repeating: [:], count: windowCount)
        for (share, unsorted) in steps {
            let sorted = unsorted.sorted { ($0.time, $0.vcpuMillis) < ($1.time, $1.vcpuMillis) }
            var held: Int64 = 0
            var peak: Int64 = 0
            for (index, step) in sorted.enumerated() {
                held += step.vcpuMillis
                peak = max(peak, held)
                // `held` lasts until the next step; every window that span touches has seen it.
                let until = index + 1 < sorted.count ? sorted[index + 1].time : step.time
                guard until > step.time, held > 0 else { continue }
                let first = Int(step.time / window), last = min(windowCount - 1, Int((until - 1) / window))
                guard first < windowCount else { continue }
                for window in first...last {
                    byWindow[window][share] = max(byWindow[window][share] ?? 0, Double(held) / 1000)
                }
            }
            overall[share] = Double(peak) / 1000
        }
        return (overall, byWindow)
    }

    /// The sum in key order, so that a run's figures do not depend on the process's hash seed.
    static func total(_ values: [String: Double]) -> Double {
        values.sorted { $0.key < $1.key }.reduce(0) { $0 + $1.value }
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[max(0, min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1))]
    }

    // MARK: Questions tests ask

    /// The share's vCPU-seconds in windows `range` (indices into `windows`).
    package func vcpuSeconds(of share: String, windows range: Range<Int>) -> Double {
        windows[range].reduce(0) { $0 + ($1.vcpuSecondsByShare[share] ?? 0) }
    }

    /// The share's part of the vCPU-seconds used in windows `range`.
    package func fraction(of share: String, windows range: Range<Int>) -> Double {
        let all = windows[range].reduce(0) { $0 + Self.total($1.vcpuSecondsByShare) }
        return all > 0 ? vcpuSeconds(of: share, windows: range) / all : 0
    }

    /// Mean utilisation over windows `range`.
    package func utilisation(windows range: Range<Int>) -> Double {
        range.isEmpty ? 0 : windows[range].reduce(0) { $0 + $1.utilisation } / Double(range.count)
    }

    package func share(_ name: String) -> Share? { shares.first { $0.shareIdentifier == name } }
}

extension SimulationReport {
    /// The human-readable report: totals, then one row per share.
    package var text: String {
        var lines: [String] = []
        let days = horizonSeconds / 86_400
        lines.append("Simulated \(Self.format(days, 2)) days (\(Self.format(horizonSeconds / 3600, 1)) h, drained by hour \(Self.format(endedAtSeconds / 3600, 1))) in \(Self.format(wallSeconds, 2)) s of wall time.")
        lines.append("Policy \(policy) \(String(decoding: policySettings.serialized(), as: UTF8.self)); compute environment \(Self.format(vcpus, 0)) vCPUs, \(memoryMiB) MiB, \(gpus) GPUs.")
        let hourly = windows.map(\.utilisation)
        lines.append("Jobs: \(jobsSubmitted) submitted, \(jobsFinished) finished (\(jobsSucceeded) SUCCEEDED in the scheduler's store), \(jobsSubmitted - jobsFinished) unfinished; \(schedulingDecisions) placements in \(schedulerCycles) cycles; \(preemptions) attempts preempted.")
        lines.append("Utilisation \(Self.percent(utilisation)) over the horizon (per \(Self.format(windowSeconds, 0)) s window: min \(Self.percent(hourly.min() ?? 0)), max \(Self.percent(hourly.max() ?? 0))); wait mean \(Self.duration(meanWaitSeconds)), p95 \(Self.duration(p95WaitSeconds)).")
        lines.append("")
        let header = ["SHARE", "WEIGHT", "TARGET", "ACHIEVED", "VCPU-HOURS", "JOBS", "FINISHED", "MEAN WAIT", "P95 WAIT", "MAX WAIT", "PEAK VCPUS", "PREEMPTED"]
        let rows = shares.map { share in
            [share.shareIdentifier, share.weightFactor.map { Self.format($0, 3) } ?? "-", share.targetFraction.map(Self.percent) ?? "-",
             Self.percent(share.achievedFraction), Self.format(share.vcpuSeconds / 3600, 1), String(share.jobsSubmitted),
             String(share.jobsFinished), Self.duration(share.meanWaitSeconds), Self.duration(share.p95WaitSeconds),
             Self.duration(share.maxWaitSeconds), Self.format(share.peakVCPUs, share.peakVCPUs.rounded() == share.peakVCPUs ? 0 : 3),
             String(share.preemptions)]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        for row in [header] + rows {
            lines.append(row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
        }
        if shares.contains(where: { $0.targetFraction != nil }) {
            lines.append("")
            lines.append("TARGET is a share's entitlement from its weightFactor among the shares with work (what it gets while all of them are busy); ACHIEVED is its part of the vCPU-seconds used before the horizon.")
        }
        return lines.joined(separator: "\n")
    }

    static func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
    static func percent(_ value: Double) -> String { format(value * 100, 1) + "%" }
    static func duration(_ seconds: Double) -> String {
        seconds < 120 ? format(seconds, 0) + " s" : seconds < 7_200 ? format(seconds / 60, 1) + " min" : format(seconds / 3600, 1) + " h"
    }
}
