import DocketCore
import DocketPluginHost
import DocketScheduler
import DocketServer
import Foundation
import Logging

/// A simulation of Docket's scheduling: the real `Scheduler` and a real policy plugin (loaded
/// through the C ABI like the server loads it) on a virtual clock, one job queue on one
/// compute environment, and an executor that runs each attempt for its planned duration in
/// simulated time. A simulated week takes seconds.
///
/// The event loop, at each step:
///   1. advances the clock to the next event (an exit or an arrival);
///   2. reports the exits due to the scheduler (attemptEnded), which frees their capacity;
///   3. submits the jobs that arrive, and tops up the backlogged shares;
///   4. runs scheduler cycles until one launches nothing and preempts nothing; each launch
///      goes to the virtual executor, which schedules its exit, and is reported RUNNING at once
///      (attemptRunning); each preemption the cycle's pick asked for (docket.preempt/1, the
///      quota policy's) is terminated at once and its end reported as a kill, so the job is
///      RUNNABLE again before the next cycle, and restarts from scratch when placed again.
/// After the last arrival the queue drains, unless `drainsQueue` is false.
///
/// Each `run()` starts afresh (a new scheduler, store, executor and policy instance); one run
/// at a time: the type is not Sendable.
package final class Simulation {
    /// Where simulated time starts: 2026-01-01T00:00:00Z (policies treat 0 as "unknown").
    package static let startEpochMillis: Int64 = 1_767_225_600_000

    package let workload: Workload
    package let policy: PolicyChoice
    /// Where the policy plugin is looked for; nil: beside the running executable, or in a
    /// directory above it (a test bundle sits below the build directory).
    package let pluginsDirectory: String?
    /// Run after the horizon until every submitted job has finished.
    package var drainsQueue = true
    private let logger: Logger

    /// - Parameters:
    ///   - policy: the policy to use; nil: the workload's, else FIFO.
    package init(workload: Workload, policy: PolicyChoice? = nil, pluginsDirectory: String? = nil, logger: Logger) {
        self.workload = workload
        self.policy = policy ?? workload.policy ?? PolicyChoice()
        self.pluginsDirectory = pluginsDirectory
        self.logger = logger
    }

    /// Runs the simulation to the end and reports what happened.
    /// - Throws: `SimulationError(.invalidWorkload)` for a workload that breaks a rule,
    ///   `.policyUnavailable` when the policy plugin cannot be loaded or refuses its settings,
    ///   `.schedulerFailed` when the scheduler refuses a submission.
    package func run() async throws(SimulationError) -> SimulationReport {
        try workload.validate()
        let began = ContinuousClock.now
        let start = Self.startEpochMillis
        let horizon = start + workload.horizonMillis
        let capacity = workload.computeEnvironment.resources
        let clock = VirtualClock(startingAt: start)
        let instance = try PolicyLocator(directory: pluginsDirectory, logger: logger)
            .instance(policy, capacity: capacity, clock: clock)
        defer { instance.destroy() }

        let store = SimulatedStore()
        let executor = VirtualExecutor(clock: clock)
        var settings = Scheduler.Settings()
        settings.runsCyclesAutomatically = false
        let scheduler = Scheduler(store: store, lastSequence: 0, settings: settings, clock: { clock.now })
        let environment = ComputeEnvironment(name: "simulated", arn: "arn:docket:simulation:compute-environment/simulated",
                                             uuid: "simulated", executor: "simulated", createdAt: start)
        let queue = JobQueue(name: "simulated", arn: "arn:docket:simulation:job-queue/simulated", priority: 1,
                             computeEnvironmentOrder: [ComputeEnvironmentOrder(order: 1, computeEnvironment: environment.name)],
                             policy: instance.plugin.name, policySettings: policy.settings, createdAt: start)
        await scheduler.setEnvironment(environment, port: executor, capacity: capacity, isHealthy: true, healthReason: nil)
        let queuePolicy = SimulatedPolicy(adapter: PolicyAdapter(instance: instance))
        await scheduler.setQueue(queue, policy: queuePolicy)

        var generator = WorkloadGenerator(workload: workload, start: start)
        var records: [JobRecord] = []
        /// Jobs waiting to start (first time or after a preemption): job id -> index in `records`.
        var waitingRecords: [String: Int] = [:]
        /// Attempts terminated for a preemption whose end is not reported yet, by attempt id.
        var preemptions: [String: AttemptRecord.Preemption] = [:]
        var cycles = 0

        func submit(_ arrivals: [WorkloadGenerator.Arrival], at now: Int64) async throws(SimulationError) {
            for arrival in arrivals {
                let index = records.count
                let id = "\(arrival.shareIdentifier ?? "job")-\(index + 1)"
                let job = Job(id: id, name: id, arn: "arn:docket:simulation:job/\(id)", queue: queue.name,
                              jobDefinitionArn: "arn:docket:simulation:job-definition/simulated:1", jobDefinitionName: "simulated",
                              sequence: Int64(index + 1), createdAt: now,
                              container: ContainerSpec(image: nil, command: ["simulated"], environment: [], resources: arrival.request,
                                                       user: nil, properties: .object([:])),
                              retryStrategy: RetryStrategy(attempts: 1), shareIdentifier: arrival.shareIdentifier,
                              schedulingPriority: arrival.schedulingPriority)
                records.append(JobRecord(jobID: id, shareIdentifier: arrival.shareIdentifier, shareIndex: arrival.shareIndex,
                                         sequence: Int64(index + 1), request: arrival.request, schedulingPriority: arrival.schedulingPriority,
                                         submittedAt: now - start, plannedDurationMillis: arrival.durationMillis))
                waitingRecords[id] = index
                executor.plan(jobID: id, VirtualExecutor.Plan(record: index, durationMillis: arrival.durationMillis))
                do {
                    try await scheduler.submit(job)
                } catch {
                    throw SimulationError(.schedulerFailed, "the scheduler refused simulated job \(id): \(error.message)", cause: error)
                }
            }
        }

        /// Reports the exits due by `now` to the scheduler: a planned end as a clean exit, a
        /// terminated attempt as killed (the scheduler puts a preempted job back RUNNABLE).
        /// - Returns: how many were reported.
        func reportExits(dueBy now: Int64) async -> Int {
            let due = executor.exits(dueBy: now)
            for (time, exit) in due {
                let last = records[exit.record].attempts.count - 1
                records[exit.record].attempts[last].stoppedAt = time - start
                if exit.wasTerminated {
                    await scheduler.attemptEnded(attemptID: exit.attemptID,
                                                 end: AttemptEnd(kind: .signaled, exitCode: nil, reason: "Killed by signal 15 (SIGTERM)",
                                                                 startedAt: exit.startedAt, stoppedAt: time),
                                                 at: time)
                    var preemption = preemptions.removeValue(forKey: exit.attemptID)
                        ?? AttemptRecord.Preemption(reason: "terminated", requestedInCycle: cycles)
                    preemption.statusAfter = await scheduler.status(ofJob: exit.jobID)
                    records[exit.record].attempts[last].preemption = preemption
                    waitingRecords[exit.jobID] = exit.record
                    if let share = records[exit.record].shareIndex { generator.requeued(shareIndex: share) }
                } else {
                    if last > 0 {
                        let marked = await scheduler.activeJob(exit.jobID)?.attempts.count(where: \.wasPreempted)
                        records[exit.record].attempts[last].attemptsMarkedPreemptedByScheduler = marked
                    }
                    await scheduler.attemptEnded(attemptID: exit.attemptID,
                                                 end: AttemptEnd(kind: .exited, exitCode: 0, reason: nil, startedAt: exit.startedAt, stoppedAt: time),
                                                 at: time)
                }
            }
            return due.count
        }

        while true {
            // 1. The next event; none left means every job has finished.
            let candidates = [executor.nextExitTime, generator.nextTime].compactMap { $0 }
            guard let now = candidates.min() else { break }
            if !drainsQueue && now >= horizon { break }
            clock.advance(to: now)
            // 2. Exits first, so their capacity is free for this step's placements.
            _ = await reportExits(dueBy: now)
            // 3. Arrivals, then backlogged shares topped up.
            try await submit(generator.arrivals(dueBy: now), at: now)
            try await submit(generator.topUp(at: now), at: now)
            // 4. Cycles until one starts nothing and preempts nothing. A preemption the cycle's
            //    pick asked for ends its attempt now, so the next cycle, at the same simulated
            //    time, can place the job the capacity was taken back for.
            while true {
                let launches = await scheduler.cycle()
                cycles += 1
                for launch in launches {
                    guard case .launched = await executor.launch(launch) else { continue }
                    guard let record = waitingRecords.removeValue(forKey: launch.job.id) else { continue }
                    records[record].attempts.append(AttemptRecord(startedAt: now - start, placedInCycle: cycles))
                    if let share = records[record].shareIndex { generator.started(shareIndex: share) }
                    await scheduler.attemptRunning(attemptID: Attempt.id(jobID: launch.job.id, number: launch.attempt.number),
                                                   detail: "simulated", at: now)
                }
                for (jobID, reason) in queuePolicy.takePreemptions() {
                    guard let attemptID = executor.runningAttempt(ofJob: jobID) else { continue }
                    preemptions[attemptID] = AttemptRecord.Preemption(reason: reason, requestedInCycle: cycles)
                    await executor.terminate(attemptID: attemptID, graceMillis: settings.terminateGraceMillis)
                }
                let ended = await reportExits(dueBy: now)
                if launches.isEmpty && ended == 0 { break }
                try await submit(generator.topUp(at: now), at: now)
            }
        }
        _ = await scheduler.cycle()  // commits the last exits, so the store's statuses are final
        let succeeded = store.statusCounts()[.succeeded] ?? 0
        let decisions = await scheduler.decisions
        let elapsed = ContinuousClock.now - began
        let wallSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return SimulationReport(workload: workload, policy: policy, pluginName: instance.plugin.name, records: records,
                                endedAtMillis: clock.now - start, jobsSucceeded: succeeded, decisions: decisions, cycles: cycles,
                                wallSeconds: wallSeconds)
    }
}

