import DocketCore
import DocketPluginHost
@testable import DocketScheduler
import DocketServer
import Foundation
import Logging
import Synchronization
import XCTest

/// The store as the scheduler sees it, in memory: what was committed, in order.
final class MemoryStore: SchedulerStore {
    let saved = Mutex<[String: Job]>([:])
    let consumables = Mutex<[String: ConsumableResource]>([:])
    func commit(jobs: [Job], statuses: [JobStatusChange], consumables changed: [ConsumableResource]) throws(DocketError) {
        consumables.withLock { for resource in changed { $0[resource.name] = resource } }
        saved.withLock {
            for job in jobs { $0[job.id] = job }
            for change in statuses {
                $0[change.jobID]?.status = change.status
                $0[change.jobID]?.statusReason = change.statusReason
            }
        }
    }
    func loadJobs(ids: [String]) throws(DocketError) -> [Job] { saved.withLock { store in ids.compactMap { store[$0] } } }
    func status(ofJob id: String) throws(DocketError) -> JobStatus? { saved.withLock { $0[id]?.status } }
    func arrayChildCounts(of parent: String) throws(DocketError) -> [JobStatus: Int] {
        saved.withLock { jobs in Dictionary(jobs.values.filter { $0.arrayParentID == parent }.map { ($0.status, 1) }, uniquingKeysWith: +) }
    }
}

/// An executor that launches nothing and records what it was asked.
final class RecordingExecutor: ExecutorPort {
    let terminated = Mutex<[String]>([])
    func launch(_ launch: AttemptLaunch) async -> LaunchOutcome { .launched }
    func terminate(attemptID: String, graceMillis: Int64) async { terminated.withLock { $0.append(attemptID) } }
}

/// The real FIFO plugin, loaded through the ABI and driven by the server's adapter.
func makeFIFOPolicy() throws -> PolicyAdapter {
    var url = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "").deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: url.appendingPathComponent("libDocketPolicyFIFO.so").path), url.path != "/" {
        url.deleteLastPathComponent()
    }
    let plugin = try PluginLoader.load(path: url.appendingPathComponent("libDocketPolicyFIFO.so").path, logger: Logger(label: "test"))
    return PolicyAdapter(instance: try PolicyInstance(plugin: plugin, name: "q", configJSON: "{}", settings: [:],
                                                      logger: Logger(label: "test"), clock: { 0 }))
}

final class SchedulerTests: XCTestCase {
    var store = MemoryStore()
    var now: Int64 = 1_000

    func makeScheduler() -> Scheduler {
        var settings = Scheduler.Settings()
        settings.runsCyclesAutomatically = false
        return Scheduler(store: store, lastSequence: 0, settings: settings, clock: { 1_000 })
    }

    func environment(_ name: String) -> ComputeEnvironment {
        ComputeEnvironment(name: name, arn: "arn:ce/\(name)", uuid: name, executor: "fake", createdAt: 0)
    }

    func queue(_ name: String, priority: Int, environments: [String]) -> JobQueue {
        JobQueue(name: name, arn: "arn:q/\(name)", priority: priority,
                 computeEnvironmentOrder: environments.enumerated().map { ComputeEnvironmentOrder(order: $0.offset, computeEnvironment: $0.element) },
                 createdAt: 0)
    }

    func job(_ id: String, queue: String, vcpus: Int64 = 1, sequence: Int64, retries: Int = 1) -> Job {
        Job(id: id, name: id, arn: "arn:job/\(id)", queue: queue, jobDefinitionArn: "d", jobDefinitionName: "d", sequence: sequence,
            createdAt: 0, container: ContainerSpec(image: nil, command: ["true"], environment: [],
                                                   resources: Resources(vcpuMillis: vcpus * 1000, memoryMiB: 64), user: nil,
                                                   properties: .object([:])),
            retryStrategy: RetryStrategy(attempts: retries))
    }

    /// Runs cycles until one launches nothing new; returns every launch.
    func settle(_ scheduler: Scheduler) async -> [AttemptLaunch] {
        var all: [AttemptLaunch] = []
        for _ in 0..<5 { all += await scheduler.cycle() }
        return all
    }

