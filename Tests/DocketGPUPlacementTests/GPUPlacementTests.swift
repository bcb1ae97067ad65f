@testable import DocketGPUPlacement
import XCTest

/// Placement on machine shapes built by hand from their topo -m matrices' structure. (Recorded
/// nvidia-smi outputs of real machines come with the GPU executor, issue 6.)
final class GPUPlacementTests: XCTestCase {
    /// Two sockets, two GPUs each: PIX within a socket, SYS across.
    let dualSocket = GPUTopology(numaNodes: [0, 0, 1, 1]) { a, b in
        a / 2 == b / 2 ? .singlePCIeSwitch : .crossSocket
    }

    /// Eight GPUs in NVLink pairs (NV12 within 0-1, 2-3, ...), NV2 between the pairs of a quad,
    /// and SYS between the two quads, one per socket.
    let nvlinkBoard = GPUTopology(numaNodes: [0, 0, 0, 0, 1, 1, 1, 1]) { a, b in
        if a / 2 == b / 2 { return .nvlink(lanes: 12) }
        if a / 4 == b / 4 { return .nvlink(lanes: 2) }
        return .crossSocket
    }

    func testLinksParseAndOrderAsTopoPrintsThem() {
        XCTAssertEqual(GPULink(topoCell: "NV12"), .nvlink(lanes: 12))
        XCTAssertEqual(GPULink(topoCell: "SYS"), .crossSocket)
        XCTAssertNil(GPULink(topoCell: "X"))
        XCTAssertNil(GPULink(topoCell: "NVx"))
        XCTAssertLessThan(GPULink.nvlink(lanes: 12), .nvlink(lanes: 2))
        XCTAssertLessThan(GPULink.nvlink(lanes: 1), .singlePCIeSwitch)
        XCTAssertLessThan(GPULink.sameNUMANode, .crossSocket)
    }

    func testTwoGPUsShareASocketRatherThanCrossOne() {
        XCTAssertEqual(GPUPlacement.choose(2, from: [0, 1, 2, 3], in: dualSocket), [0, 1])
        XCTAssertEqual(GPUPlacement.choose(2, from: [1, 2, 3], in: dualSocket), [2, 3])
        XCTAssertEqual(GPUPlacement.choose(2, from: [1, 3], in: dualSocket), [1, 3], "crossing is all that is left")
    }

    func testOneGPUTakesTheOneWhosePartnerIsBusyKeepingAWholePairFree() {
        XCTAssertEqual(GPUPlacement.choose(1, from: [1, 2, 3], in: dualSocket), [1])
        XCTAssertEqual(GPUPlacement.choose(1, from: [0, 1, 2, 4, 5, 6, 7], in: nvlinkBoard), [2],
                       "GPU 3 is busy, so its partner 2 is the one GPU whose taking strands no NVLink pair")
    }

    func testNVLinkGroupsAreFilledBeforeTheyAreSplit() {
        XCTAssertEqual(GPUPlacement.choose(2, from: Array(0..<8), in: nvlinkBoard), [0, 1])
        XCTAssertEqual(GPUPlacement.choose(4, from: Array(0..<8), in: nvlinkBoard), [0, 1, 2, 3])
        // One GPU busy in each quad: a 4-GPU job must cross, and still takes two whole pairs.
        let chosen = GPUPlacement.choose(4, from: [1, 2, 3, 4, 5, 6], in: nvlinkBoard)
        XCTAssertEqual(chosen?.count, 4)
        XCTAssertEqual(GPUPlacement.choose(2, from: [1, 2, 3, 4, 5, 6], in: nvlinkBoard), [2, 3],
                       "a whole NV12 pair, not the stranded GPU 1 with another")
    }

    func testTooFewFreeGPUsIsNoPlacement() {
        XCTAssertNil(GPUPlacement.choose(3, from: [0, 1], in: dualSocket))
        XCTAssertNil(GPUPlacement.choose(0, from: [0, 1], in: dualSocket))
        XCTAssertEqual(GPUPlacement.choose(2, from: [3, 2, 2], in: dualSocket), [2, 3], "duplicates count once")
    }

