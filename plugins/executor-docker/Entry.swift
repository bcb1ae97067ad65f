import CDocketPlugin
import DocketSwiftPluginSupport
import Foundation

// The C entry glue of the Docker executor: the descriptor, the function table and the
// conversions. The executor itself is DockerExecutor.swift.

private func executor(_ pointer: UnsafeMutableRawPointer?) -> DockerExecutor {
    Unmanaged<DockerExecutor>.fromOpaque(pointer!).takeUnretainedValue()
}

/// The health reasons capacity reports point to, per instance, kept until its next capacity
/// call or destroy (the ABI's rule for strings in the report).
private let capacityTexts = NSLock()
nonisolated(unsafe) private var capacityReasons: [UnsafeMutableRawPointer: UnsafeMutablePointer<CChar>] = [:]

nonisolated(unsafe) private let table: UnsafeMutablePointer<docket_executor_v1> = {
    let table = UnsafeMutablePointer<docket_executor_v1>.allocate(capacity: 1)
    var value = docket_executor_v1()
    value.struct_size = UInt32(MemoryLayout<docket_executor_v1>.size)
    value.create = { host, config, out, err, size in
        guard let host else {
            writeError("docker executor: the host passed no host table", into: err, size: size)
            return DOCKET_E_INVALID_ARGUMENT
        }
        do {
            let instance = try DockerExecutor(host: HostLink(host), configJSON: config.map { String(cString: $0) } ?? "{}")
            out?.pointee = Unmanaged.passRetained(instance).toOpaque()
            return DOCKET_OK
        } catch {
            writeError((error as? SettingsError)?.message ?? "docker executor: \(error)", into: err, size: size)
            return DOCKET_E_INVALID_CONFIG
        }
    }
    value.destroy = { pointer in
        guard let pointer else { return }
        executor(pointer).destroy()
        capacityTexts.withLock { capacityReasons.removeValue(forKey: pointer).map { free($0) } }
        // The attempts' threads hold their own references; the instance goes when the last ends.
        Unmanaged<DockerExecutor>.fromOpaque(pointer).release()
    }
    value.capacity = { pointer, out, _, _ in
        guard let pointer, let out else { return DOCKET_E_INVALID_ARGUMENT }
        let now = executor(pointer).capacity()
        let size = Int(out.pointee.struct_size)
        let reason = now.reason.map { strdup($0)! }
        capacityTexts.withLock {
            capacityReasons.removeValue(forKey: pointer).map { free($0) }
            if let reason { capacityReasons[pointer] = reason }
        }
        // The fields up to health_reason are 1.0's; a host's struct is never smaller.
        if size >= MemoryLayout<docket_executor_capacity>.offset(of: \.devices)! {
            out.pointee.healthy = now.healthy ? 1 : 0
            out.pointee.vcpu_millis = now.vcpuMillis
            out.pointee.memory_mib = now.memoryMiB
            out.pointee.gpu_count = 0
            out.pointee.health_reason = reason.map { UnsafePointer($0) }
        }
        return DOCKET_OK
    }
    setAttemptEntries(&value)
    value.get_capability = nil
    table.initialize(to: value)
    return table
}()

/// Never freed: the host reads it for as long as the process lives.
nonisolated(unsafe) private let descriptor = permanentDescriptor(
    kind: DOCKET_PLUGIN_KIND_EXECUTOR, id: "docket.executor.docker", name: "docker", version: "1.0.0",
    description: "runs each attempt as a container through the Docker Engine API", executor: UnsafePointer(table))

@c @implementation
public func docket_plugin_entry_v1() -> UnsafePointer<docket_plugin_descriptor>? {
    UnsafePointer(descriptor)
}
