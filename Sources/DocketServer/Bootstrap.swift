import DocketCore
import DocketStore
import Foundation

/// Applies first-run defaults and the configuration file's declarations to the store.
///
/// A fresh data directory gets a compute environment `default` (this host, the default
/// executor, the machine's vCPUs and memory as the executor reports them), a job queue
/// `default` on it, and a job definition `default` (1 vCPU, 512 MiB), so that
/// `docket submit -- echo hello` works with no set-up. Compute environments and queues the
/// configuration declares are (re)written at every start: the file is their source of truth.
struct Bootstrap {
    var store: SQLiteStore
    var arns: ARNBuilder
    var configuration: Configuration
    var clock: @Sendable () -> Int64

    /// The image the default job definition names: AWS requires one; the process executor ignores it.
    static let defaultImage = "public.ecr.aws/docker/library/busybox:latest"

    func apply() throws(DocketError) {
        let now = clock()
        if try store.setting("bootstrapped") == nil {
            if try !store.computeEnvironments().contains(where: { $0.name == "default" }) {
                try store.save(ComputeEnvironment(name: "default", arn: arns.computeEnvironment("default"),
                                                  uuid: UUID().uuidString.lowercased(), type: "UNMANAGED",
                                                  executor: configuration.defaultExecutor, createdAt: now))
            }
            if try !store.jobQueues().contains(where: { $0.name == "default" }) {
                try store.save(JobQueue(name: "default", arn: arns.jobQueue("default"), priority: 1,
                                        computeEnvironmentOrder: [ComputeEnvironmentOrder(order: 1, computeEnvironment: "default")],
                                        createdAt: now))
            }
            if try store.jobDefinition(name: "default", revision: nil) == nil {
                let properties: JSONValue = [
                    "image": .string(Self.defaultImage),
                    "resourceRequirements": [["type": "VCPU", "value": "1"], ["type": "MEMORY", "value": "512"]],
                ]
                let arns = self.arns
                _ = try store.register(JobDefinition(name: "default", revision: 0, arn: "", containerProperties: properties,
                                                     createdAt: now)) { arns.jobDefinition($0, $1) }
            }
            try store.setSetting("bootstrapped", String(now))
        }
        for entry in configuration.computeEnvironments {
            let existing = try store.computeEnvironments().first { $0.name == entry.name }
            var environment = existing ?? ComputeEnvironment(name: entry.name, arn: arns.computeEnvironment(entry.name),
                                                              uuid: UUID().uuidString.lowercased(), type: "UNMANAGED",
                                                              executor: "", createdAt: now)
            environment.executor = entry.executor ?? configuration.defaultExecutor
            environment.executorSettings = entry.settings
            environment.maxVCPUMillis = entry.maxVCPUs.map { $0 * 1000 }
            environment.state = entry.state
            environment.isFromConfiguration = true
            try store.save(environment)
        }
        for entry in configuration.jobQueues {
            let existing = try store.jobQueues().first { $0.name == entry.name }
            var queue = existing ?? JobQueue(name: entry.name, arn: arns.jobQueue(entry.name), priority: entry.priority,
                                             computeEnvironmentOrder: [], createdAt: now)
            queue.priority = entry.priority
            queue.computeEnvironmentOrder = entry.computeEnvironments.enumerated().map {
                ComputeEnvironmentOrder(order: $0.offset + 1, computeEnvironment: $0.element)
            }
            queue.policy = entry.policy
            queue.policySettings = .object(entry.policySettings)
            queue.state = entry.state
            queue.isFromConfiguration = true
            try store.save(queue)
        }
    }
}
