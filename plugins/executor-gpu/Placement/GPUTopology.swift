/// How two GPUs reach each other, best first: the link kinds `nvidia-smi topo -m` prints.
/// The order is the placement's preference: a set joined by NVLink beats one that crosses a
/// PCIe switch, which beats one that crosses sockets.
public enum GPULink: Comparable, Sendable, CustomStringConvertible {
    /// NV# in topo -m: NVLink with that many bonded links (more is faster).
    case nvlink(lanes: Int)
    /// PIX: at most one PCIe bridge between them.
    case singlePCIeSwitch
    /// PXB: several PCIe bridges, no host bridge.
    case multiplePCIeSwitches
    /// PHB: through a PCIe host bridge (the CPU).
    case hostBridge
    /// NODE: between host bridges within one NUMA node.
    case sameNUMANode
    /// SYS: across the interconnect between NUMA nodes (sockets).
    case crossSocket

    /// Parses one cell of the topo -m matrix ("NV12", "PIX", "SYS", ...); nil for anything else.
    public init?(topoCell: String) {
        switch topoCell {
        case "PIX": self = .singlePCIeSwitch
        case "PXB": self = .multiplePCIeSwitches
        case "PHB": self = .hostBridge
        case "NODE": self = .sameNUMANode
        case "SYS", "SOC": self = .crossSocket
        default:
            guard topoCell.hasPrefix("NV"), let lanes = Int(topoCell.dropFirst(2)), lanes > 0 else { return nil }
            self = .nvlink(lanes: lanes)
        }
    }

    /// Lower is better; NVLink ranks by its lane count.
    var rank: Int {
        switch self {
        case .nvlink(let lanes): -lanes
        case .singlePCIeSwitch: 1
        case .multiplePCIeSwitches: 2
        case .hostBridge: 3
        case .sameNUMANode: 4
        case .crossSocket: 5
        }
    }

    public static func < (a: GPULink, b: GPULink) -> Bool { a.rank < b.rank }

    public var description: String {
        switch self {
        case .nvlink(let lanes): "NV\(lanes)"
        case .singlePCIeSwitch: "PIX"
        case .multiplePCIeSwitches: "PXB"
        case .hostBridge: "PHB"
        case .sameNUMANode: "NODE"
        case .crossSocket: "SYS"
        }
    }
}

/// One machine's GPUs and how each pair is linked. Indexes are positions in `numaNodes`
/// (nvidia-smi's enumeration order).
public struct GPUTopology: Sendable {
    /// The NUMA node of each GPU, nil where unknown.
    public var numaNodes: [Int?]
    private var links: [GPULink]

    /// - Parameter link: the link between GPUs i and j (i != j); called for i < j only.
    public init(numaNodes: [Int?], link: (Int, Int) -> GPULink) {
        self.numaNodes = numaNodes
        let count = numaNodes.count
        var links = [GPULink](repeating: .crossSocket, count: count * count)
        for i in 0..<count {
            for j in (i + 1)..<max(i + 1, count) {
                let value = link(i, j)
                links[i * count + j] = value
                links[j * count + i] = value
            }
        }
        self.links = links
    }

    public var count: Int { numaNodes.count }

    public func link(_ a: Int, _ b: Int) -> GPULink { links[a * count + b] }
}
