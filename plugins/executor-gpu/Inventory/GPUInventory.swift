import DocketGPUPlacement

/// One allocatable GPU unit: a whole GPU, or a MIG instance where the GPU is partitioned.
public struct GPUUnit: Sendable, Equatable {
    /// nvidia-smi's index of the physical GPU (the one `nvidia-smi -L` and its logs show).
    public var index: Int
    /// "GPU-…" for a whole GPU, "MIG-…" for a MIG instance: what CUDA_VISIBLE_DEVICES takes.
    public var uuid: String
    /// The product name, e.g. "NVIDIA A100-SXM4-80GB"; a MIG instance adds its profile.
    public var model: String
    /// The PCI bus id as nvidia-smi prints it ("00000000:07:00.0"); the parent's for MIG.
    public var pciBusID: String?
    public var memoryMiB: Int64?
    /// The NUMA node the GPU is attached to; nil where the machine does not say.
    public var numaNode: Int?
    /// The CPUs near the GPU, as a Linux cpulist ("0-23,48-71"); nil where unknown.
    public var cpuAffinity: String?
    /// The device nodes a job needs to use this unit ("/dev/nvidia3"); denied to jobs that do
    /// not hold it, where the machine allows a device cgroup.
    public var deviceNodes: [String]
    /// For a MIG instance: the UUID of the GPU it is part of, and its profile ("1g.10gb").
    public var parentUUID: String?
    public var migProfile: String?
    /// For a MIG instance: its GPU instance and compute instance ids, which with the parent's
    /// minor number name its capability nodes in /proc/driver/nvidia-caps/mig-minors
    /// ("gpu0/gi2/ci0/access"); nvidia-smi does not print those nodes itself.
    public var gpuInstanceID: Int?
    public var computeInstanceID: Int?
    /// Why the inventory source says this unit cannot be used (a fatal error it reports); nil
    /// when healthy. A unit that disappears from the source is drained by the executor.
    public var fault: String?

    public init(index: Int, uuid: String, model: String, pciBusID: String? = nil, memoryMiB: Int64? = nil,
                numaNode: Int? = nil, cpuAffinity: String? = nil, deviceNodes: [String] = [],
                parentUUID: String? = nil, migProfile: String? = nil, fault: String? = nil,
                gpuInstanceID: Int? = nil, computeInstanceID: Int? = nil) {
        self.index = index
        self.uuid = uuid
        self.model = model
        self.pciBusID = pciBusID
        self.memoryMiB = memoryMiB
        self.numaNode = numaNode
        self.cpuAffinity = cpuAffinity
        self.deviceNodes = deviceNodes
        self.parentUUID = parentUUID
        self.migProfile = migProfile
        self.fault = fault
        self.gpuInstanceID = gpuInstanceID
        self.computeInstanceID = computeInstanceID
    }
}

/// A machine's allocatable GPU units and how each pair is linked: `topology` is indexed by
/// position in `units`.
public struct GPUInventory: Sendable {
    public var units: [GPUUnit]
    public var topology: GPUTopology

    public init(units: [GPUUnit], topology: GPUTopology) {
        self.units = units
        self.topology = topology
    }
}

/// Why an inventory could not be read: `field` names the setting or input at fault, and the
/// message says what is wrong and what to do.
public struct InventoryError: Error, CustomStringConvertible, Sendable {
    public var field: String
    public var message: String

    public init(field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}
