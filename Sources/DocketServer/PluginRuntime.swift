import DocketAPI
import DocketCore
import DocketPluginHost
import DocketScheduler
import Foundation
import Logging
import Synchronization

/// The plugins a server loaded and the instances it made of them: one executor instance per
/// compute environment, one policy instance per job queue, each attached to the scheduler.
final class PluginRuntime: Sendable {
    let plugins: [LoadedPlugin]
    let summaries: [PluginSummary]
    let defaultExecutor: String
    private let scheduler: Scheduler
    private let paths: AttemptPaths
    private let configuration: Configuration
    private let logger: Logger
    private let clock: @Sendable () -> Int64
    private let events: AsyncStream<(String, ExecutorEvent)>.Continuation
    private let executors = Mutex<[String: ExecutorInstance]>([:])
    /// Each healthy executor's latest remark (capacity's notice, e.g. a drained GPU).
    private let notices = Mutex<[String: String]>([:])

    init(plugins: [LoadedPlugin], summaries: [PluginSummary], configuration: Configuration, scheduler: Scheduler,
         paths: AttemptPaths, logger: Logger, clock: @escaping @Sendable () -> Int64,
         events: AsyncStream<(String, ExecutorEvent)>.Continuation) {
        self.plugins = plugins
        self.summaries = summaries
        self.defaultExecutor = configuration.defaultExecutor
        self.configuration = configuration
        self.scheduler = scheduler
        self.paths = paths
        self.logger = logger
        self.clock = clock
        self.events = events
    }

    var executorNames: [String] { plugins.filter { $0.kind == .executor }.map(\.name) }

    func executorPlugin(named name: String) -> LoadedPlugin? {
        plugins.first { $0.kind == .executor && $0.name == name }
    }

    func policyPlugin(named name: String) -> LoadedPlugin? {
        plugins.first { $0.kind == .policy && $0.name == name }
    }

    var executorInstances: [String: ExecutorInstance] { executors.withLock { $0 } }

    private var baseSettings: [String: String] {
        ["server.data_dir": paths.dataDirectory, "server.region": configuration.region,
         "server.account_id": configuration.accountID, "server.run_as_user": configuration.runAsUser]
    }

    private func allowsRoot(_ environment: ComputeEnvironment) -> Bool {
        if configuration.computeEnvironments.first(where: { $0.name == environment.name })?.allowsRoot == true { return true }
        return environment.tags["docket:allow-root"] == "true"
    }

    /// Creates the executor instance of a compute environment and hands it to the scheduler.
    /// A compute environment whose executor cannot be created stays known, unhealthy, with the reason.
    /// - Throws: `DocketError` with the plugin's message when `strict` (API creation: nothing is stored then).
    func attach(_ environment: ComputeEnvironment, strict: Bool = true) async throws(DocketError) {
        guard let plugin = executorPlugin(named: environment.executor) else {
            let reason = "executor plugin '\(environment.executor)' is not loaded; loaded executors: \(executorNames.joined(separator: ", "))"
            if strict { throw DocketError.invalid("tags.docket:executor", reason) }
            logger.error("compute environment '\(environment.name)': \(reason)")
            await scheduler.setEnvironment(environment, port: nil, capacity: .zero, isHealthy: false, healthReason: reason)
            return
        }
        let stateDirectory = paths.executorState(environment.name)
        try? FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        var settings = baseSettings
        settings["instance.name"] = environment.name
        settings["instance.state_dir"] = stateDirectory
        let config = String(data: (try? JSONEncoder().encode(JSONValue.object(environment.executorSettings))) ?? Data("{}".utf8),
                            encoding: .utf8) ?? "{}"
        let name = environment.name
        let events = self.events
        let instance: ExecutorInstance
        let capacity: ExecutorCapacity
        do {
            instance = try ExecutorInstance(plugin: plugin, name: name, configJSON: config, settings: settings, logger: logger,
                                            clock: clock, logWriter: FileLogWriter(paths: paths),
                                            sink: { event in events.yield((name, event)) })
            capacity = try instance.capacity()
        } catch {
            if strict { throw DocketError.invalid("tags", error.reason) }
            logger.error("\(error)")
            await scheduler.setEnvironment(environment, port: nil, capacity: .zero, isHealthy: false, healthReason: error.reason)
            return
        }
        executors.withLock { $0[name] = instance }
        notices.withLock { $0[name] = capacity.notice }
        let port = ExecutorAdapter(instance: instance, paths: paths, allowsRoot: allowsRoot(environment),
                                   runAsUser: configuration.runAsUser)
        await scheduler.setEnvironment(environment, port: port, capacity: capacity.total, isHealthy: capacity.isHealthy,
                                       healthReason: capacity.healthReason)
    }

