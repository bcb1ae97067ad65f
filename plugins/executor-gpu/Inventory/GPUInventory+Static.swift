import DocketGPUPlacement
import Foundation  // JSONSerialization only

extension GPUInventory {
    /// The keys a static GPU entry may have; only `uuid` is required.
    static let staticGPUKeys = ["cpus", "device_nodes", "links", "memory_mib", "model", "numa_node", "pci_bus_id", "uuid"]

    /// Builds an inventory from a compute environment's static GPU list, for machines where
    /// nvidia-smi cannot run or does not tell the whole story. Each entry is an object such as
    /// `{"uuid": "GPU-1111…", "model": "NVIDIA A100", "numa_node": 0, "cpus": "0-23",
    /// "pci_bus_id": "00000000:07:00.0", "memory_mib": 81920, "device_nodes": ["/dev/nvidia0"],
    /// "links": {"GPU-2222…": "NV12"}}`; its index is its position in the list.
    ///
    /// Links default to NODE between GPUs on the same `numa_node` and SYS otherwise (including
    /// where either node is unknown). A `links` entry is a topo -m cell (NV#, PIX, PXB, PHB,
    /// NODE, SYS) and applies both ways.
    ///
    /// - Parameters:
    ///   - json: the setting as JSONSerialization returns it: an array of objects, or a string
    ///     holding that array as JSON (compute-environment tags are strings).
    ///   - field: the setting's name, which errors begin with (`static_gpus[3].uuid`).
    /// - Throws: `InventoryError` naming the exact field: invalid JSON, a value of the wrong
    ///   type, an unknown key, a missing, empty or repeated uuid, a link to a GPU not listed or to
    ///   itself, a link cell topo -m does not print, or two entries giving one pair different links.
    public static func staticInventory(_ json: Any, field: String) throws(InventoryError) -> GPUInventory {
        var json = json
        if let text = json as? String {
            do {
                json = try JSONSerialization.jsonObject(with: Data(text.utf8))
            } catch {
                throw InventoryError(field: field, "is not valid JSON; give an array of objects such as [{\"uuid\": \"GPU-…\", \"numa_node\": 0}]")
            }
        }
        guard let entries = json as? [Any] else {
            throw InventoryError(field: field, "is \(jsonType(json)), not an array; give an array of objects such as [{\"uuid\": \"GPU-…\", \"numa_node\": 0}]")
        }
        guard !entries.isEmpty else {
            throw InventoryError(field: field, "lists no GPUs; list at least one, or remove the setting")
        }

        // 1. Each entry's own keys, so a later check can name the entry that holds a uuid.
        var units: [GPUUnit] = []
        var declaredLinks: [[(uuid: String, cell: String)]] = []
        var positionOfUUID: [String: Int] = [:]
        for (index, entry) in entries.enumerated() {
            let at = "\(field)[\(index)]"
            guard let object = entry as? [String: Any] else {
                throw InventoryError(field: at, "is \(jsonType(entry)), not an object; give {\"uuid\": \"GPU-…\"} and optional keys \(staticGPUKeys.joined(separator: ", "))")
            }
            for key in object.keys.sorted() where !staticGPUKeys.contains(key) {
                throw InventoryError(field: "\(at).\(key)", "is not a known key; the known keys are \(staticGPUKeys.joined(separator: ", "))")
            }
            guard let rawUUID = object["uuid"] else {
                throw InventoryError(field: "\(at).uuid", "is missing; every GPU needs its UUID, as `nvidia-smi -L` prints it (GPU-…)")
            }
            let uuid = try string(rawUUID, at: "\(at).uuid")
            guard !uuid.isEmpty else {
                throw InventoryError(field: "\(at).uuid", "is empty; every GPU needs its UUID, as `nvidia-smi -L` prints it (GPU-…)")
            }
            if let earlier = positionOfUUID[uuid] {
                throw InventoryError(field: "\(at).uuid", "'\(uuid)' appears twice (also \(field)[\(earlier)]); every GPU needs its own UUID")
            }
            positionOfUUID[uuid] = index

            var unit = GPUUnit(index: index, uuid: uuid, model: try object["model"].map { v throws(InventoryError) in try string(v, at: "\(at).model") } ?? "unknown")
            unit.pciBusID = try object["pci_bus_id"].map { v throws(InventoryError) in try string(v, at: "\(at).pci_bus_id") }
            if let value = object["numa_node"] {
                let node = try integer(value, at: "\(at).numa_node")
                guard node >= 0 else {
                    throw InventoryError(field: "\(at).numa_node", "is \(node); give the GPU's NUMA node (0 or more), as `nvidia-smi topo -m` prints it")
                }
                unit.numaNode = node
            }
            if let value = object["memory_mib"] {
                let memory = try integer(value, at: "\(at).memory_mib")
                guard memory > 0 else {
                    throw InventoryError(field: "\(at).memory_mib", "is \(memory); give the GPU's memory in MiB (81920 for 80 GB)")
                }
                unit.memoryMiB = Int64(memory)
            }
            if let value = object["cpus"] {
                let cpus = try string(value, at: "\(at).cpus")
                guard isCPUList(cpus) else {
                    throw InventoryError(field: "\(at).cpus", "'\(cpus)' is not a CPU list; write it as Linux does, e.g. \"0-23,48-71\"")
                }
                unit.cpuAffinity = cpus
            }
            if let value = object["device_nodes"] {
                guard let nodes = value as? [Any] else {
                    throw InventoryError(field: "\(at).device_nodes", "is \(jsonType(value)), not an array; give paths such as [\"/dev/nvidia0\"]")
                }
                for (position, node) in nodes.enumerated() {
                    let path = try string(node, at: "\(at).device_nodes[\(position)]")
                    guard path.hasPrefix("/dev/") else {
                        throw InventoryError(field: "\(at).device_nodes[\(position)]", "'\(path)' is not under /dev; give device nodes such as \"/dev/nvidia0\"")
                    }
                    unit.deviceNodes.append(path)
                }
            }
            var links: [(uuid: String, cell: String)] = []
            if let value = object["links"] {
                guard let map = value as? [String: Any] else {
                    throw InventoryError(field: "\(at).links", "is \(jsonType(value)), not an object; map other GPUs' UUIDs to topo -m cells, e.g. {\"GPU-2222…\": \"NV12\"}")
                }
                for other in map.keys.sorted() {
                    links.append((other, try string(map[other]!, at: "\(at).links.\(other)")))
                }
            }
            units.append(unit)
            declaredLinks.append(links)
        }

        // 2. Links, now that every uuid is known; a pair given twice must agree.
        var explicit: [Int: [Int: (link: GPULink, from: String)]] = [:]
        for (index, links) in declaredLinks.enumerated() {
            for (other, cell) in links {
                let at = "\(field)[\(index)].links.\(other)"
                guard let otherIndex = positionOfUUID[other] else {
                    throw InventoryError(field: at, "'\(other)' is not the uuid of any GPU in \(field); link only GPUs listed there")
                }
                guard otherIndex != index else {
                    throw InventoryError(field: at, "links the GPU to itself; list links to other GPUs only")
                }
                guard let link = GPULink(topoCell: cell) else {
                    throw InventoryError(field: at, "'\(cell)' is not a link topo -m prints; use NV# (e.g. NV12), PIX, PXB, PHB, NODE or SYS")
                }
                let (a, b) = (min(index, otherIndex), max(index, otherIndex))
                if let earlier = explicit[a]?[b], earlier.link != link {
                    throw InventoryError(field: at, "is \(link) but \(earlier.from) says \(earlier.link); give the link once, or make both agree")
                }
                explicit[a, default: [:]][b] = (link, at)
            }
        }
        let topology = GPUTopology(numaNodes: units.map(\.numaNode)) { a, b in
            if let link = explicit[a]?[b]?.link { return link }
            if let nodeA = units[a].numaNode, nodeA == units[b].numaNode { return .sameNUMANode }
            return .crossSocket
        }
        return GPUInventory(units: units, topology: topology)
    }

