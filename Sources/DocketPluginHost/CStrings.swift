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