    /// Creates the policy instance of a job queue and hands it to the scheduler.
    /// With `replacingPolicy`, the queue is live: the new instance takes over its queued and
    /// running jobs (Scheduler.replacePolicy), and a refusal leaves the old instance in place.
    func attach(_ queue: JobQueue, strict: Bool = true, replacingPolicy: Bool = false) async throws(DocketError) {
        // What the user wrote that chose the plugin and its settings.
        let field = queue.isFromConfiguration ? "job_queues[\(queue.name)].policy_settings" : "schedulingPolicyArn"
        guard let plugin = policyPlugin(named: queue.policy) else {
            let reason = "scheduling policy plugin '\(queue.policy)' is not loaded; loaded policies: \(plugins.filter { $0.kind == .policy }.map(\.name).joined(separator: ", "))"
            if strict { throw DocketError.invalid(queue.isFromConfiguration ? "job_queues[\(queue.name)].policy" : field, reason) }
            logger.error("job queue '\(queue.name)': \(reason)")
            await scheduler.setQueue(queue, policy: nil)
            return
        }
        var settings = baseSettings
        settings["instance.name"] = queue.name
        let config = String(data: (try? JSONEncoder().encode(queue.policySettings)) ?? Data("{}".utf8), encoding: .utf8) ?? "{}"
        do {
            let instance = try PolicyInstance(plugin: plugin, name: queue.name, configJSON: config, settings: settings,
                                              logger: logger, clock: clock)
            if replacingPolicy {
                await scheduler.replacePolicy(queue: queue.name, policy: PolicyAdapter(instance: instance))
            } else {
                await scheduler.setQueue(queue, policy: PolicyAdapter(instance: instance))
            }
        } catch {
            if strict { throw DocketError.invalid(field, error.reason) }
            logger.error("\(error)")
            await scheduler.setQueue(queue, policy: nil)
        }
    }

    /// Refreshes every executor's capacity and health (engines go down and come back).
    func refreshCapacities(environments: [ComputeEnvironment]) async {
        for environment in environments {
            guard let instance = executorInstances[environment.name], let capacity = try? instance.capacity() else { continue }
            notices.withLock { $0[environment.name] = capacity.notice }
            let port = ExecutorAdapter(instance: instance, paths: paths, allowsRoot: allowsRoot(environment),
                                       runAsUser: configuration.runAsUser)
            await scheduler.setEnvironment(environment, port: port, capacity: capacity.total, isHealthy: capacity.isHealthy,
                                           healthReason: capacity.healthReason)
        }
    }

    /// What each healthy executor last remarked on (capacity's notice), by compute environment.
    var executorNotices: [String: String] { notices.withLock { $0 } }

    /// Every compute environment's GPUs, for those whose executor offers "docket.gpu/1": the
    /// executor's JSON document, by compute environment name.
    func gpuInventories() -> [String: String] {
        var documents: [String: String] = [:]
        for (name, instance) in executorInstances {
            do {
                if let document = try instance.describeGPUs() { documents[name] = document }
            } catch {
                logger.error("\(error)")
            }
        }
        return documents
    }

    /// Applies a changed compute environment (state, maxvCpus) to the scheduler, keeping its
    /// executor instance and the attempts it runs.
    func update(_ environment: ComputeEnvironment) async {
        if executorInstances[environment.name] == nil {
            try? await attach(environment, strict: false)
        } else {
            await refreshCapacities(environments: [environment])
        }
    }

    /// Destroys a deleted compute environment's executor instance.
    func detach(environment name: String) {
        let instance = executors.withLock { $0.removeValue(forKey: name) }
        notices.withLock { _ = $0.removeValue(forKey: name) }
        instance?.destroy()
    }

    /// Destroys every executor instance: attempts keep running for the next server to adopt.
    func shutdown() {
        let instances = executors.withLock { current in
            defer { current.removeAll() }
            return current
        }
        for instance in instances.values { instance.destroy() }
    }
}
