import CDocketPlugin

// C strings at the ABI boundary, shared by the Swift plugins shipped with Docket (each links its
// own copy of this module; nothing here is exported from a plugin).

/// Writes `message` into a host's error buffer (`err`, `err_size` in the ABI), truncated to fit
/// and NUL-terminated. Does nothing without a buffer.
public func writeError(_ message: String, into buffer: UnsafeMutablePointer<CChar>?, size: Int) {
    guard let buffer, size > 0 else { return }
    var bytes = Array(message.utf8.prefix(size - 1))
    bytes.append(0)
    bytes.withUnsafeBufferPointer { source in
        UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress!, byteCount: bytes.count)
    }
}

/// Writes `text`, NUL-terminated, into a caller's buffer (`buf`, `buf_size` in the ABI) and
/// stores the size it needs, NUL included, in `needed` (`out_needed`): the buffer contract of
/// docket_policy_explain_v1 and of docket_gpu_capability_v1's describe_gpus.
/// - Returns: `DOCKET_OK`, or `DOCKET_E_BUFFER_TOO_SMALL` with nothing written when there is no
///   buffer or it is smaller than the needed size (the caller calls again with that many bytes).
public func writeString(_ text: String, into buffer: UnsafeMutablePointer<CChar>?, size: Int,
                        needed: UnsafeMutablePointer<Int>?) -> docket_status {
    let bytes = Array(text.utf8CString)
    needed?.pointee = bytes.count
    guard let buffer, size >= bytes.count else { return DOCKET_E_BUFFER_TOO_SMALL }
    bytes.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress!, count: bytes.count) }
    return DOCKET_OK
}

/// A NUL-terminated copy of `text` that is never freed: for the descriptor's strings, which the
/// host may read for as long as the process lives.
public func permanentCString(_ text: String) -> UnsafePointer<CChar> {
    let bytes = Array(text.utf8CString)
    let storage = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
    storage.initialize(from: bytes, count: bytes.count)
    return UnsafePointer(storage)
}

/// The plugin's descriptor, in memory that is never freed (the host keeps pointing at it):
/// this ABI's version, and the given identity and function table.
public func permanentDescriptor(kind: Int32, id: String, name: String, version: String, description: String,
                                executor: UnsafePointer<docket_executor_v1>? = nil,
                                policy: UnsafePointer<docket_policy_v1>? = nil) -> UnsafeMutablePointer<docket_plugin_descriptor> {
    let pointer = UnsafeMutablePointer<docket_plugin_descriptor>.allocate(capacity: 1)
    var value = docket_plugin_descriptor()
    value.struct_size = UInt32(MemoryLayout<docket_plugin_descriptor>.size)
    value.abi_major = UInt32(DOCKET_ABI_MAJOR)
    value.abi_minor = UInt32(DOCKET_ABI_MINOR)
    value.kind = kind
    value.id = permanentCString(id)
    value.name = permanentCString(name)
    value.version = permanentCString(version)
    value.description = permanentCString(description)
    value.executor = executor
    value.policy = policy
    pointer.initialize(to: value)
    return pointer
}

/// What an executor call's outcome returns to the host: `DOCKET_OK` for nil, or the status,
/// with its message written into the host's error buffer (`err`, `err_size` in the ABI).
public func reportOutcome(_ outcome: (docket_status, String)?, into err: UnsafeMutablePointer<CChar>?, size: Int) -> docket_status {
    guard let (status, message) = outcome else { return DOCKET_OK }
    writeError(message, into: err, size: size)
    return status
}

/// The answer to `get_capability`: `table` when the host asks for `name`, or nil (not offered).
public func capability(_ requested: UnsafePointer<CChar>?, named name: String, table: UnsafeRawPointer) -> UnsafeRawPointer? {
    guard let requested, String(cString: requested) == name else { return nil }
    return table
}

/// A policy's `destroy`: deinitializes and frees the `T` that `create` allocated at `pointer`.
/// Does nothing for NULL.
public func destroyInstance<T>(_ pointer: UnsafeMutableRawPointer?, of type: T.Type) {
    guard let pointer else { return }
    let instance = pointer.assumingMemoryBound(to: type)
    instance.deinitialize(count: 1)
    instance.deallocate()
}

/// The attempt calls of Docket's Swift executors, so their function tables share one glue.
public protocol AttemptRunning: AnyObject {
    func start(_ spec: docket_attempt_spec) -> (docket_status, String)?
    func signal(_ attemptID: String, _ signal: Int32) -> (docket_status, String)?
    func terminate(_ attemptID: String, graceMillis: Int64) -> (docket_status, String)?
    func listRunning() -> [String]
}

/// Fills start, signal, terminate and list_running of an executor table whose instances are
/// `AttemptRunning` objects passed as retained `Unmanaged` pointers.
public func setAttemptEntries(_ table: inout docket_executor_v1) {
    table.start = { pointer, spec, err, size in
        guard let pointer, let spec else { return DOCKET_E_INVALID_ARGUMENT }
        return reportOutcome(attemptRunner(pointer).start(spec.pointee), into: err, size: size)
    }
    table.signal = { pointer, attempt, signal, err, size in
        guard let pointer, let attempt else { return DOCKET_E_INVALID_ARGUMENT }
        return reportOutcome(attemptRunner(pointer).signal(String(cString: attempt), signal), into: err, size: size)
    }
    table.terminate = { pointer, attempt, grace, err, size in
        guard let pointer, let attempt else { return DOCKET_E_INVALID_ARGUMENT }
        return reportOutcome(attemptRunner(pointer).terminate(String(cString: attempt), graceMillis: grace), into: err, size: size)
    }
    table.list_running = { pointer, visit, context, _, _ in
        guard let pointer, let visit else { return DOCKET_E_INVALID_ARGUMENT }
        for attemptID in attemptRunner(pointer).listRunning() { visit(context, attemptID) }
        return DOCKET_OK
    }
}

private func attemptRunner(_ pointer: UnsafeMutableRawPointer) -> any AttemptRunning {
    Unmanaged<AnyObject>.fromOpaque(pointer).takeUnretainedValue() as! any AttemptRunning
}