    func testHigherPriorityQueueGetsTheSharedComputeEnvironmentFirst() async throws {
        let scheduler = makeScheduler()
        await scheduler.setEnvironment(environment("shared"), port: RecordingExecutor(), capacity: Resources(vcpuMillis: 2000, memoryMiB: 1024), isHealthy: true, healthReason: nil)
        await scheduler.setQueue(queue("low", priority: 1, environments: ["shared"]), policy: try makeFIFOPolicy())
        await scheduler.setQueue(queue("high", priority: 10, environments: ["shared"]), policy: try makeFIFOPolicy())
        try await scheduler.submit(job("low-1", queue: "low", sequence: 1))
        try await scheduler.submit(job("low-2", queue: "low", sequence: 2))
        try await scheduler.submit(job("high-1", queue: "high", sequence: 3))
        try await scheduler.submit(job("high-2", queue: "high", sequence: 4))
        let launched = await settle(scheduler).map(\.job.id)
        XCTAssertEqual(launched, ["high-1", "high-2"])
        XCTAssertEqual(store.saved.withLock { $0["low-1"]?.status }, .runnable)
    }

    func testJobsFillComputeEnvironmentsInQueueOrder() async throws {
        let scheduler = makeScheduler()
        await scheduler.setEnvironment(environment("first"), port: RecordingExecutor(), capacity: Resources(vcpuMillis: 1000, memoryMiB: 1024), isHealthy: true, healthReason: nil)
        await scheduler.setEnvironment(environment("second"), port: RecordingExecutor(), capacity: Resources(vcpuMillis: 1000, memoryMiB: 1024), isHealthy: true, healthReason: nil)
        await scheduler.setQueue(queue("q", priority: 1, environments: ["first", "second"]), policy: try makeFIFOPolicy())
        for index in 1...3 { try await scheduler.submit(job("j\(index)", queue: "q", sequence: Int64(index))) }
        let launches = await settle(scheduler)
        XCTAssertEqual(launches.map(\.job.id), ["j1", "j2"])
        XCTAssertEqual(launches.map(\.attempt.computeEnvironment), ["first", "second"])
        XCTAssertEqual(store.saved.withLock { $0["j3"]?.status }, .runnable)
    }

    func testFinishedAttemptFreesCapacityForTheNextJob() async throws {
        let scheduler = makeScheduler()
        await scheduler.setEnvironment(environment("ce"), port: RecordingExecutor(), capacity: Resources(vcpuMillis: 1000, memoryMiB: 1024), isHealthy: true, healthReason: nil)
        await scheduler.setQueue(queue("q", priority: 1, environments: ["ce"]), policy: try makeFIFOPolicy())
        try await scheduler.submit(job("a", queue: "q", sequence: 1))
        try await scheduler.submit(job("b", queue: "q", sequence: 2))
        let firstLaunch = await settle(scheduler).map(\.job.id)
        XCTAssertEqual(firstLaunch, ["a"])
        await scheduler.attemptRunning(attemptID: "a-1", detail: "pid 1", at: 1_100)
        await scheduler.attemptEnded(attemptID: "a-1", end: AttemptEnd(kind: .exited, exitCode: 0, reason: nil), at: 1_200)
        let secondLaunch = await settle(scheduler).map(\.job.id)
        XCTAssertEqual(secondLaunch, ["b"])
        let finished = try XCTUnwrap(store.saved.withLock { $0["a"] })
        XCTAssertEqual(finished.status, .succeeded)
        XCTAssertEqual(finished.attempts.first?.exitCode, 0)
        XCTAssertEqual(finished.attempts.first?.taskDetail, "pid 1")
    }

    func testFailedAttemptIsRetriedWhileAttemptsRemainThenFails() async throws {
        let scheduler = makeScheduler()
        await scheduler.setEnvironment(environment("ce"), port: RecordingExecutor(), capacity: Resources(vcpuMillis: 1000, memoryMiB: 1024), isHealthy: true, healthReason: nil)
        await scheduler.setQueue(queue("q", priority: 1, environments: ["ce"]), policy: try makeFIFOPolicy())
        try await scheduler.submit(job("r", queue: "q", sequence: 1, retries: 2))
        let first = await settle(scheduler).map(\.attempt.number)
        XCTAssertEqual(first, [1])
        await scheduler.attemptEnded(attemptID: "r-1", end: AttemptEnd(kind: .exited, exitCode: 7, reason: nil), at: 1_200)
        let second = await settle(scheduler).map(\.attempt.number)
        XCTAssertEqual(second, [2])
        await scheduler.attemptEnded(attemptID: "r-2", end: AttemptEnd(kind: .exited, exitCode: 7, reason: nil), at: 1_300)
        _ = await settle(scheduler)
        let job = try XCTUnwrap(store.saved.withLock { $0["r"] })
        XCTAssertEqual(job.status, .failed)
        XCTAssertEqual(job.attempts.map(\.exitCode), [7, 7])
        XCTAssertEqual(job.statusReason, "Essential container in task exited")
    }