    func testLargeInventoriesUseGreedySetsAndStayOnOneBoard() {
        // 64 GPUs: eight boards of eight, SYS between boards.
        let numa = (0..<64).map { Optional($0 / 8) }
        let cluster = GPUTopology(numaNodes: numa) { a, b in
            a / 8 != b / 8 ? .crossSocket : (a / 2 == b / 2 ? .nvlink(lanes: 12) : .nvlink(lanes: 2))
        }
        XCTAssertGreaterThan(GPUPlacement.combinationCount(64, 8), GPUPlacement.exhaustiveLimit)
        let free = Array(0..<64).filter { $0 != 0 && $0 != 9 }
        let chosen = try? XCTUnwrap(GPUPlacement.choose(8, from: free, in: cluster))
        XCTAssertEqual(chosen.map { Set($0.map { $0 / 8 }).count }, 1, "one whole board: \(chosen ?? [])")
        XCTAssertEqual(chosen?.first.map { $0 / 8 }.map { $0 >= 2 }, true, "not a board with a busy GPU")
    }

    func testCombinationsAreEveryKSubset() {
        XCTAssertEqual(GPUPlacement.combinations(of: [5, 6, 7], choosing: 2), [[5, 6], [5, 7], [6, 7]])
        XCTAssertEqual(GPUPlacement.combinationCount(8, 4), 70)
    }
}

/// The `nvidia-smi topo -m` reader, on matrices written here in its format.
final class TopoMatrixTests: XCTestCase {
    func testADualSocketBoxWithANICAndATabbedHeaderWithEscapes() throws {
        let text = "\u{1B}[4m\tGPU0\tGPU1\tGPU2\tGPU3\tNIC0\tCPU Affinity\tNUMA Affinity\tGPU NUMA ID\u{1B}[0m\n"
            + "GPU0\t X \tPIX\tSYS\tSYS\tNODE\t0-15\t0\t\tN/A\n"
            + "GPU1\tPIX\t X \tSYS\tSYS\tNODE\t0-15\t0\t\tN/A\n"
            + "GPU2\tSYS\tSYS\t X \tPIX\tSYS\t16-31\t1\t\tN/A\n"
            + "GPU3\tSYS\tSYS\tPIX\t X \tSYS\t16-31\t1\t\tN/A\n"
            + "NIC0\tNODE\tNODE\tSYS\tSYS\t X \t\t\t\t\n"
            + "\nLegend:\n\n  X    = Self\n  SYS  = Connection traversing PCIe as well as the SMP interconnect between NUMA nodes\n"
        let matrix = try TopoMatrix(parsing: text)
        XCTAssertEqual(matrix.topology.count, 4)
        XCTAssertEqual(matrix.topology.link(0, 1), .singlePCIeSwitch)
        XCTAssertEqual(matrix.topology.link(1, 2), .crossSocket)
        XCTAssertEqual(matrix.topology.numaNodes, [0, 0, 1, 1])
        XCTAssertEqual(matrix.cpuAffinity, ["0-15", "0-15", "16-31", "16-31"])
        XCTAssertEqual(GPUPlacement.choose(2, from: [0, 1, 2, 3], in: matrix.topology), [0, 1])
    }

    func testAnNVLinkBoardPastedWithSpaces() throws {
        var text = "        GPU0    GPU1    GPU2    GPU3    CPU Affinity    NUMA Affinity\n"
        let cells = [["X", "NV12", "NV2", "NV2"], ["NV12", "X", "NV2", "NV2"], ["NV2", "NV2", "X", "NV12"], ["NV2", "NV2", "NV12", "X"]]
        for (index, row) in cells.enumerated() { text += "GPU\(index)    " + row.joined(separator: "    ") + "    0-63    N/A\n" }
        let matrix = try TopoMatrix(parsing: text)
        XCTAssertEqual(matrix.topology.link(2, 3), .nvlink(lanes: 12))
        XCTAssertEqual(matrix.topology.numaNodes, [nil, nil, nil, nil], "N/A is no NUMA node")
        XCTAssertEqual(GPUPlacement.choose(2, from: [0, 2, 3], in: matrix.topology), [2, 3])
    }

    func testMalformedMatricesAreRefusedSayingWhy() {
        XCTAssertThrowsError(try TopoMatrix(parsing: "nothing here")) { error in
            XCTAssertTrue("\(error)".contains("no header row"), "\(error)")
        }
        XCTAssertThrowsError(try TopoMatrix(parsing: "\tGPU0\tGPU1\nGPU0\t X \tFOO\nGPU1\tFOO\t X \n")) { error in
            XCTAssertTrue("\(error)".contains("'FOO'"), "\(error)")
        }
        XCTAssertThrowsError(try TopoMatrix(parsing: "\tGPU0\tGPU1\nGPU0\t X \tPIX\n")) { error in
            XCTAssertTrue("\(error)".contains("2 GPUs but 1 GPU rows"), "\(error)")
        }
    }
}
