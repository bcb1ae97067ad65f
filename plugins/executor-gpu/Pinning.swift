import DocketGPUInventory
import Foundation

/// This machine's CPUs and NUMA nodes, read once, and the CPU and memory pinning that puts a
/// job beside its GPUs.
struct MachineNUMA: Sendable {
    let onlineCPUs: Set<Int>
    let onlineNodes: Set<Int>
    /// Each online NUMA node's CPUs, for GPUs the inventory gives a node but no CPU affinity.
    let nodeCPUs: [Int: [Int]]

    init() {
        onlineCPUs = Set(CPUList.parse(Self.read("/sys/devices/system/cpu/online")) ?? [])
        // A kernel without NUMA support has no node directory: all memory is node 0.
        let nodes = Set(CPUList.parse(Self.read("/sys/devices/system/node/online")) ?? [0])
        onlineNodes = nodes
        nodeCPUs = Dictionary(uniqueKeysWithValues: nodes.compactMap { node in
            CPUList.parse(Self.read("/sys/devices/system/node/node\(node)/cpulist")).map { (node, $0) }
        })
    }

    struct Pinning {
        /// DOCKET_CPUSET_CPUS and DOCKET_CPUSET_MEMS, nil where nothing can be pinned.
        var cpus: String?
        var nodes: String?
        /// What was pinned, or why not, for the attempt's log.
        var note: String
    }

    /// The CPUs near `units` (their CPU affinity, else their NUMA node's CPUs) and their NUMA
    /// nodes, each cut to what this machine has online: an inventory recorded on a bigger
    /// machine pins to what exists here, or not at all.
    func pinning(for units: [GPUUnit]) -> Pinning {
        var cpus = Set<Int>()
        var nodes = Set<Int>()
        for unit in units {
            if let node = unit.numaNode { nodes.insert(node) }
            if let list = unit.cpuAffinity.flatMap(CPUList.parse) {
                cpus.formUnion(list)
            } else if let node = unit.numaNode, let list = nodeCPUs[node] {
                cpus.formUnion(list)
            }
        }
        let wanted = (cpus: CPUList.format(cpus), nodes: CPUList.format(nodes))
        cpus.formIntersection(onlineCPUs)
        nodes.formIntersection(onlineNodes)
        guard !cpus.isEmpty else {
            let why = wanted.cpus.isEmpty ? "the inventory gives their GPUs no CPU affinity or NUMA node" : "their CPUs \(wanted.cpus) are not online here"
            return Pinning(cpus: nil, nodes: nil, note: "CPUs not pinned: \(why)")
        }
        let cpuText = CPUList.format(cpus)
        guard !nodes.isEmpty else { return Pinning(cpus: cpuText, nodes: nil, note: "CPUs \(cpuText)") }
        let nodeText = CPUList.format(nodes)
        return Pinning(cpus: cpuText, nodes: nodeText, note: "CPUs \(cpuText) and memory on NUMA node \(nodeText)")
    }

    private static func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }
}

/// Linux's list format for CPUs and nodes: "0-3,8,10-11".
enum CPUList {
    static func parse(_ text: String) -> [Int]? {
        let text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return nil }
        var numbers: [Int] = []
        for part in text.split(separator: ",") {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard let low = Int(bounds[0]) else { return nil }
            guard bounds.count <= 2, let high = bounds.count == 2 ? Int(bounds[1]) : low, low <= high, high < 1 << 16 else { return nil }
            numbers.append(contentsOf: low...high)
        }
        return numbers
    }

    static func format(_ numbers: Set<Int>) -> String {
        var ranges: [String] = []
        var pending: ClosedRange<Int>?
        for number in numbers.sorted() {
            if let range = pending, range.upperBound + 1 == number {
                pending = range.lowerBound...number
                continue
            }
            if let range = pending { ranges.append(text(range)) }
            pending = number...number
        }
        if let range = pending { ranges.append(text(range)) }
        return ranges.joined(separator: ",")
    }

    private static func text(_ range: ClosedRange<Int>) -> String {
        range.count == 1 ? "\(range.lowerBound)" : "\(range.lowerBound)-\(range.upperBound)"
    }
}