    private static func string(_ value: Any, at field: String) throws(InventoryError) -> String {
        guard let text = value as? String else {
            throw InventoryError(field: field, "is \(jsonType(value)), not a string")
        }
        return text
    }

    private static func integer(_ value: Any, at field: String) throws(InventoryError) -> Int {
        guard !isBoolean(value), let number = value as? Int else {
            throw InventoryError(field: field, "is \(jsonType(value)), not a whole number")
        }
        return number
    }

    /// JSONSerialization's numbers bridge to Bool when they are 0 or 1, and its booleans to Int,
    /// so the dynamic type is what tells them apart.
    private static func isBoolean(_ value: Any) -> Bool {
        type(of: value) == Bool.self || (value is Bool && String(describing: type(of: value)).hasSuffix("Boolean"))
    }

    private static func jsonType(_ value: Any) -> String {
        switch value {
        case _ where isBoolean(value): "a boolean"
        case is String: "a string"
        case is Int: "a number"
        case is Double: "a number"
        case is [Any]: "an array"
        case is [String: Any]: "an object"
        case is NSNull: "null"
        default: "\(type(of: value))"
        }
    }

    /// A Linux cpulist: comma-separated CPUs or ascending ranges ("0-23,48-71").
    static func isCPUList(_ text: String) -> Bool {
        guard !text.isEmpty else { return false }
        return text.split(separator: ",", omittingEmptySubsequences: false).allSatisfy { part in
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), bounds.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) else { return false }
            return bounds.count == 1 || Int(bounds[0])! <= Int(bounds[1])!
        }
    }
}
