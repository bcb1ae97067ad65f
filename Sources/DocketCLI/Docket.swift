import ArgumentParser
import DocketCore
import DocketPluginHost
import DocketServer
import DocketSimulator
import Foundation
import Logging

@main
struct Docket: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "docket",
        abstract: "AWS Batch for your own hardware.",
        discussion: "Client commands talk to a running `docket server` at --endpoint or $DOCKET_ENDPOINT (default http://127.0.0.1:8400).",
        subcommands: [ServerCommand.self, Submit.self, Jobs.self, Describe.self, Logs.self, Events.self, Wait.self, Cancel.self,
                      Terminate.self, Plugins.self, GPUs.self, Why.self, Simulate.self])

    /// Runs a client command, turning CLIError into its message on stderr and its exit code.
    static func runClient(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as CLIError {
            FileHandle.standardError.write(Data((error.message + "\n").utf8))
            throw ExitCode(error.exitCode)
        }
    }
}

struct EndpointOption: ParsableArguments {
    @Option(name: .long, help: "The server's URL (default: $DOCKET_ENDPOINT, else http://127.0.0.1:8400).")
    var endpoint: String?

    func client() throws -> APIClient { try APIClient.resolve(endpoint) }
}

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "server", abstract: "Run the Docket server in the foreground.")

    @Option(help: "A YAML configuration file.") var config: String?
    @Option(name: .customLong("data-dir"), help: "Where the store, logs and attempt directories live.") var dataDir: String?
    @Option(help: "HOST:PORT to listen on (default 127.0.0.1:8400; port 0 picks a free one).") var listen: String?
    @Option(name: .customLong("plugins-dir"), help: "Where to load plugins from (default: beside the docket executable).") var pluginsDir: String?

    func run() async throws {
        var configuration = Configuration()
        do {
            if let config { configuration = try Configuration.load(path: config) }
            try configuration.addAccessKey(fromEnvironment: ProcessInfo.processInfo.environment)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(78)
        }
        if let dataDir { configuration.dataDirectory = dataDir }
        if let listen { configuration.listen = listen }
        if let pluginsDir { configuration.pluginsDirectory = pluginsDir }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["DOCKET_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
        do {
            try await Server(configuration: configuration, logger: Logger(label: "docket")).run()
        } catch let error as DocketError {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Submit a job; prints its id.",
                                                    discussion: "Example: docket submit --name hello -- echo hello")
    @OptionGroup var endpoint: EndpointOption
    @Option(help: "Job queue name or ARN.") var queue = "default"
    @Option(help: "Job name (letters, digits, - and _).") var name = "job"
    @Option(help: "Job definition: name, name:revision or ARN.") var definition = "default"
    @Option(help: "vCPUs to reserve (overrides the definition).") var vcpus: Double?
    @Option(help: "Memory limit in MiB (overrides the definition).") var memory: Int?
    @Option(name: .customLong("env"), help: "Environment variable NAME=VALUE (repeatable).") var environment: [String] = []
    @Option(help: "Attempts in all, 1 to 10 (retryStrategy.attempts; default: the definition's, else 1).") var attempts: Int?
    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.") var command: [String] = []

    func run() async throws {
        try await Docket.runClient {
            let argv = command
            var overrides: [String: JSONValue] = [:]
            if !argv.isEmpty { overrides["command"] = .array(argv.map(JSONValue.string)) }
            var requirements: [JSONValue] = []
            if let vcpus { requirements.append(["type": "VCPU", "value": .string(ContainerResolution.formatVCPUValue(Int64((vcpus * 1000).rounded())))]) }
            if let memory { requirements.append(["type": "MEMORY", "value": .string(String(memory))]) }
            if !requirements.isEmpty { overrides["resourceRequirements"] = .array(requirements) }
            var variables: [JSONValue] = []
            for pair in environment {
                guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                    throw CLIError(message: "error: --env '\(pair)' is not NAME=VALUE; write e.g. --env GREETING=hello.", exitCode: 64)
                }
                variables.append(["name": .string(String(pair[..<equals])), "value": .string(String(pair[pair.index(after: equals)...]))])
            }
            if !variables.isEmpty { overrides["environment"] = .array(variables) }
            var body: [String: JSONValue] = ["jobName": .string(name), "jobQueue": .string(queue), "jobDefinition": .string(definition)]
            if !overrides.isEmpty { body["containerOverrides"] = .object(overrides) }
            if let attempts { body["retryStrategy"] = ["attempts": .number(Double(attempts))] }
            let answer = try await endpoint.client().call("SubmitJob", .object(body))
            print(answer["jobId"]?.stringValue ?? "")
        }
    }
}

struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List a queue's jobs as a table.")
    @OptionGroup var endpoint: EndpointOption
    @Option(help: "Job queue name or ARN.") var queue = "default"
    @Option(help: "Only jobs in this status (SUBMITTED, PENDING, RUNNABLE, STARTING, RUNNING, SUCCEEDED, FAILED).") var status: String?

    func run() async throws {
        try await Docket.runClient {
            let statuses: [String]
            if let status {
                guard JobStatus(rawValue: status.uppercased()) != nil else {
                    throw CLIError(message: "error: --status '\(status)' is not one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", ")).", exitCode: 64)
                }
                statuses = [status.uppercased()]
            } else {
                statuses = JobStatus.allCases.map(\.rawValue)
            }
            var rows: [[String]] = []
            for status in statuses {
                var token: JSONValue?
                repeat {
                    var body: [String: JSONValue] = ["jobQueue": .string(queue), "jobStatus": .string(status), "maxResults": 1000]
                    if let token { body["nextToken"] = token }
                    let answer = try await endpoint.client().call("ListJobs", .object(body))
                    for summary in answer["jobSummaryList"]?.arrayValue ?? [] {
                        rows.append([summary["jobId"]?.stringValue ?? "", summary["jobName"]?.stringValue ?? "",
                                     summary["status"]?.stringValue ?? "",
                                     summary["createdAt"]?.intValue.map(Self.time) ?? "",
                                     summary["container"]?["exitCode"]?.intValue.map(String.init) ?? "",
                                     String(Int(summary["createdAt"]?.intValue ?? 0))])
                    }
                    token = answer["nextToken"]
                } while token?.stringValue != nil
            }
            rows.sort { ($0[5], $0[0]) < ($1[5], $1[0]) }
            printTable(header: ["JOB ID", "NAME", "STATUS", "CREATED", "EXIT"], rows: rows.map { Array($0.prefix(5)) })
        }
    }

    static func time(_ millis: Int64) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }
}

func printTable(header: [String], rows: [[String]]) {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    for row in [header] + rows {
        print(row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
            .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
    }
}

struct Describe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a job (DescribeJobs' shape with --json).")
    @OptionGroup var endpoint: EndpointOption
    @Argument(help: "Job id or ARN.") var job: String
    @Flag(help: "Print the job as DescribeJobs returns it.") var json = false

    func run() async throws {
        try await Docket.runClient {
            let detail = try await fetchJob(job, client: endpoint.client())
            if json {
                try printJSON(detail)
                return
            }
            print("Job:        \(detail["jobName"]?.stringValue ?? "") (\(detail["jobId"]?.stringValue ?? ""))")
            print("Status:     \(detail["status"]?.stringValue ?? "")")
            if let reason = detail["statusReason"]?.stringValue { print("Reason:     \(reason)") }
            print("Queue:      \(detail["jobQueue"]?.stringValue ?? "")")
            print("Definition: \(detail["jobDefinition"]?.stringValue ?? "")")
            if let command = detail["container"]?["command"]?.arrayValue {
                print("Command:    \(command.compactMap(\.stringValue).joined(separator: " "))")
            }
            for (index, attempt) in (detail["attempts"]?.arrayValue ?? []).enumerated() {
                let exit = attempt["container"]?["exitCode"]?.intValue.map { "exit \($0)" } ?? "no exit code"
                let reason = attempt["container"]?["reason"]?.stringValue.map { ", \($0)" } ?? ""
                print("Attempt \(index + 1):  \(exit)\(reason); \(attempt["statusReason"]?.stringValue ?? "")")
                // What ran it: "pid 4242", a container, and the GPUs it held.
                if let task = attempt["container"]?["taskArn"]?.stringValue { print("            \(task)") }
            }
        }
    }
}

/// Prints a value as indented JSON with sorted keys (the `--json` output of every command).
func printJSON<Value: Encodable>(_ value: Value) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// DescribeJobs for one job, or a CLIError naming it.
func fetchJob(_ reference: String, client: APIClient) async throws -> JSONValue {
    let answer = try await client.call("DescribeJobs", ["jobs": [.string(reference)]])
    guard let detail = answer["jobs"]?.arrayValue?.first else {
        throw CLIError(message: "error: job '\(reference)' does not exist; list jobs with `docket jobs`.")
    }
    return detail
}

struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a job attempt's output.")
    @OptionGroup var endpoint: EndpointOption
    @Argument(help: "Job id or ARN.") var job: String
    @Option(help: "Attempt number (default: the latest).") var attempt: Int?
    @Flag(help: "Keep printing output as it comes until the attempt ends.") var follow = false

    func run() async throws {
        try await Docket.runClient {
            let client = try endpoint.client()
            var offset: Int64 = 0
            while true {
                var query = [URLQueryItem(name: "offset", value: String(offset)), URLQueryItem(name: "limit", value: "1048576")]
                if let attempt { query.append(URLQueryItem(name: "attempt", value: String(attempt))) }
                let slice = try await client.get("docket/v1/jobs/\(job)/logs", query: query)
                if let text = slice["data"]?.stringValue, !text.isEmpty {
                    FileHandle.standardOutput.write(Data(text.utf8))
                }
                let next = slice["nextOffset"]?.intValue ?? offset
                let complete = slice["complete"]?.boolValue ?? true
                if !follow || (complete && next == offset) { break }
                if next == offset { try await Task.sleep(for: .milliseconds(250)) }
                offset = next
            }
        }
    }
}

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the job state change log, one JSON event per line (AWS's Batch Job State Change shape).",
        discussion: "Each line is {\"cursor\": N, \"event\": {...}}; pass the last cursor to --after to resume.")
    @OptionGroup var endpoint: EndpointOption
    @Option(help: "Print the events after this cursor (default 0: from the beginning).") var after: Int64 = 0
    @Flag(help: "Keep waiting for new events until interrupted.") var follow = false

    func run() async throws {
        try await Docket.runClient {
            let client = try endpoint.client()
            var cursor = after
            while true {
                let page = try await client.get("docket/v1/events", query: [
                    URLQueryItem(name: "after", value: String(cursor)), URLQueryItem(name: "wait", value: follow ? "25" : "0"),
                ])
                let events = page["events"]?.arrayValue ?? []
                for event in events { FileHandle.standardOutput.write(Data(event.serialized() + [0x0A])) }
                cursor = page["nextCursor"]?.intValue ?? cursor
                if !follow && events.count < 1_000 { break }
            }
        }
    }
}

