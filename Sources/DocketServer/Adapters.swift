import DocketCore
import DocketPluginHost
import DocketScheduler
import DocketStore
import Foundation

extension SQLiteStore: SchedulerStore {
    package func commit(jobs: [Job], statuses: [JobStatusChange], consumables: [ConsumableResource]) throws(DocketError) {
        try commit(jobs: jobs, statuses: statuses.map { ($0.jobID, $0.status, $0.statusReason) }, consumables: consumables)
    }

    package func insert(newJobs: [Job]) throws(DocketError) {
        try commit(jobs: newJobs, statuses: [], areNew: true)
    }

    package func loadJobs(ids: [String]) throws(DocketError) -> [Job] { try jobs(ids: ids) }
}

/// Where each attempt's files live in the data directory. Attempt ids are stable, so the
/// paths are derived, never stored.
package struct AttemptPaths: Sendable {
    package var dataDirectory: String
    package func log(_ attemptID: String) -> String { "\(dataDirectory)/logs/\(attemptID).log" }
    package func work(_ attemptID: String) -> String { "\(dataDirectory)/work/\(attemptID)" }
    package func executorState(_ environment: String) -> String { "\(dataDirectory)/executors/\(environment)" }
}

/// Appends streamed executor output to the attempt's log file.
struct FileLogWriter: AttemptLogWriter {
    var paths: AttemptPaths

    func append(attemptID: String, stream: Int32, bytes: UnsafeRawBufferPointer) {
        let descriptor = open(paths.log(attemptID), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 { if errno == EINTR { continue } else { return } }
            offset += written
        }
    }
}

/// Drives one compute environment's executor plugin for the scheduler: prepares the attempt's
/// directories and environment, then calls start on the instance's own thread.
final class ExecutorAdapter: ExecutorPort {
    let instance: ExecutorInstance
    let paths: AttemptPaths
    let allowsRoot: Bool
    let runAsUser: String

    init(instance: ExecutorInstance, paths: AttemptPaths, allowsRoot: Bool, runAsUser: String) {
        self.instance = instance
        self.paths = paths
        self.allowsRoot = allowsRoot
        self.runAsUser = runAsUser
    }

    func launch(_ launch: AttemptLaunch) async -> LaunchOutcome {
        let job = launch.job
        let attemptID = Attempt.id(jobID: job.id, number: launch.attempt.number)
        let work = paths.work(attemptID)
        // One mkdir: the server made work/ and logs/ at start. Should they have been removed by
        // hand since, they are made again (FileManager's walk costs several calls per level).
        if mkdir(work, 0o755) != 0 && errno != EEXIST {
            for directory in [work, paths.dataDirectory + "/logs"] {
                do {
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                } catch {
                    return .retryLater("cannot create the attempt's directory \(directory): \(error)")
                }
            }
        }
        var environment = job.container.environment.map { "\($0.name)=\($0.value)" }
        environment += [
            "AWS_BATCH_JOB_ID=\(job.id)",
            "AWS_BATCH_JOB_ATTEMPT=\(launch.attempt.number)",
            "AWS_BATCH_JQ_NAME=\(launch.queue.name)",
            "AWS_BATCH_CE_NAME=\(launch.environment.name)",
        ]
        if let index = job.arrayIndex, let size = job.arraySize {
            environment += ["AWS_BATCH_JOB_ARRAY_INDEX=\(index)", "AWS_BATCH_JOB_ARRAY_SIZE=\(size)"]
        }
        if !environment.contains(where: { $0.hasPrefix("PATH=") }) {
            environment.append("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        }
        let propertiesJSON = (try? JSONEncoder().encode(job.container.properties)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
        let spec = AttemptSpec(attemptID: attemptID, attemptNumber: launch.attempt.number, jobID: job.id, jobName: job.name,
                               jobQueue: launch.queue.name, computeEnvironment: launch.environment.name,
                               argv: job.container.command, environment: environment, workDirectory: work,
                               logPath: paths.log(attemptID), resources: job.container.resources, allowsRoot: allowsRoot,
                               user: job.container.user ?? runAsUser, image: job.container.image,
                               containerPropertiesJSON: propertiesJSON)
        switch await instance.startAsync(spec) {
        case .success: return .launched
        case .failure(let refusal): return refusal.isPermanent ? .refused(refusal.message) : .retryLater(refusal.message)
        }
    }

    func terminate(attemptID: String, graceMillis: Int64) async {
        _ = await instance.terminateAsync(attemptID: attemptID, graceMillis: graceMillis)
    }
}

/// Drives one job queue's policy plugin for the scheduler (also used by the benchmarks and
/// the scheduler's tests, so they drive the real plugin the same way).
package final class PolicyAdapter: PolicyPort, @unchecked Sendable {
    // @unchecked: used only from the scheduler actor (PolicyPort's contract).
    package let instance: PolicyInstance
    private var shareKeys: [String: UInt64] = [:]

    package init(instance: PolicyInstance) { self.instance = instance }

    package func jobRunnable(_ job: QueuedJob, key: UInt64, queuePriority: Int) {
        var shareKey: UInt64 = 0
        if let share = job.shareIdentifier {
            if let known = shareKeys[share] { shareKey = known } else {
                shareKey = UInt64(shareKeys.count + 1)
                shareKeys[share] = shareKey
            }
        }
        instance.jobRunnable(PolicyJob(key: key, sequence: UInt64(job.sequence), isRetry: job.isRetry,
                                       submittedAt: job.createdAt, runnableAt: job.runnableAt,
                                       queuePriority: Int32(clamping: queuePriority), schedulingPriority: job.schedulingPriority,
                                       request: job.request, shareKey: shareKey, shareIdentifier: job.shareIdentifier))
    }

    package func jobRemoved(key: UInt64) { instance.jobRemoved(key: key) }
    package func jobStarted(key: UInt64, usage: Resources, at time: Int64) { instance.jobStarted(key: key, usage: usage, startedAt: time) }
    package func jobFinished(key: UInt64, usage: Resources, startedAt: Int64, stoppedAt: Int64) {
        instance.jobFinished(key: key, usage: usage, startedAt: startedAt, stoppedAt: stoppedAt)
    }
    package func pick(free: Resources, limit: Int) -> ArraySlice<UInt64> { instance.pick(free: free, limit: limit) }
    package func explain(key: UInt64) -> String? { instance.explain(key: key) }
    package func describeShares() -> String? { instance.describeShares() }
    package func takePreemptionRequests() -> [(key: UInt64, reason: String)] { instance.takePreemptionRequests() }
    package var mayPreempt: Bool { instance.mayPreempt }
}
