import CDocketPlugin
import Foundation

/// C strings and string arrays that live until `free`: for building structs the plugin borrows
/// for one call.
final class CStringArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    func string(_ value: String?) -> UnsafePointer<CChar>? {
        guard let value else { return nil }
        let copy = strdup(value)!
        allocations.append(UnsafeMutableRawPointer(copy))
        return UnsafePointer(copy)
    }

    func array(_ values: [String]) -> UnsafePointer<UnsafePointer<CChar>?>? {
        guard !values.isEmpty else { return nil }
        let pointer = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: values.count + 1)
        for (index, value) in values.enumerated() { pointer[index] = string(value) }
        pointer[values.count] = nil
        allocations.append(UnsafeMutableRawPointer(pointer))
        return UnsafePointer(pointer)
    }

    deinit {
        for allocation in allocations { free(allocation) }
    }
}

/// Calls a plugin function that writes a NUL-terminated string into the caller's buffer and
/// stores the size it needs (the capabilities' JSON: describe_gpus, explain_job,
/// describe_shares), growing the buffer to that size when it is short. A document that grows
/// between calls gets three tries in all.
/// - Returns: the string, or the status of the last call that failed.
func readPluginString(_ call: (UnsafeMutablePointer<CChar>, Int, UnsafeMutablePointer<Int>) -> docket_status) -> Result<String, PluginStringFailure> {
    var size = 4096
    var status = DOCKET_E_BUFFER_TOO_SMALL
    for _ in 0..<3 {
        var buffer = [CChar](repeating: 0, count: size)
        var needed = 0
        status = buffer.withUnsafeMutableBufferPointer { call($0.baseAddress!, size, &needed) }
        if status == DOCKET_OK { return .success(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }) }
        guard status == DOCKET_E_BUFFER_TOO_SMALL, needed > size else { break }
        size = needed
    }
    return .failure(PluginStringFailure(status: status))
}

/// The status a plugin answered instead of its string.
struct PluginStringFailure: Error {
    var status: docket_status
}