    func testUnsatisfiableJobWaitsRunnableNamingTheResourceAndTheLargestOffer() async throws {
        let scheduler = makeScheduler()
        await scheduler.setEnvironment(environment("ce"), port: RecordingExecutor(), capacity: Resources(vcpuMillis: 4000, memoryMiB: 1024), isHealthy: true, healthReason: nil)
        await scheduler.setQueue(queue("q", priority: 1, environments: ["ce"]), policy: try makeFIFOPolicy())
        try await scheduler.submit(job("big", queue: "q", vcpus: 8, sequence: 1))
        let launches = await settle(scheduler)
        XCTAssertTrue(launches.isEmpty)
        let job = try XCTUnwrap(store.saved.withLock { $0["big"] })
        XCTAssertEqual(job.status, .runnable)
        XCTAssertEqual(job.statusReason, "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job asks for 8 vCPUs; the largest compute environment of job queue 'q' offers 4 vCPUs.")
    }

    func testRecoveryReadoptsListedAttemptsAndFailsLostOnes() async throws {
        let scheduler = makeScheduler()
        await scheduler.setEnvironment(environment("ce"), port: RecordingExecutor(), capacity: Resources(vcpuMillis: 2000, memoryMiB: 1024), isHealthy: true, healthReason: nil)
        await scheduler.setQueue(queue("q", priority: 1, environments: ["ce"]), policy: try makeFIFOPolicy())
        var kept = job("kept", queue: "q", sequence: 1)
        var lost = job("lost", queue: "q", sequence: 2)
        for index in [0, 1] {
            var current = index == 0 ? kept : lost
            try current.move(to: .runnable, reason: nil, at: 1)
            try current.move(to: .starting, reason: nil, at: 2)
            try current.move(to: .running, reason: nil, at: 3)
            current.attempts = [Attempt(number: 1, computeEnvironment: "ce", logStreamName: "s")]
            if index == 0 { kept = current } else { lost = current }
        }
        // The server recovers a page at a time; attempts of every page count against the orphans.
        let running: [String: Set<String>] = ["ce": ["kept-1", "stray-1"]]
        await scheduler.recover(page: [kept], runningByEnvironment: running)
        await scheduler.recover(page: [lost], runningByEnvironment: running)
        let orphans = await scheduler.finishRecovery(runningByEnvironment: running)
        XCTAssertEqual(orphans.map(\.attemptID), ["stray-1"])
        _ = await settle(scheduler)
        let failed = try XCTUnwrap(store.saved.withLock { $0["lost"] })
        XCTAssertEqual(failed.status, .failed)
        XCTAssertEqual(failed.statusReason, "Host lost: the server restarted and the executor of compute environment 'ce' no longer had attempt lost-1")
        let keptStatus = await scheduler.activeJob("kept")?.status
        XCTAssertEqual(keptStatus, .running)
        let usage = await scheduler.environmentUsage()["ce"]?.used.vcpuMillis
        XCTAssertEqual(usage, 1000, "the re-adopted attempt holds its capacity")
        await scheduler.attemptEnded(attemptID: "kept-1", end: AttemptEnd(kind: .exited, exitCode: 0, reason: nil), at: 5)
        _ = await settle(scheduler)
        XCTAssertEqual(store.saved.withLock { $0["kept"]?.status }, .succeeded)
    }

