import DocketGPUPlacement

/// Reads a machine's GPU inventory from what nvidia-smi prints: `nvidia-smi -q -x` for the GPUs,
/// their MIG instances and their health, `nvidia-smi topo -m` for links and CPU affinity, and
/// `nvidia-smi -L` for MIG instance UUIDs, which only it prints. Pure parsing: running the
/// commands is the executor's job, so recorded outputs read the same as live ones.
public enum NvidiaSMI {
    /// The `InventoryError.field` of an error in each input.
    public static let queryField = "query"
    public static let topoField = "topo"
    public static let listField = "list"

    /// Builds the inventory: one unit per GPU, or per MIG instance where a GPU has MIG enabled
    /// and instances exist; `topology` is indexed like `units`.
    ///
    /// Links between units are those of their physical GPUs in the topo -m matrix; two MIG
    /// instances of one GPU are `.singlePCIeSwitch`, since they share the GPU but MIG gives them
    /// no peer-to-peer. Without a matrix the machine's layout is unknown, so units on different
    /// GPUs are `.crossSocket` (placement then prefers nothing it cannot see), and NUMA node and
    /// CPU affinity are nil.
    ///
    /// - Parameters:
    ///   - queryXML: the output of `nvidia-smi -q -x`.
    ///   - topoMatrix: the output of `nvidia-smi topo -m` from the same machine, or nil.
    ///   - gpuList: the output of `nvidia-smi -L`; required when a GPU has MIG instances.
    /// - Throws: `InventoryError` whose field is `queryField`, `topoField` or `listField`: the XML
    ///   is malformed or lacks a GPU's uuid or product name, the matrix does not parse or has a
    ///   different number of GPUs, MIG instances exist and `gpuList` is nil or does not name
    ///   them, or `gpuList` names a GPU differently from the XML.
    public static func inventory(queryXML: String, topoMatrix: String?, gpuList: String?) throws(InventoryError) -> GPUInventory {
        let gpus = try physicalGPUs(queryXML: queryXML)
        let topo = try topoMatrix.map { text throws(InventoryError) in try matrix(text, gpuCount: gpus.count) }
        let listed = try gpuList.map { text throws(InventoryError) in try listedGPUs(text, matching: gpus) }

        var units: [GPUUnit] = []
        for gpu in gpus {
            let numaNode = topo?.topology.numaNodes[gpu.index]
            let cpuAffinity = topo?.cpuAffinity[gpu.index]
            let deviceNodes = gpu.minorNumber.map { ["/dev/nvidia\($0)"] } ?? []
            guard gpu.isMIGEnabled, !gpu.migDevices.isEmpty else {
                units.append(GPUUnit(index: gpu.index, uuid: gpu.uuid, model: gpu.productName, pciBusID: gpu.pciBusID,
                                     memoryMiB: gpu.memoryMiB, numaNode: numaNode, cpuAffinity: cpuAffinity,
                                     deviceNodes: deviceNodes, fault: gpu.fault))
                continue
            }
            guard let listed else {
                throw InventoryError(field: listField, "GPU \(gpu.index) (\(gpu.uuid)) has MIG enabled with \(gpu.migDevices.count) instances, whose UUIDs only `nvidia-smi -L` prints; record `nvidia-smi -L` alongside `nvidia-smi -q -x` and pass it too")
            }
            for device in gpu.migDevices {
                guard let name = listed[gpu.index]?[device.index] else {
                    throw InventoryError(field: listField, "`nvidia-smi -L` does not list MIG device \(device.index) of GPU \(gpu.index), which `nvidia-smi -q -x` reports; record both outputs at the same time, after the MIG layout last changed")
                }
                units.append(GPUUnit(index: gpu.index, uuid: name.uuid, model: "\(gpu.productName) MIG \(name.profile)",
                                     pciBusID: gpu.pciBusID, memoryMiB: device.memoryMiB, numaNode: numaNode,
                                     cpuAffinity: cpuAffinity, deviceNodes: deviceNodes, parentUUID: gpu.uuid,
                                     migProfile: name.profile, fault: gpu.fault,
                                     gpuInstanceID: device.gpuInstanceID, computeInstanceID: device.computeInstanceID))
            }
        }
        let topology = GPUTopology(numaNodes: units.map(\.numaNode)) { a, b in
            let (gpuA, gpuB) = (units[a].index, units[b].index)
            if gpuA == gpuB { return .singlePCIeSwitch }
            return topo?.topology.link(gpuA, gpuB) ?? .crossSocket
        }
        return GPUInventory(units: units, topology: topology)
    }

