import DocketAPI
import DocketCore
import DocketPluginHost
import DocketScheduler
import DocketStore
import Foundation
import Logging

/// The composition root: configuration, store, plugins, scheduler and API, started in order
/// and stopped gracefully on SIGTERM.
package struct Server {
    package var configuration: Configuration
    package var logger: Logger

    package init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs until SIGTERM or SIGINT. Prints one line when ready.
    /// - Throws: `DocketError` for a start-up failure (store, listen address), with the fix.
    package func run() async throws {
        let clock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
        let (host, port) = try Self.parseListen(configuration.listen)
        if !Self.isLoopback(host) && configuration.accessKeys.isEmpty && !configuration.allowRemote {
            throw DocketError.invalid("server.listen", "refusing to listen on \(host): no access keys are configured, so anyone who can reach the port could run commands. Configure server.access_keys (or DOCKET_ACCESS_KEY_ID and DOCKET_SECRET_ACCESS_KEY) so that requests must be signed, listen on 127.0.0.1, or set server.allow_unauthenticated_remote: true if the network is trusted.")
        }

        // 1. Data directory and store.
        let dataDirectory = configuration.dataDirectory ?? Configuration.defaultDataDirectory
        do {
            // The attempts' directories' parents too, once here rather than at every launch.
            for directory in [dataDirectory + "/work", dataDirectory + "/logs"] {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
        } catch {
            throw DocketError(.unavailable, "cannot create the data directory \(dataDirectory): \(error.localizedDescription); pass a writable --data-dir.")
        }
        let store = try SQLiteStore(path: dataDirectory + "/docket.sqlite")
        let paths = AttemptPaths(dataDirectory: dataDirectory)
        let arns = ARNBuilder(region: configuration.region, accountID: configuration.accountID)

        // 2. Plugins: the plugins directory, then the configuration's paths. A refused file is
        // logged with its reason; the server goes on with the plugins that loaded.
        let pluginsDirectory = configuration.pluginsDirectory ?? PluginLoader.executableDirectory
        var loaded: [LoadedPlugin] = []
        var summaries: [PluginSummary] = []
        for path in PluginLoader.candidates(in: pluginsDirectory) + configuration.pluginPaths {
            do {
                let plugin = try PluginLoader.load(path: path, logger: logger)
                if loaded.contains(where: { $0.kind == plugin.kind && $0.name == plugin.name }) {
                    logger.warning("plugin \(path): a \(plugin.kind.rawValue) named '\(plugin.name)' is already loaded; this one is ignored")
                    continue
                }
                loaded.append(plugin)
                summaries.append(PluginSummary(path: path, id: plugin.id, name: plugin.name, kind: plugin.kind.rawValue,
                                               version: plugin.version, abiVersion: plugin.abiVersion))
            } catch {
                // The plugins directory defaults to the executable's, which may hold other
                // shared libraries: only files named in the configuration are worth an error.
                if configuration.pluginPaths.contains(path) || error.code != .missingEntry {
                    logger.error("\(error)")
                }
                summaries.append(PluginSummary(path: path, error: error.reason))
            }
        }

        // 3. Scheduler and plugin instances.
        let scheduler = Scheduler(store: store, lastSequence: try store.lastJobSequence(),
                                  settings: {
                                      var settings = Scheduler.Settings()
                                      settings.terminateGraceMillis = Int64(configuration.terminateGraceSeconds * 1000)
                                      return settings
                                  }(), clock: clock)
        let (events, eventSink) = AsyncStream<(String, ExecutorEvent)>.makeStream()
        let runtime = PluginRuntime(plugins: loaded, summaries: summaries, configuration: configuration, scheduler: scheduler,
                                    paths: paths, logger: logger, clock: clock, events: eventSink)
        try await Bootstrap(store: store, arns: arns, configuration: configuration, clock: clock).apply()
        let environments = try store.computeEnvironments()
        for environment in environments { try await runtime.attach(environment, strict: false) }
        // A queue from the configuration file whose policy refuses its settings stops the start,
        // as any other configuration error does; one made through the API keeps running unordered.
        for queue in try store.jobQueues() { try await runtime.attach(queue, strict: queue.isFromConfiguration) }

        // 4. Recovery: re-adopt what executors still run, fail what they lost, stop orphans.
        var running: [String: Set<String>] = [:]
        for (name, instance) in runtime.executorInstances {
            do { running[name] = Set(try instance.listRunning()) } catch { logger.error("\(error)") }
        }
        await scheduler.loadConsumableResources(try store.resources(ConsumableResource.self, kind: .consumableResource))
        // A page at a time: a start on 100,000 queued jobs holds 2,000 whole jobs at once, not all.
        var lastRecovered: Int64 = 0
        while true {
            let page = try store.activeJobs(afterSequence: lastRecovered, limit: 2_000)
            guard let last = page.last else { break }
            await scheduler.recover(page: page, runningByEnvironment: running)
            lastRecovered = last.sequence
        }
        let orphans = await scheduler.finishRecovery(runningByEnvironment: running)
        for orphan in orphans {
            logger.warning("terminating attempt \(orphan.attemptID) on '\(orphan.environment)': no job owns it")
            try? runtime.executorInstances[orphan.environment]?.terminate(attemptID: orphan.attemptID, graceMillis: 5_000)
        }
        let pump = Task {
            for await (_, event) in events {
                switch event {
                case .running(let attemptID, let detail, let time):
                    await scheduler.attemptRunning(attemptID: attemptID, detail: detail, at: time)
                case .exited(let attemptID, let exit, let time):
                    await scheduler.attemptEnded(attemptID: attemptID, end: Self.attemptEnd(exit), at: time)
                    // The attempt's scratch directory goes with it, as a container's file system
                    // does (its log stays); off this loop, which carries every report.
                    let work = paths.work(attemptID)
                    Task.detached(priority: .background) { try? FileManager.default.removeItem(atPath: work) }
                }
            }
        }
        let refresher = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                if let environments = try? store.computeEnvironments() {
                    await runtime.refreshCapacities(environments: environments)
                }
            }
        }

        // 5. The API, until a signal.
        let limits = APILimits(minimumTimeoutSeconds: configuration.minimumTimeoutSeconds, maximumArraySize: configuration.maximumArraySize,
                               maximumDependencies: configuration.maximumDependencies,
                               minimumTimeLimitSeconds: configuration.minimumTimeLimitSeconds)
        let service = try DocketService(arns: arns, limits: limits, terminateGraceSeconds: Int(configuration.terminateGraceSeconds.rounded(.up)), store: store, scheduler: scheduler, runtime: runtime, paths: paths,
                                    info: ["version": .string(DocketVersion.current), "region": .string(arns.region),
                                           "accountId": .string(arns.accountID), "dataDir": .string(dataDirectory),
                                           "defaultExecutor": .string(configuration.defaultExecutor)],
                                    clock: clock)
        // A deletion a crash interrupted is finished now.
        for environment in try store.computeEnvironments() where environment.status == "DELETING" {
            await service.finishDeleting(environment)
        }
        let dataDirectoryForLine = dataDirectory
        let listenHost = host
        let keys = configuration.accessKeys
        let noteAuthentication = !keys.isEmpty ? " (SigV4: \(keys.count) access key\(keys.count == 1 ? "" : "s"))"
            : Self.isLoopback(host) ? " (loopback only: no access keys are configured)"
            : " (WARNING: no access keys; anyone who reaches this port can run commands)"
        var api = BatchAPI(backend: service, logger: logger)
        if !keys.isEmpty { api.authenticator = SigV4Authenticator(keys: keys, region: configuration.region) }
        if let path = ProcessInfo.processInfo.environment["DOCKET_OPERATION_LOG"], !path.isEmpty {
            do { api.observer = try OperationLog(path: path) } catch {
                throw DocketError(.unavailable, "cannot append to DOCKET_OPERATION_LOG=\(path): \(error.localizedDescription); point it at a writable file or unset it.")
            }
        }
        try await api.run(host: host, port: port) { boundPort in
            // One write of the whole line, unbuffered: scripts and tests wait for it on a pipe.
            FileHandle.standardOutput.write(Data("docket server ready on http://\(listenHost):\(boundPort) data-dir=\(dataDirectoryForLine)\(noteAuthentication)\n".utf8))
        }
        pump.cancel()
        refresher.cancel()
        runtime.shutdown()
        store.close()
        logger.info("docket server stopped")
    }

    static func attemptEnd(_ exit: AttemptExit) -> AttemptEnd {
        switch exit.outcome {
        case .exitCode:
            return AttemptEnd(kind: .exited, exitCode: exit.exitCode, reason: exit.reason, startedAt: exit.startedAt, stoppedAt: exit.stoppedAt)
        case .signal:
            let reason = exit.reason ?? (exit.isOOMKilled ? "OutOfMemoryError: Container killed due to memory usage" : "Killed by signal \(exit.signal)")
            return AttemptEnd(kind: .signaled, exitCode: exit.exitCode, reason: reason, startedAt: exit.startedAt, stoppedAt: exit.stoppedAt)
        case .launchFailed:
            return AttemptEnd(kind: .launchFailed, exitCode: nil, reason: exit.reason, startedAt: exit.startedAt, stoppedAt: exit.stoppedAt)
        case .lost:
            return AttemptEnd(kind: .lost, exitCode: nil, reason: exit.reason ?? "the executor lost track of the attempt", stoppedAt: exit.stoppedAt)
        }
    }

    static func parseListen(_ listen: String) throws(DocketError) -> (String, Int) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
              (0...65535).contains(port) else {
            throw DocketError.invalid("listen", "listen address '\(listen)' is not HOST:PORT; use e.g. 127.0.0.1:8400 (port 0 picks a free port).")
        }
        var host = String(listen[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

package enum DocketVersion {
    package static let current = "0.1.0"
}