    func testAnExpiredTimeoutStopsTheAttemptAndFailsTheJobWithoutRetrying() async throws {
        let clock = Mutex<Int64>(1_000)
        var settings = Scheduler.Settings()
        settings.runsCyclesAutomatically = false
        settings.terminateGraceMillis = 7_000
        let scheduler = Scheduler(store: store, lastSequence: 0, settings: settings, clock: { clock.withLock { $0 } })
        let executor = RecordingExecutor()
        await scheduler.setEnvironment(environment("ce"), port: executor, capacity: Resources(vcpuMillis: 2000, memoryMiB: 1024), isHealthy: true, healthReason: nil)
        await scheduler.setQueue(queue("q", priority: 1, environments: ["ce"]), policy: try makeFIFOPolicy())
        var slow = job("slow", queue: "q", sequence: 1, retries: 3)
        slow.timeoutSeconds = 60
        try slow.move(to: .runnable, reason: nil, at: 1)
        try slow.move(to: .starting, reason: nil, at: 2)
        try slow.move(to: .running, reason: nil, at: 1_000)
        slow.attempts = [Attempt(number: 1, computeEnvironment: "ce", logStreamName: "s")]
        slow.attempts[0].startedAt = 1_000
        _ = await scheduler.recover(jobs: [slow], runningByEnvironment: ["ce": ["slow-1"]])

        clock.withLock { $0 = 60_999 }
        await scheduler.expireTimeouts()
        XCTAssertEqual(executor.terminated.withLock { $0 }, [], "59.999 s after RUNNING the attempt still runs")
        clock.withLock { $0 = 61_000 }
        await scheduler.expireTimeouts()
        XCTAssertEqual(executor.terminated.withLock { $0 }, ["slow-1"], "60 s after RUNNING the attempt is stopped")
        await scheduler.attemptEnded(attemptID: "slow-1", end: AttemptEnd(kind: .signaled, exitCode: 143, reason: "Killed by signal 15"), at: 61_500)
        _ = await settle(scheduler)
        let failed = try XCTUnwrap(store.saved.withLock { $0["slow"] })
        XCTAssertEqual(failed.status, .failed, "a timed-out attempt is not retried, even with attempts left")
        XCTAssertEqual(failed.statusReason, "Job attempt duration exceeded timeout")
        XCTAssertEqual(failed.attempts.count, 1)
        XCTAssertEqual(failed.attempts.first?.statusReason, "Job attempt duration exceeded timeout")
        XCTAssertFalse(failed.isTerminated)
    }

    func testATimeLimitActionCancelsTheBlockedHeadOfTheQueueAfterMaxTimeSeconds() async throws {
        let clock = Mutex<Int64>(1_000)
        var settings = Scheduler.Settings()
        settings.runsCyclesAutomatically = false
        let scheduler = Scheduler(store: store, lastSequence: 0, settings: settings, clock: { clock.withLock { $0 } })
        await scheduler.setEnvironment(environment("small"), port: RecordingExecutor(), capacity: Resources(vcpuMillis: 1000, memoryMiB: 1024), isHealthy: true, healthReason: nil)
        var limited = queue("q", priority: 1, environments: ["small"])
        limited.jobStateTimeLimitActions = [["reason": "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT", "state": "RUNNABLE",
                                             "maxTimeSeconds": 600, "action": "CANCEL"]]
        await scheduler.setQueue(limited, policy: try makeFIFOPolicy())
        try await scheduler.submit(job("huge", queue: "q", vcpus: 4, sequence: 1))
        _ = await settle(scheduler)

        await scheduler.applyTimeLimitActions()
        clock.withLock { $0 = 1_000 + 599_999 }
        await scheduler.applyTimeLimitActions()
        XCTAssertEqual(store.saved.withLock { $0["huge"]?.status }, .runnable, "blocked for just under maxTimeSeconds: still waiting")
        clock.withLock { $0 = 1_000 + 600_000 }
        await scheduler.applyTimeLimitActions()
        _ = await settle(scheduler)
        let cancelled = try XCTUnwrap(store.saved.withLock { $0["huge"] })
        XCTAssertEqual(cancelled.status, .failed)
        XCTAssertEqual(cancelled.statusReason, "Canceled by JobStateTimeLimit action due to reason: MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT")
        XCTAssertTrue(cancelled.isCancelled)
    }

    func testAJobThatOnlyWaitsForCapacityInUseIsNotBlocked() async throws {
        let scheduler = makeScheduler()
        await scheduler.setEnvironment(environment("ce"), port: RecordingExecutor(), capacity: Resources(vcpuMillis: 1000, memoryMiB: 1024), isHealthy: true, healthReason: nil)
        let plain = queue("q", priority: 1, environments: ["ce"])
        await scheduler.setQueue(plain, policy: try makeFIFOPolicy())
        let waiting = QueuedJob(job("w", queue: "q", vcpus: 1, sequence: 1))
        let reason = await scheduler.blockingReason(of: waiting, queue: plain)
        XCTAssertNil(reason)
        let tooBig = QueuedJob(job("big", queue: "q", vcpus: 2, sequence: 2))
        let bigReason = await scheduler.blockingReason(of: tooBig, queue: plain)
        XCTAssertEqual(bigReason?.hasPrefix("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - "), true)
        await scheduler.setEnvironment(environment("ce"), port: RecordingExecutor(), capacity: Resources(vcpuMillis: 1000, memoryMiB: 1024), isHealthy: false, healthReason: "engine down")
        let invalid = await scheduler.blockingReason(of: waiting, queue: plain)
        XCTAssertEqual(invalid, "ACTION_REQUIRED - CE(s) associated with the job queue are invalid.")
    }

