import DocketGPUInventory
import DocketGPUPlacement
import XCTest

/// The machine shapes under Fixtures/, parsed as the executor reads them.
final class FixtureShapeTests: XCTestCase {
    func testEveryFixtureParsesWithUniqueUUIDsAndAFullTopology() throws {
        let fixtures = try Fixture.all()
        XCTAssertGreaterThanOrEqual(fixtures.count, 3)
        for fixture in fixtures {
            let inventory = try fixture.inventory()
            XCTAssertFalse(inventory.units.isEmpty, fixture.name)
            XCTAssertEqual(Set(inventory.units.map(\.uuid)).count, inventory.units.count, "\(fixture.name): duplicate UUIDs")
            XCTAssertEqual(inventory.topology.count, inventory.units.count, fixture.name)
        }
    }

    func testDGXA100HasEightWholeGPUsWithTheirNUMANodesAndMinorNumbers() throws {
        let units = try Fixture("dgx-a100-8gpu").inventory().units
        XCTAssertEqual(units.map(\.index), Array(0..<8))
        XCTAssertEqual(units[0].uuid, "GPU-1c5bd68c-290f-b2d6-4d96-6fbe1ef32162")
        XCTAssertEqual(units[7].uuid, "GPU-3ccd66e7-ee96-86ff-a5e0-5653ee553993")
        XCTAssertEqual(Set(units.map(\.model)), ["NVIDIA A100-SXM4-80GB"])
        XCTAssertEqual(Set(units.map(\.memoryMiB)), [81920])
        XCTAssertEqual(units.map(\.pciBusID), ["07", "0F", "47", "4E", "87", "90", "B7", "BD"].map { "00000000:\($0):00.0" })
        XCTAssertEqual(units.map(\.numaNode), [3, 3, 1, 1, 7, 7, 5, 5])
        XCTAssertEqual(units[0].cpuAffinity, "48-63,176-191")
        XCTAssertEqual(units[6].cpuAffinity, "80-95,208-223")
        XCTAssertEqual(units.map(\.deviceNodes), [2, 3, 0, 1, 6, 7, 4, 5].map { ["/dev/nvidia\($0)"] },
                       "device nodes follow minor numbers, which a DGX does not number in bus order")
        XCTAssertTrue(units.allSatisfy { $0.parentUUID == nil && $0.migProfile == nil && $0.fault == nil })
    }

    func testDGXA100LinksEveryPairByNVLinkAndPlacesAPairOnOneNUMANode() throws {
        let topology = try Fixture("dgx-a100-8gpu").inventory().topology
        for a in 0..<8 {
            for b in 0..<8 where a != b { XCTAssertEqual(topology.link(a, b), .nvlink(lanes: 12), "GPU\(a)-GPU\(b)") }
        }
        let pair = try XCTUnwrap(GPUPlacement.choose(2, from: Array(0..<8), in: topology))
        XCTAssertEqual(topology.numaNodes[pair[0]], topology.numaNodes[pair[1]])
        // Every pair is NV12, so only the NUMA nodes tell [2, 3] (node 1) from [1, 2] (nodes 3 and 1).
        XCTAssertEqual(GPUPlacement.choose(2, from: [1, 2, 3], in: topology), [2, 3])
        XCTAssertEqual(GPUPlacement.choose(4, from: Array(0..<8), in: topology).map { Set($0.map { topology.numaNodes[$0] }).count }, 2,
                       "four GPUs span two NUMA nodes of one socket's pairs, not four")
    }

    func testPCIeBoxHasFourGPUsOnTwoSockets() throws {
        let units = try Fixture("pcie-4gpu-dual-socket").inventory().units
        XCTAssertEqual(units.map(\.index), [0, 1, 2, 3])
        XCTAssertEqual(units.map(\.uuid), ["GPU-604f3ede-5453-58d0-9dee-1e5cca1cf11c", "GPU-656e5b13-c18b-0067-7dd9-f7863185aeda",
                                           "GPU-5b3345e2-9d64-1e15-1977-bd636621ef08", "GPU-456153a3-d61f-f81e-60c1-df77206fc434"])
        XCTAssertEqual(Set(units.map(\.model)), ["NVIDIA RTX A6000"])
        XCTAssertEqual(Set(units.map(\.memoryMiB)), [49140])
        XCTAssertEqual(units.map(\.numaNode), [0, 0, 1, 1])
        XCTAssertEqual(units.map(\.cpuAffinity), ["0-15,32-47", "0-15,32-47", "16-31,48-63", "16-31,48-63"])
        XCTAssertEqual(units.map(\.deviceNodes), (0..<4).map { ["/dev/nvidia\($0)"] })
        XCTAssertTrue(units.allSatisfy { $0.fault == nil }, "ECC is off, so its counters read N/A, which is no fault")
    }