struct Wait: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Wait for a job to end; exit 0 only if it SUCCEEDED.")
    @OptionGroup var endpoint: EndpointOption
    @Argument(help: "Job id or ARN.") var job: String
    @Option(help: "Give up after this many seconds (exit 124).") var timeout: Double?

    func run() async throws {
        try await Docket.runClient {
            let client = try endpoint.client()
            let deadline = timeout.map { Date().addingTimeInterval($0) }
            while true {
                let detail = try await fetchJob(job, client: client)
                let status = detail["status"]?.stringValue ?? ""
                if status == "SUCCEEDED" { print("SUCCEEDED"); return }
                if status == "FAILED" {
                    print("FAILED: \(detail["statusReason"]?.stringValue ?? "no reason given")")
                    throw ExitCode(1)
                }
                if let deadline, Date() > deadline {
                    throw CLIError(message: "error: job \(job) is still \(status) after \(timeout!) seconds.", exitCode: 124)
                }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }
}

struct Cancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cancel a job that has not started (CancelJob).")
    @OptionGroup var endpoint: EndpointOption
    @Argument(help: "Job id or ARN.") var job: String
    @Option(help: "Why; shown as the job's statusReason.") var reason: String

    func run() async throws {
        try await Docket.runClient {
            _ = try await endpoint.client().call("CancelJob", ["jobId": .string(job), "reason": .string(reason)])
        }
    }
}

struct Terminate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Terminate a job, stopping it if it runs (TerminateJob).")
    @OptionGroup var endpoint: EndpointOption
    @Argument(help: "Job id or ARN.") var job: String
    @Option(help: "Why; shown as the job's statusReason.") var reason: String

    func run() async throws {
        try await Docket.runClient {
            _ = try await endpoint.client().call("TerminateJob", ["jobId": .string(job), "reason": .string(reason)])
        }
    }
}

struct Why: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Say why a job is not running: ranked reasons with the numbers.",
        discussion: "Dependencies, a disabled queue or compute environment, an executor that cannot run jobs, resources asked vs free on each compute environment, consumable resources, and the job's place in its queue's policy (share usage against its target on a fair-share queue).")
    @OptionGroup var endpoint: EndpointOption
    @Argument(help: "Job id or ARN.") var job: String
    @Flag(help: "Print the server's answer (GET /docket/v1/jobs/JOB/why) as JSON.") var json = false

    func run() async throws {
        try await Docket.runClient {
            let id = job.split(separator: "/").last.map(String.init) ?? job
            let answer = try await endpoint.client().get("docket/v1/jobs/\(id)/why")
            if json {
                try printJSON(answer)
                return
            }
            let status = answer["status"]?.stringValue ?? ""
            let queue = answer["jobQueue"]?.stringValue.map { " in job queue \($0)" } ?? ""
            print("Job \(answer["jobId"]?.stringValue ?? id) is \(status)\(queue).")
            for (index, reason) in (answer["reasons"]?.arrayValue ?? []).enumerated() {
                print("\(index + 1). [\(reason["kind"]?.stringValue ?? "")] \(reason["message"]?.stringValue ?? "")")
            }
        }
    }
}

