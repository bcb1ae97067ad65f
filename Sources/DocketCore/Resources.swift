/// An amount of compute: what a job asks for or what a compute environment has.
public struct Resources: Sendable, Hashable, Codable {
    /// vCPUs in thousandths (1 vCPU = 1000), so fractional requests stay exact.
    public var vcpuMillis: Int64
    public var memoryMiB: Int64
    public var gpus: Int64

    public init(vcpuMillis: Int64 = 0, memoryMiB: Int64 = 0, gpus: Int64 = 0) {
        self.vcpuMillis = vcpuMillis
        self.memoryMiB = memoryMiB
        self.gpus = gpus
    }

    public static let zero = Resources()

    /// Whether `request` fits inside `self`, resource by resource.
    public func accommodates(_ request: Resources) -> Bool {
        request.vcpuMillis <= vcpuMillis && request.memoryMiB <= memoryMiB && request.gpus <= gpus
    }

    public static func + (lhs: Resources, rhs: Resources) -> Resources {
        Resources(vcpuMillis: lhs.vcpuMillis + rhs.vcpuMillis, memoryMiB: lhs.memoryMiB + rhs.memoryMiB,
                  gpus: lhs.gpus + rhs.gpus)
    }

    public static func - (lhs: Resources, rhs: Resources) -> Resources {
        Resources(vcpuMillis: lhs.vcpuMillis - rhs.vcpuMillis, memoryMiB: lhs.memoryMiB - rhs.memoryMiB,
                  gpus: lhs.gpus - rhs.gpus)
    }

    /// Resource by resource, the larger of the two.
    public func maximum(_ other: Resources) -> Resources {
        Resources(vcpuMillis: max(vcpuMillis, other.vcpuMillis), memoryMiB: max(memoryMiB, other.memoryMiB),
                  gpus: max(gpus, other.gpus))
    }

    /// "2 vCPUs", "1.5 vCPUs": how AWS's texts and ours show vCPU amounts.
    public static func formatVCPUs(_ millis: Int64) -> String {
        if millis % 1000 == 0 { return "\(millis / 1000) vCPU\(millis == 1000 ? "" : "s")" }
        let whole = Double(millis) / 1000
        return "\(whole) vCPUs"
    }
}
