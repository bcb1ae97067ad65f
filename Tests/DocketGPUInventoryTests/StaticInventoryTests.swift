import DocketGPUInventory
import DocketGPUPlacement
import Foundation
import XCTest

/// A compute environment's `static_gpus` setting, read as JSONSerialization hands it over.
final class StaticInventoryTests: XCTestCase {
    let a = "GPU-11111111-1111-1111-1111-111111111111"
    let b = "GPU-22222222-2222-2222-2222-222222222222"
    let c = "GPU-33333333-3333-3333-3333-333333333333"

    func json(_ text: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8)) }

    /// The error's whole text, "field: message".
    func failure(_ text: String) throws -> String? {
        let value = try json(text)
        do {
            _ = try GPUInventory.staticInventory(value, field: "static_gpus")
            return nil
        } catch {
            return error.description
        }
    }

    func testAFullEntryIsReadAndLinksApplyBothWays() throws {
        let inventory = try GPUInventory.staticInventory(json("""
            [{"uuid": "\(a)", "model": "NVIDIA A100", "numa_node": 0, "cpus": "0-23", "pci_bus_id": "00000000:07:00.0",
              "memory_mib": 81920, "device_nodes": ["/dev/nvidia0"], "links": {"\(b)": "NV12"}},
             {"uuid": "\(b)", "numa_node": 0},
             {"uuid": "\(c)", "numa_node": 1}]
            """), field: "static_gpus")
        XCTAssertEqual(inventory.units[0], GPUUnit(index: 0, uuid: a, model: "NVIDIA A100", pciBusID: "00000000:07:00.0", memoryMiB: 81920,
                                                   numaNode: 0, cpuAffinity: "0-23", deviceNodes: ["/dev/nvidia0"]))
        XCTAssertEqual(inventory.units.map(\.index), [0, 1, 2])
        XCTAssertEqual(inventory.units[1].model, "unknown")
        XCTAssertEqual(inventory.topology.link(1, 0), .nvlink(lanes: 12))
        XCTAssertEqual(inventory.topology.link(0, 2), .crossSocket)
        XCTAssertEqual(GPUPlacement.choose(2, from: [0, 1, 2], in: inventory.topology), [0, 1])
    }

    func testLinksDefaultToNODEOnOneNUMANodeAndSYSOtherwise() throws {
        let inventory = try GPUInventory.staticInventory(json("""
            [{"uuid": "\(a)", "numa_node": 1}, {"uuid": "\(b)", "numa_node": 1}, {"uuid": "\(c)"}]
            """), field: "static_gpus")
        XCTAssertEqual(inventory.topology.link(0, 1), .sameNUMANode)
        XCTAssertEqual(inventory.topology.link(1, 2), .crossSocket, "an unknown NUMA node is assumed far")
    }

    func testTheSettingMayBeAJSONString() throws {
        let tag = #"[{"uuid": "\#(a)"}, {"uuid": "\#(b)", "links": {"\#(a)": "PIX"}}]"#
        let inventory = try GPUInventory.staticInventory(tag, field: "static_gpus")
        XCTAssertEqual(inventory.units.map(\.uuid), [a, b])
        XCTAssertEqual(inventory.topology.link(0, 1), .singlePCIeSwitch)
        XCTAssertThrowsError(try GPUInventory.staticInventory("[{", field: "static_gpus")) { error in
            XCTAssertEqual("\(error)", #"static_gpus: is not valid JSON; give an array of objects such as [{"uuid": "GPU-…", "numa_node": 0}]"#)
        }
    }

    func testARepeatedUUIDNamesBothEntries() throws {
        XCTAssertEqual(try failure(#"[{"uuid": "GPU-ab"}, {"uuid": "GPU-ab"}]"#),
                       "static_gpus[1].uuid: 'GPU-ab' appears twice (also static_gpus[0]); every GPU needs its own UUID")
        XCTAssertEqual(try failure(#"[{"uuid": "GPU-0"}, {"uuid": "GPU-ab"}, {"uuid": "GPU-2"}, {"uuid": "GPU-ab"}]"#),
                       "static_gpus[3].uuid: 'GPU-ab' appears twice (also static_gpus[1]); every GPU needs its own UUID")
    }

    func testAMissingOrEmptyUUIDIsNamed() throws {
        XCTAssertEqual(try failure(#"[{"uuid": "GPU-0"}, {"model": "A100"}]"#),
                       "static_gpus[1].uuid: is missing; every GPU needs its UUID, as `nvidia-smi -L` prints it (GPU-…)")
        XCTAssertEqual(try failure(#"[{"uuid": ""}]"#),
                       "static_gpus[0].uuid: is empty; every GPU needs its UUID, as `nvidia-smi -L` prints it (GPU-…)")
    }

    func testValuesOfTheWrongTypeAreNamed() throws {
        XCTAssertEqual(try failure(#"{"uuid": "GPU-0"}"#),
                       #"static_gpus: is an object, not an array; give an array of objects such as [{"uuid": "GPU-…", "numa_node": 0}]"#)
        XCTAssertEqual(try failure(#"["GPU-0"]"#),
                       #"static_gpus[0]: is a string, not an object; give {"uuid": "GPU-…"} and optional keys cpus, device_nodes, links, memory_mib, model, numa_node, pci_bus_id, uuid"#)
        XCTAssertEqual(try failure(#"[{"uuid": 7}]"#), "static_gpus[0].uuid: is a number, not a string")
        XCTAssertEqual(try failure(#"[{"uuid": "GPU-0", "numa_node": "0"}]"#), "static_gpus[0].numa_node: is a string, not a whole number")
        XCTAssertEqual(try failure(#"[{"uuid": "GPU-0", "numa_node": true}]"#), "static_gpus[0].numa_node: is a boolean, not a whole number")
        XCTAssertEqual(try failure(#"[{"uuid": "GPU-0", "memory_mib": 1.5}]"#), "static_gpus[0].memory_mib: is a number, not a whole number")
        XCTAssertEqual(try failure(#"[{"uuid": "GPU-0", "device_nodes": "/dev/nvidia0"}]"#),
                       #"static_gpus[0].device_nodes: is a string, not an array; give paths such as ["/dev/nvidia0"]"#)
        XCTAssertEqual(try failure(#"[{"uuid": "GPU-0", "cpus": "0-23,x"}]"#),
                       #"static_gpus[0].cpus: '0-23,x' is not a CPU list; write it as Linux does, e.g. "0-23,48-71""#)
        XCTAssertEqual(try failure(#"[{"uuid": "GPU-0", "numa_node": -1}]"#),
                       "static_gpus[0].numa_node: is -1; give the GPU's NUMA node (0 or more), as `nvidia-smi topo -m` prints it")
        XCTAssertEqual(try failure("[]"), "static_gpus: lists no GPUs; list at least one, or remove the setting")
    }

    func testAnUnknownKeyListsTheKnownOnes() throws {
        XCTAssertEqual(try failure(#"[{"uuid": "GPU-0", "numa": 0}]"#),
                       "static_gpus[0].numa: is not a known key; the known keys are cpus, device_nodes, links, memory_mib, model, numa_node, pci_bus_id, uuid")
    }

    func testALinkToAnUnknownGPUIsNamed() throws {
        XCTAssertEqual(try failure(#"[{"uuid": "GPU-0", "links": {"GPU-9": "NV12"}}]"#),
                       "static_gpus[0].links.GPU-9: 'GPU-9' is not the uuid of any GPU in static_gpus; link only GPUs listed there")
        XCTAssertEqual(try failure(#"[{"uuid": "GPU-0", "links": {"GPU-0": "NV12"}}]"#),
                       "static_gpus[0].links.GPU-0: links the GPU to itself; list links to other GPUs only")
    }

    func testABadLinkCellIsNamed() throws {
        XCTAssertEqual(try failure(#"[{"uuid": "GPU-0", "links": {"GPU-1": "NVx"}}, {"uuid": "GPU-1"}]"#),
                       "static_gpus[0].links.GPU-1: 'NVx' is not a link topo -m prints; use NV# (e.g. NV12), PIX, PXB, PHB, NODE or SYS")
        XCTAssertEqual(try failure(#"[{"uuid": "GPU-0", "links": {"GPU-1": 12}}, {"uuid": "GPU-1"}]"#),
                       "static_gpus[0].links.GPU-1: is a number, not a string")
    }

    func testTwoEntriesGivingOnePairDifferentLinksAreRefused() throws {
        XCTAssertEqual(try failure(#"[{"uuid": "GPU-0", "links": {"GPU-1": "NV12"}}, {"uuid": "GPU-1", "links": {"GPU-0": "PIX"}}]"#),
                       "static_gpus[1].links.GPU-0: is PIX but static_gpus[0].links.GPU-1 says NV12; give the link once, or make both agree")
        XCTAssertNil(try failure(#"[{"uuid": "GPU-0", "links": {"GPU-1": "NV12"}}, {"uuid": "GPU-1", "links": {"GPU-0": "NV12"}}]"#))
    }
}