/// Finds and creates the policy instance: by plugin name in the plugins directory, or a path.
struct PolicyLocator {
    var directory: String?
    var logger: Logger

    /// The file names of the policies shipped with Docket, by plugin name.
    static let shippedFiles = ["fifo": "libDocketPolicyFIFO.so", "fairshare": "libDocketPolicyFairShare.so", "quota": "libDocketPolicyQuota.so"]

    func instance(_ choice: PolicyChoice, capacity: Resources, clock: VirtualClock) throws(SimulationError) -> PolicyInstance {
        let path = try locate(choice.name)
        var settings = choice.settings
        do {
            let plugin = try PluginLoader.load(path: path, logger: logger)
            // The fair-share plugin sizes its compute reservation from the queue's capacity,
            // which a server learns from its executors; here it is the simulated one.
            if plugin.name == "fairshare", settings["capacityVcpuMillis"] == nil {
                settings = settings.setting("capacityVcpuMillis", .number(Double(capacity.vcpuMillis)))
            }
            // The quota plugin states shares' limits as parts of the queue's capacity (explain's
            // targetPercent) from the same source.
            if plugin.name == "quota", settings["capacity"] == nil {
                settings = settings.setting("capacity", .object(["vcpuMillis": .number(Double(capacity.vcpuMillis)),
                                                                 "memoryMiB": .number(Double(capacity.memoryMiB)),
                                                                 "gpus": .number(Double(capacity.gpus))]))
            }
            let json = String(decoding: settings.serialized(), as: UTF8.self)
            return try PolicyInstance(plugin: plugin, name: "simulated", configJSON: json, settings: [:], logger: logger,
                                      clock: { clock.now })
        } catch {
            throw SimulationError(.policyUnavailable, "policy '\(choice.name)': \(error.reason)", field: "policy", cause: error)
        }
    }

