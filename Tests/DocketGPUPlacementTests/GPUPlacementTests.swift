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