    func testConsumableResourcesAreLockedAtStartingReturnedAtTheEndOrConsumedForGood() async throws {
        let scheduler = makeScheduler()
        await scheduler.setEnvironment(environment("ce"), port: RecordingExecutor(), capacity: Resources(vcpuMillis: 8000, memoryMiB: 8192), isHealthy: true, healthReason: nil)
        await scheduler.setQueue(queue("q", priority: 1, environments: ["ce"]), policy: try makeFIFOPolicy())
        try await scheduler.setConsumableResource(ConsumableResource(name: "licence", arn: "l", resourceType: "REPLENISHABLE", totalQuantity: 3, tags: [:], createdAt: 0))
        try await scheduler.setConsumableResource(ConsumableResource(name: "tokens", arn: "t", resourceType: "NON_REPLENISHABLE", totalQuantity: 5, tags: [:], createdAt: 0))
        var first = job("first", queue: "q", sequence: 1)
        first.consumableResources = [ConsumableResourceUse(resource: "licence", quantity: 2), ConsumableResourceUse(resource: "tokens", quantity: 4)]
        var second = job("second", queue: "q", sequence: 2)
        second.consumableResources = [ConsumableResourceUse(resource: "licence", quantity: 2)]
        try await scheduler.submit(first)
        try await scheduler.submit(second)
        let launched = await settle(scheduler).map(\.job.id)
        XCTAssertEqual(launched, ["first"], "the second job would need 2 licences while 1 is free")
        let licence = await scheduler.consumableResource(named: "licence")
        XCTAssertEqual(licence?.inUseQuantity, 2)
        XCTAssertEqual(licence?.availableQuantity, 1)
        let tokens = await scheduler.consumableResource(named: "tokens")
        XCTAssertEqual(tokens?.totalQuantity, 1, "NON_REPLENISHABLE: what a started job takes leaves the total")
        XCTAssertEqual(store.consumables.withLock { $0["licence"]?.inUseQuantity }, 2, "the lock is committed with the placement")
        let waiting = try XCTUnwrap(store.saved.withLock { $0["second"] })
        XCTAssertEqual(waiting.status, .runnable)
        XCTAssertEqual(waiting.statusReason, "RESOURCE:CONSUMABLE_RESOURCE_UNAVAILABLE - The job needs 2 of consumable resource 'licence'; 1 of 3 are available.")

        await scheduler.attemptRunning(attemptID: "first-1", detail: "pid 1", at: 1_100)
        await scheduler.attemptEnded(attemptID: "first-1", end: AttemptEnd(kind: .exited, exitCode: 0, reason: nil), at: 1_200)
        let next = await settle(scheduler).map(\.job.id)
        XCTAssertEqual(next, ["second"], "the licences came back when the first job ended")
        let tokensAfter = await scheduler.consumableResource(named: "tokens")
        XCTAssertEqual(tokensAfter?.totalQuantity, 1, "NON_REPLENISHABLE quantities never come back")
        XCTAssertEqual(store.consumables.withLock { $0["licence"]?.inUseQuantity }, 2)
    }

    func testCancelFailsRunnableJobsAndIsANoOpOnRunningOnes() async throws {
        let scheduler = makeScheduler()
        await scheduler.setEnvironment(environment("ce"), port: RecordingExecutor(), capacity: Resources(vcpuMillis: 1000, memoryMiB: 1024), isHealthy: true, healthReason: nil)
        await scheduler.setQueue(queue("q", priority: 1, environments: ["ce"]), policy: try makeFIFOPolicy())
        try await scheduler.submit(job("running", queue: "q", sequence: 1))
        try await scheduler.submit(job("waiting", queue: "q", sequence: 2))
        _ = await settle(scheduler)
        await scheduler.attemptRunning(attemptID: "running-1", detail: "", at: 1)
        try await scheduler.cancel(jobID: "running", reason: "no")
        try await scheduler.cancel(jobID: "waiting", reason: "not needed")
        _ = await settle(scheduler)
        XCTAssertEqual(store.saved.withLock { $0["running"]?.status }, .running)
        let cancelled = try XCTUnwrap(store.saved.withLock { $0["waiting"] })
        XCTAssertEqual(cancelled.status, .failed)
        XCTAssertEqual(cancelled.statusReason, "not needed")
        XCTAssertTrue(cancelled.isCancelled)
    }
}