    /// The plugin file for a name or path.
    func locate(_ name: String) throws(SimulationError) -> String {
        if name.contains("/") {
            guard FileManager.default.fileExists(atPath: name) else {
                throw SimulationError(.policyUnavailable, "policy plugin '\(name)' does not exist; give the path of a policy plugin's .so file.", field: "policy")
            }
            return name
        }
        let starts = directory.map { [$0] } ?? Self.directoriesAboveExecutable()
        for candidate in starts {
            if let file = Self.shippedFiles[name], FileManager.default.fileExists(atPath: candidate + "/" + file) {
                return candidate + "/" + file
            }
            for path in PluginLoader.candidates(in: candidate) {
                guard let plugin = try? PluginLoader.load(path: path, runOnLoad: false, logger: logger) else { continue }
                if plugin.kind == .policy && plugin.name == name { return path }
            }
        }
        let searched = directory ?? PluginLoader.executableDirectory
        let known = Self.shippedFiles.keys.sorted().joined(separator: ", ")
        throw SimulationError(.policyUnavailable, "no policy plugin named '\(name)' in \(searched); use one of \(known) (built by `swift build`), give --plugins-dir, or give the path of the plugin's .so file.", field: "policy")
    }

    /// The running executable's directory and those above it (a test binary sits inside a
    /// bundle in the build directory, where the plugins are).
    static func directoriesAboveExecutable() -> [String] {
        var url = URL(fileURLWithPath: PluginLoader.executableDirectory)
        var directories: [String] = []
        while url.path != "/" && directories.count < 6 {
            directories.append(url.path)
            url.deleteLastPathComponent()
        }
        return directories
    }
}
