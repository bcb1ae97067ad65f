import CDocketPlugin
import Foundation

// The C entry glue of the Docker executor: the descriptor, the function table and the
// conversions. The executor itself is DockerExecutor.swift.

private func executor(_ pointer: UnsafeMutableRawPointer?) -> DockerExecutor {
    Unmanaged<DockerExecutor>.fromOpaque(pointer!).takeUnretainedValue()
}

/// Writes `message` into the host's error buffer, truncated and NUL-terminated.
private func report(_ message: String, _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int) {
    guard let buffer, size > 0 else { return }
    var bytes = Array(message.utf8.prefix(size - 1))
    bytes.append(0)
    bytes.withUnsafeBufferPointer { source in
        UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress!, byteCount: bytes.count)
    }
}

private func answer(_ outcome: (docket_status, String)?, _ err: UnsafeMutablePointer<CChar>?, _ size: Int) -> docket_status {
    guard let (status, message) = outcome else { return DOCKET_OK }
    report(message, err, size)
    return status
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
            report("docker executor: the host passed no host table", err, size)
            return DOCKET_E_INVALID_ARGUMENT
        }
        do {
            let instance = try DockerExecutor(host: HostLink(host), configJSON: config.map { String(cString: $0) } ?? "{}")
            out?.pointee = Unmanaged.passRetained(instance).toOpaque()
            return DOCKET_OK
        } catch {
            report((error as? SettingsError)?.message ?? "docker executor: \(error)", err, size)
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
    value.start = { pointer, spec, err, size in
        guard let pointer, let spec else { return DOCKET_E_INVALID_ARGUMENT }
        return answer(executor(pointer).start(spec.pointee), err, size)
    }
    value.signal = { pointer, attempt, signal, err, size in
        guard let pointer, let attempt else { return DOCKET_E_INVALID_ARGUMENT }
        return answer(executor(pointer).signal(String(cString: attempt), signal), err, size)
    }
    value.terminate = { pointer, attempt, grace, err, size in
        guard let pointer, let attempt else { return DOCKET_E_INVALID_ARGUMENT }
        return answer(executor(pointer).terminate(String(cString: attempt), graceMillis: grace), err, size)
    }
    value.list_running = { pointer, visit, context, _, _ in
        guard let pointer, let visit else { return DOCKET_E_INVALID_ARGUMENT }
        for attemptID in executor(pointer).listRunning() { visit(context, attemptID) }
        return DOCKET_OK
    }
    value.get_capability = nil
    table.initialize(to: value)
    return table
}()

/// Strings the descriptor points to: static storage that lives as long as the process.
nonisolated(unsafe) private let descriptor: UnsafeMutablePointer<docket_plugin_descriptor> = {
    let pointer = UnsafeMutablePointer<docket_plugin_descriptor>.allocate(capacity: 1)
    var value = docket_plugin_descriptor()
    value.struct_size = UInt32(MemoryLayout<docket_plugin_descriptor>.size)
    value.abi_major = UInt32(DOCKET_ABI_MAJOR)
    value.abi_minor = UInt32(DOCKET_ABI_MINOR)
    value.kind = DOCKET_PLUGIN_KIND_EXECUTOR
    value.id = staticString("docket.executor.docker")
    value.name = staticString("docker")
    value.version = staticString("1.0.0")
    value.description = staticString("runs each attempt as a container through the Docker Engine API")
    value.executor = UnsafePointer(table)
    pointer.initialize(to: value)
    return pointer
}()

private func staticString(_ text: String) -> UnsafePointer<CChar> {
    let bytes = Array(text.utf8CString)
    let storage = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
    storage.initialize(from: bytes, count: bytes.count)
    return UnsafePointer(storage)
}

@c @implementation
public func docket_plugin_entry_v1() -> UnsafePointer<docket_plugin_descriptor>? {
    UnsafePointer(descriptor)
}
