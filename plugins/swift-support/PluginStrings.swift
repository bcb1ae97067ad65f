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