struct GPUs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpus", abstract: "List each compute environment's GPUs: index, UUID, model, NUMA node, health and the job holding it.",
        discussion: "Only compute environments whose executor owns GPUs (docket:executor=gpu) are listed.")
    @OptionGroup var endpoint: EndpointOption
    @Flag(help: "Print the server's answer (GET /docket/v1/gpus) as JSON.") var json = false

    func run() async throws {
        try await Docket.runClient {
            let answer = try await endpoint.client().get("docket/v1/gpus")
            if json {
                try printJSON(answer)
                return
            }
            var rows: [[String]] = []
            for environment in answer["computeEnvironments"]?.arrayValue ?? [] {
                let name = environment["computeEnvironmentName"]?.stringValue ?? ""
                for gpu in environment["gpus"]?.arrayValue ?? [] {
                    let health = gpu["health"]?.stringValue ?? ""
                    rows.append([name, gpu["index"]?.intValue.map(String.init) ?? "-", gpu["uuid"]?.stringValue ?? "",
                                 gpu["model"]?.stringValue ?? "", gpu["numaNode"]?.intValue.map(String.init) ?? "-",
                                 gpu["healthReason"]?.stringValue.map { "\(health): \($0)" } ?? health,
                                 gpu["jobId"]?.stringValue ?? "-"])
                }
            }
            guard !rows.isEmpty else {
                print("No compute environment has GPUs. Give one the tag docket:executor=gpu (see plugins/executor-gpu/README.md).")
                return
            }
            printTable(header: ["COMPUTE ENVIRONMENT", "INDEX", "UUID", "MODEL", "NUMA", "HEALTH", "JOB"], rows: rows)
        }
    }
}