    /// A physical GPU as `nvidia-smi -q -x` describes it; `index` is its position in the XML,
    /// nvidia-smi's order by PCI bus id. CUDA numbers GPUs fastest-first unless
    /// CUDA_DEVICE_ORDER=PCI_BUS_ID, which is why jobs are given UUIDs, not indexes.
    struct PhysicalGPU: Equatable {
        var index: Int
        var uuid: String
        var productName: String
        var minorNumber: Int?
        var pciBusID: String?
        var memoryMiB: Int64?
        var isMIGEnabled: Bool
        var migDevices: [MIGDevice]
        var fault: String?
    }

    struct MIGDevice: Equatable {
        var index: Int
        var gpuInstanceID: Int?
        var computeInstanceID: Int?
        var memoryMiB: Int64?
    }

    static func physicalGPUs(queryXML: String) throws(InventoryError) -> [PhysicalGPU] {
        let root = try XMLTree.parse(queryXML, field: queryField)
        guard root.name == "nvidia_smi_log" else {
            throw InventoryError(field: queryField, "the root element is <\(root.name)>, not <nvidia_smi_log>; pass the output of `nvidia-smi -q -x`")
        }
        var gpus: [PhysicalGPU] = []
        for (index, element) in root.children(named: "gpu").enumerated() {
            func required(_ name: String) throws(InventoryError) -> String {
                guard let value = element.child(name)?.value, !value.isEmpty, value != "N/A" else {
                    throw InventoryError(field: queryField, "line \(element.line): GPU \(index) has no <\(name)>; pass the complete output of `nvidia-smi -q -x`, not a filtered one")
                }
                return value
            }
            let uuid = try required("uuid")
            let productName = try required("product_name")
            let migDevices = (element.child("mig_devices")?.children(named: "mig_device") ?? []).enumerated().map { position, device in
                MIGDevice(index: device.child("index").flatMap { Int($0.value) } ?? position,
                          gpuInstanceID: device.child("gpu_instance_id").flatMap { Int($0.value) },
                          computeInstanceID: device.child("compute_instance_id").flatMap { Int($0.value) },
                          memoryMiB: device.path("fb_memory_usage", "total").flatMap { mebibytes($0.value) })
            }
            let isMIGEnabled = element.path("mig_mode", "current_mig")?.value == "Enabled"
            var faults = faultReasons(element)
            if isMIGEnabled && migDevices.isEmpty {
                faults.append("nvidia-smi reports MIG enabled with no MIG instances, so CUDA cannot use the GPU; create instances (nvidia-smi mig -i \(index) -cgi <profiles> -C) or disable MIG (nvidia-smi -i \(index) -mig 0)")
            }
            gpus.append(PhysicalGPU(
                index: index, uuid: uuid, productName: productName,
                minorNumber: element.child("minor_number").flatMap { Int($0.value) },
                pciBusID: element.path("pci", "pci_bus_id")?.value ?? element.attributes["id"],
                memoryMiB: element.path("fb_memory_usage", "total").flatMap { mebibytes($0.value) },
                isMIGEnabled: isMIGEnabled, migDevices: migDevices,
                fault: faults.isEmpty ? nil : faults.joined(separator: "; ")))
        }
        return gpus
    }

