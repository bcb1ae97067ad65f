import CDocketPlugin
import DocketSwiftPluginSupport
import Foundation

// The C entry glue of the GPU executor: the descriptor, the function table, the "docket.gpu/1"
// capability and the conversions. The executor itself is GPUExecutor.swift.

private func executor(_ pointer: UnsafeMutableRawPointer?) -> GPUExecutor {
    Unmanaged<GPUExecutor>.fromOpaque(pointer!).takeUnretainedValue()
}

/// The strings and arrays a capacity report points to, per instance, kept until its next
/// capacity call or destroy (the ABI's rule for the report).
private final class CapacityTexts {
    var strings: [UnsafeMutablePointer<CChar>] = []
    var devices: UnsafeMutablePointer<UnsafePointer<CChar>?>?

    func keep(_ text: String?) -> UnsafePointer<CChar>? {
        guard let text else { return nil }
        let copy = strdup(text)!
        strings.append(copy)
        return UnsafePointer(copy)
    }

    func clear() {
        for string in strings { free(string) }
        strings.removeAll()
        devices?.deallocate()
        devices = nil
    }
}

private let capacityLock = NSLock()
nonisolated(unsafe) private var capacityTexts: [UnsafeMutableRawPointer: CapacityTexts] = [:]

nonisolated(unsafe) private let gpuCapability: UnsafeMutablePointer<docket_gpu_capability_v1> = {
    let pointer = UnsafeMutablePointer<docket_gpu_capability_v1>.allocate(capacity: 1)
    var value = docket_gpu_capability_v1()
    value.struct_size = UInt32(MemoryLayout<docket_gpu_capability_v1>.size)
    value.describe_gpus = { instance, buffer, size, needed in
        guard let instance else { return DOCKET_E_INVALID_ARGUMENT }
        return writeString(executor(instance).describeGPUs(), into: buffer, size: size, needed: needed)
    }
    pointer.initialize(to: value)
    return pointer
}()

nonisolated(unsafe) private let table: UnsafeMutablePointer<docket_executor_v1> = {
    let table = UnsafeMutablePointer<docket_executor_v1>.allocate(capacity: 1)
    var value = docket_executor_v1()
    value.struct_size = UInt32(MemoryLayout<docket_executor_v1>.size)
    value.create = { host, config, out, err, size in
        guard let host else {
            writeError("gpu executor: the host passed no host table", into: err, size: size)
            return DOCKET_E_INVALID_ARGUMENT
        }
        let link = HostLink(host)
        do throws(SettingsError) {
            let instance = try GPUExecutor(host: link, configJSON: config.map { String(cString: $0) } ?? "{}")
            out?.pointee = Unmanaged.passRetained(instance).toOpaque()
            return DOCKET_OK
        } catch {
            link.close()
            writeError(error.message, into: err, size: size)
            return DOCKET_E_INVALID_CONFIG
        }
    }
    value.destroy = { pointer in
        guard let pointer else { return }
        executor(pointer).destroy()
        capacityLock.withLock { capacityTexts.removeValue(forKey: pointer)?.clear() }
        Unmanaged<GPUExecutor>.fromOpaque(pointer).release()
    }
    value.capacity = { pointer, out, _, _ in
        guard let pointer, let out else { return DOCKET_E_INVALID_ARGUMENT }
        let now = executor(pointer).capacity()
        capacityLock.withLock {
            let texts = capacityTexts[pointer] ?? CapacityTexts()
            capacityTexts[pointer] = texts
            texts.clear()
            let size = Int(out.pointee.struct_size)
            // The fields up to health_reason are 1.0's; a host's struct is never smaller.
            out.pointee.healthy = now.healthy ? 1 : 0
            out.pointee.vcpu_millis = now.vcpuMillis
            out.pointee.memory_mib = now.memoryMiB
            out.pointee.gpu_count = now.gpuCount
            out.pointee.health_reason = texts.keep(now.reason)
            if size >= MemoryLayout<docket_executor_capacity>.offset(of: \.reserved0)! {
                let devices = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: max(now.devices.count, 1))
                for (index, device) in now.devices.enumerated() { devices[index] = texts.keep(device) }
                texts.devices = devices
                out.pointee.devices = UnsafePointer(devices)
                out.pointee.device_count = UInt32(now.devices.count)
            }
            if size >= MemoryLayout<docket_executor_capacity>.size {
                out.pointee.notice = texts.keep(now.notice)
            }
        }
        return DOCKET_OK
    }
    setAttemptEntries(&value)
    value.get_capability = { _, id in
        capability(id, named: DOCKET_CAPABILITY_GPU_V1, table: UnsafeRawPointer(gpuCapability))
    }
    table.initialize(to: value)
    return table
}()

/// Never freed: the host reads it for as long as the process lives.
nonisolated(unsafe) private let descriptor = permanentDescriptor(
    kind: DOCKET_PLUGIN_KIND_EXECUTOR, id: "docket.executor.gpu", name: "gpu", version: "1.0.0",
    description: "gives each attempt exclusive, topology-aware GPUs and runs it as a process or a container",
    executor: UnsafePointer(table))

@c @implementation
public func docket_plugin_entry_v1() -> UnsafePointer<docket_plugin_descriptor>? {
    UnsafePointer(descriptor)
}