    func testPCIeBoxPlacesTwoGPUsOnAPIXPairNotAcrossSockets() throws {
        let topology = try Fixture("pcie-4gpu-dual-socket").inventory().topology
        XCTAssertEqual(topology.link(0, 1), .singlePCIeSwitch)
        XCTAssertEqual(topology.link(1, 2), .crossSocket)
        XCTAssertEqual(GPUPlacement.choose(2, from: [0, 1, 2, 3], in: topology), [0, 1])
        XCTAssertEqual(GPUPlacement.choose(2, from: [1, 2, 3], in: topology), [2, 3])
    }

    func testPCIeBoxPlacesOneGPUInTheAlreadyBrokenPair() throws {
        let topology = try Fixture("pcie-4gpu-dual-socket").inventory().topology
        XCTAssertEqual(GPUPlacement.choose(1, from: [1, 2, 3], in: topology), [1])
        XCTAssertEqual(GPUPlacement.choose(1, from: [0, 1, 3], in: topology), [3])
    }

    func testMIGShapeHasOneUnitPerInstanceAndTheWholeGPUBesideIt() throws {
        let units = try Fixture("a100-mig").inventory().units
        let parent = "GPU-2b25467f-2416-dccf-ae2d-d971bd31d8ec"
        XCTAssertEqual(units.map(\.uuid), ["MIG-765ade78-4f04-3a68-dee6-eb1cd371a01d", "MIG-fd46c786-b799-3079-85b1-db11230ad879",
                                           "MIG-c9a8c6d7-6014-fa24-89f9-c45c2cf46c86", "MIG-c7957e9e-56a3-7cb0-0cb5-8a993bdc4fb4",
                                           "GPU-e241f496-b6fc-da12-aab9-4c3997eb787e"])
        XCTAssertEqual(units.map(\.index), [0, 0, 0, 0, 1])
        XCTAssertEqual(units.map(\.parentUUID), [parent, parent, parent, parent, nil])
        XCTAssertEqual(units.map(\.migProfile), ["3g.20gb", "2g.10gb", "1g.5gb", "1g.5gb", nil])
        XCTAssertEqual(units.map(\.model), ["NVIDIA A100-SXM4-40GB MIG 3g.20gb", "NVIDIA A100-SXM4-40GB MIG 2g.10gb",
                                            "NVIDIA A100-SXM4-40GB MIG 1g.5gb", "NVIDIA A100-SXM4-40GB MIG 1g.5gb",
                                            "NVIDIA A100-SXM4-40GB"])
        XCTAssertEqual(units.map(\.memoryMiB), [19968, 9856, 4864, 4864, 40960])
        XCTAssertEqual(units.map(\.gpuInstanceID), [2, 3, 9, 10, nil])
        XCTAssertEqual(units.map(\.computeInstanceID), [0, 0, 0, 0, nil])
        XCTAssertEqual(units.map(\.pciBusID), Array(repeating: "00000000:00:04.0", count: 4) + ["00000000:00:05.0"])
        XCTAssertEqual(units.map(\.deviceNodes), Array(repeating: ["/dev/nvidia0"], count: 4) + [["/dev/nvidia1"]])
        XCTAssertEqual(Set(units.map(\.numaNode)), [0])
        XCTAssertEqual(Set(units.map(\.cpuAffinity)), ["0-23"])
    }

    func testMIGInstancesOfOneGPUShareItWithoutPeerToPeer() throws {
        let topology = try Fixture("a100-mig").inventory().topology
        XCTAssertEqual(topology.link(0, 3), .singlePCIeSwitch)
        XCTAssertEqual(topology.link(0, 4), .nvlink(lanes: 12), "an instance and another GPU are linked as their GPUs are")
    }
}