    /// The fatal conditions nvidia-smi reports for one `<gpu>`, each saying what it reported and
    /// what to do. "N/A" (not supported, or ECC off) is never a fault. Elements of several driver
    /// generations are read: the names changed as NVIDIA replaced page retirement with row
    /// remapping (A100 on) and split the ECC counters.
    static func faultReasons(_ gpu: XMLTree.Element) -> [String] {
        var reasons: [String] = []
        func isYes(_ names: String...) -> Bool {
            var element: XMLTree.Element? = gpu
            for name in names { element = element?.child(name) }
            return element?.value == "Yes"
        }
        // The XML's element is remapped_row_failure; remapping_failure_occurred, after the text
        // output's "Remapping Failure Occurred", is accepted too.
        if isYes("remapped_rows", "remapped_row_failure") || isYes("remapped_rows", "remapping_failure_occurred") {
            reasons.append("nvidia-smi reports a row-remapping failure (the GPU's memory has errors it can no longer repair); drain the GPU and have it replaced")
        }
        if isYes("remapped_rows", "remapped_row_pending") {
            reasons.append("nvidia-smi reports a pending row remapping; reset the GPU (nvidia-smi -r) or reboot to apply it")
        }
        if isYes("retired_pages", "pending_blacklist") || isYes("retired_pages", "pending_retirement") {
            reasons.append("nvidia-smi reports a pending page retirement; reset the GPU (nvidia-smi -r) or reboot")
        }
        if let volatile = gpu.path("ecc_errors", "volatile") {
            // Current drivers: sram_uncorrectable, dram_uncorrectable (or sram_uncorrectable_parity
            // and _secded); older ones: double_bit/total.
            var counters = volatile.children.filter { $0.name.contains("uncorrectable") }
            if let doubleBit = volatile.path("double_bit", "total") { counters.append(doubleBit) }
            let reported = counters.compactMap { counter -> String? in
                guard let count = Int(counter.value), count > 0 else { return nil }
                return "\(counter.name == "total" ? "double_bit" : counter.name) \(count)"
            }
            if !reported.isEmpty {
                reasons.append("nvidia-smi reports volatile uncorrectable ECC errors (\(reported.joined(separator: ", "))); reset the GPU (nvidia-smi -r) or reboot, and replace it if they recur")
            }
        }
        if isYes("gpu_reset_status", "reset_required") {
            reasons.append("nvidia-smi reports that the GPU requires a reset; reset it (nvidia-smi -r) or reboot")
        }
        if let action = gpu.child("gpu_recovery_action")?.value, !["", "None", "N/A"].contains(action) {
            reasons.append("nvidia-smi reports the recovery action '\(action)'; drain the GPU and carry it out")
        }
        return reasons
    }

    /// "81920 MiB" → 81920; nil for "N/A" or anything else.
    static func mebibytes(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 2, parts[1] == "MiB" else { return nil }
        return Int64(parts[0])
    }

    static func matrix(_ text: String, gpuCount: Int) throws(InventoryError) -> TopoMatrix {
        let matrix: TopoMatrix
        do {
            matrix = try TopoMatrix(parsing: text)
        } catch {
            throw InventoryError(field: topoField, error.description)
        }
        guard matrix.topology.count == gpuCount else {
            throw InventoryError(field: topoField, "the topo -m matrix has \(matrix.topology.count) GPUs but `nvidia-smi -q -x` lists \(gpuCount); record both on the same machine at the same time")
        }
        return matrix
    }

    /// `nvidia-smi -L`: each GPU's MIG devices by device index, keyed by GPU index. The GPU lines
    /// are checked against the XML, so outputs recorded from different machines are refused.
    static func listedGPUs(_ text: String, matching gpus: [PhysicalGPU]) throws(InventoryError) -> [Int: [Int: (profile: String, uuid: String)]] {
        var result: [Int: [Int: (profile: String, uuid: String)]] = [:]
        var current: Int?
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmed
            func malformed(_ what: String) -> InventoryError {
                InventoryError(field: listField, "line \(number + 1) ('\(line)'): \(what); pass the output of `nvidia-smi -L`")
            }
            if line.hasPrefix("GPU ") {
                guard let colon = line.firstIndex(of: ":"), let index = Int(line[line.index(line.startIndex, offsetBy: 4)..<colon]),
                      let uuid = uuidInParentheses(line) else {
                    throw malformed("expected 'GPU <index>: <name> (UUID: GPU-…)'")
                }
                guard index < gpus.count, gpus[index].uuid == uuid else {
                    let xml = index < gpus.count ? "names it \(gpus[index].uuid)" : "lists \(gpus.count) GPUs"
                    throw InventoryError(field: listField, "`nvidia-smi -L` names GPU \(index) \(uuid) but `nvidia-smi -q -x` \(xml); record both on the same machine at the same time")
                }
                current = index
                result[index, default: [:]] = [:]
            } else if line.hasPrefix("MIG ") {
                let words = line.split(separator: " ")
                guard words.count >= 4, words[2] == "Device", words[3].hasSuffix(":"),
                      let device = Int(words[3].dropLast()), let uuid = uuidInParentheses(line) else {
                    throw malformed("expected 'MIG <profile> Device <index>: (UUID: MIG-…)'")
                }
                guard let gpu = current else { throw malformed("a MIG device before any GPU line") }
                result[gpu, default: [:]][device] = (String(words[1]), uuid)
            }
        }
        return result
    }

    static func uuidInParentheses(_ line: String) -> String? {
        guard let start = line.firstRange(of: "(UUID: "), let end = line[start.upperBound...].firstIndex(of: ")") else { return nil }
        let uuid = String(line[start.upperBound..<end])
        return uuid.isEmpty ? nil : uuid
    }
}