struct Plugins: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List and check plugins.", subcommands: [List.self, Check.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show each plugin's name, kind, version and ABI version.",
                                                        discussion: "Asks the server, or reads --plugins-dir without one (without running any plugin's init).")
        @OptionGroup var endpoint: EndpointOption
        @Option(name: .customLong("plugins-dir"), help: "Read this directory locally instead of asking the server.") var pluginsDir: String?

        func run() async throws {
            try await Docket.runClient {
                var rows: [[String]] = []
                if let pluginsDir {
                    for path in PluginLoader.candidates(in: pluginsDir) {
                        do {
                            let plugin = try PluginLoader.load(path: path, runOnLoad: false, logger: Logger(label: "docket"))
                            rows.append([plugin.name, plugin.kind.rawValue, plugin.version, plugin.abiVersion, plugin.id, path])
                        } catch let error as PluginError where error.code != .missingEntry {
                            rows.append(["-", "refused", "-", "-", error.reason, path])
                        } catch {
                            continue  // a shared library that is not a plugin at all
                        }
                    }
                } else {
                    let answer = try await endpoint.client().get("docket/v1/plugins")
                    for plugin in answer["plugins"]?.arrayValue ?? [] where plugin["error"]?.stringValue == nil {
                        rows.append([plugin["name"]?.stringValue ?? "", plugin["kind"]?.stringValue ?? "",
                                     plugin["version"]?.stringValue ?? "", plugin["abiVersion"]?.stringValue ?? "",
                                     plugin["id"]?.stringValue ?? "", plugin["path"]?.stringValue ?? ""])
                    }
                }
                printTable(header: ["NAME", "KIND", "VERSION", "ABI", "ID", "PATH"], rows: rows)
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate a plugin file without a server: load it, check versions and sizes, run its init.")
        @Argument(help: "Path to the plugin's shared library.") var path: String

        func run() async throws {
            let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
            do {
                let plugin = try PluginLoader.load(path: absolute, logger: Logger(label: "docket"))
                print("ok: \(plugin.kind.rawValue) '\(plugin.name)' \(plugin.version) (\(plugin.id)), ABI \(plugin.abiVersion)")
            } catch {
                FileHandle.standardError.write(Data("error: plugin \(path): \(error.reason)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}

// MARK: - simulate

/// `docket simulate`: the real scheduler and policy plugins on a virtual clock (DocketSimulator).
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate a workload on one job queue and compute environment: the real scheduler and policy plugin, on a virtual clock.",
        discussion: """
            Prints, per share, the target and achieved part of the vCPU-seconds, jobs and \
            wait times; the compute environment's utilisation; and how long the \
            simulation took in wall time. No server is needed.

            The workload file is JSON; unknown keys are refused, all keys but shares or
            jobs are optional:
              seed                PRNG seed: the same file and seed give the same run
              days                how long jobs arrive (default 7); then the queue drains
              windowSeconds       the report's time window (default 3600)
              computeEnvironment  {"vcpus": 64, "memoryMiB": 262144, "gpus": 0}
              policy              {"name": "fairshare", "settings": {...}}
              shares              synthetic jobs per share: [{"shareIdentifier": "a",
                                  "backlogged": true or "arrivalsPerHour": N, "vcpus",
                                  "memoryMiB", "gpus", "durationSeconds",
                                  "schedulingPriority", "startHours", "stopHours",
                                  "backlogDepth"}]
              jobs                a trace: [{"atSeconds", "shareIdentifier", "vcpus",
                                  "durationSeconds", "memoryMiB", "gpus",
                                  "schedulingPriority"}]
            vcpus and durationSeconds take a number, {"uniform": [low, high]},
            {"exponential": mean} (durations only) or {"choice": [v1, v2]}. A backlogged
            share keeps enough jobs queued to fill the compute environment alone.
            memoryMiB defaults to 2048 per vCPU. Flags override the file.

            Example week.json:
              {"days": 7, "computeEnvironment": {"vcpus": 64},
               "shares": [
                 {"shareIdentifier": "a", "backlogged": true, "vcpus": 2,
                  "durationSeconds": {"uniform": [300, 900]}},
                 {"shareIdentifier": "b", "arrivalsPerHour": 40,
                  "vcpus": {"choice": [1, 2, 4]},
                  "durationSeconds": {"exponential": 600}, "startHours": 24}]}
            and:
              docket simulate --workload week.json --policy fairshare \\
                --policy-settings '{"shareDecaySeconds": 3600, "shareDistribution":
                  [{"shareIdentifier": "a", "weightFactor": 0.5}]}'
            """)

    @Option(help: "The workload file (JSON; see above).") var workload: String
    @Option(help: "Policy plugin: fifo, fairshare, quota, or a plugin's .so path (default: the file's, else fifo).") var policy: String?
    @Option(name: .customLong("policy-settings"), help: "The policy's settings as a JSON object (default: the file's for that policy, else {}).")
    var policySettings: String?
    @Option(help: "The compute environment's vCPUs (overrides the file).") var vcpus: Double?
    @Option(help: "Days during which jobs arrive (overrides the file).") var days: Double?
    @Option(help: "The PRNG seed (overrides the file).") var seed: UInt64?
    @Option(name: .customLong("plugins-dir"), help: "Where to find policy plugins (default: beside the docket executable).") var pluginsDir: String?
    @Flag(help: "Print the report as JSON.") var json = false

    func run() async throws {
        func fail(_ message: String, _ code: Int32) -> ExitCode {
            FileHandle.standardError.write(Data("error: \(message)\n".utf8))
            return ExitCode(code)
        }
        var loaded: Workload
        do {
            loaded = try Workload.load(path: workload)
        } catch {
            throw fail(error.message, 65)
        }
        if let vcpus { loaded.computeEnvironment.vcpus = vcpus }
        if let days { loaded.days = days }
        if let seed { loaded.seed = seed }
        var choice = loaded.policy ?? PolicyChoice()
        if let policy, policy != choice.name { choice = PolicyChoice(name: policy) }
        if let policySettings {
            guard let settings = try? JSONParser.parse(Array(policySettings.utf8)), settings.objectValue != nil else {
                throw fail("--policy-settings is not a JSON object; give e.g. '{\"shareDecaySeconds\": 3600}'. See --help.", 64)
            }
            choice.settings = settings
        }
        // Plugins' logs go to stderr, so stdout keeps only the report (JSON with --json).
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["DOCKET_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
            return handler
        }
        let simulation = Simulation(workload: loaded, policy: choice, pluginsDirectory: pluginsDir ?? PluginLoader.executableDirectory,
                                    logger: Logger(label: "docket.simulate"))
        let report: SimulationReport
        do {
            report = try await simulation.run()
        } catch {
            throw fail(error.message, error.code == .invalidWorkload ? 65 : error.code == .policyUnavailable ? 69 : 1)
        }
        if json {
            try printJSON(report)
        } else {
            print(report.text)
        }
    }
}
