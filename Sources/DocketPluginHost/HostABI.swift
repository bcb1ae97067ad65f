import CDocketPlugin

/// The ABI version this host provides.
package enum HostABI {
    package static let major = UInt32(DOCKET_ABI_MAJOR)
    package static let minor = UInt32(DOCKET_ABI_MINOR)
    package static var version: String { "\(major).\(minor)" }

    /// Copies a plugin-owned struct that starts with `uint32_t struct_size` into a zero-filled
    /// host-sized value: a shorter plugin struct reads as zeros past its end ("absent"), a longer
    /// one is accepted only when every byte the host does not know is zero.
    /// - Returns: nil with a reason when the struct is too short to hold its required head
    ///   (`minimumSize`) or has a non-zero unknown tail.
    static func readVersioned<T>(_ pointer: UnsafeRawPointer, as type: T.Type, minimumSize: Int, name: String)
        -> Result<T, StructRefusal>
    {
        let declared = Int(pointer.load(as: UInt32.self))
        let hostSize = MemoryLayout<T>.size
        guard declared >= minimumSize else {
            return .failure(StructRefusal(reason: "its \(name) declares struct_size \(declared), smaller than the \(minimumSize) bytes ABI 1.0 requires; rebuild the plugin against this docket's include/docket headers."))
        }
        if declared > hostSize {
            let tail = UnsafeRawBufferPointer(start: pointer + hostSize, count: declared - hostSize)
            guard tail.allSatisfy({ $0 == 0 }) else {
                return .failure(StructRefusal(reason: "its \(name) is \(declared) bytes with fields this docket (ABI \(version), \(hostSize) bytes) does not know set; upgrade docket or rebuild the plugin against ABI \(version)."))
            }
        }
        let storage = UnsafeMutableRawPointer.allocate(byteCount: hostSize, alignment: MemoryLayout<T>.alignment)
        defer { storage.deallocate() }
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: hostSize)
        storage.copyMemory(from: pointer, byteCount: min(declared, hostSize))
        return .success(storage.load(as: T.self))
    }
}

/// Calls `body` with a zeroed error buffer and returns the status and the plugin's message.
func withErrorBuffer(_ body: (UnsafeMutablePointer<CChar>, Int) -> docket_status) -> (docket_status, String) {
    var buffer = [CChar](repeating: 0, count: 1024)
    let status = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
    let message = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    return (status, message)
}

/// The name of a docket_status, for messages.
func statusName(_ status: docket_status) -> String {
    switch status {
    case DOCKET_OK: "DOCKET_OK"
    case DOCKET_E_INVALID_ARGUMENT: "DOCKET_E_INVALID_ARGUMENT"
    case DOCKET_E_INVALID_CONFIG: "DOCKET_E_INVALID_CONFIG"
    case DOCKET_E_UNAVAILABLE: "DOCKET_E_UNAVAILABLE"
    case DOCKET_E_NOT_FOUND: "DOCKET_E_NOT_FOUND"
    case DOCKET_E_UNSUPPORTED: "DOCKET_E_UNSUPPORTED"
    case DOCKET_E_INTERNAL: "DOCKET_E_INTERNAL"
    case DOCKET_E_BUFFER_TOO_SMALL: "DOCKET_E_BUFFER_TOO_SMALL"
    default: "status \(status)"
    }
}

/// Why a versioned struct was refused, as one sentence.
struct StructRefusal: Error {
    var reason: String
}
