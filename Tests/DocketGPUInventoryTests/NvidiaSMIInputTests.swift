import DocketGPUInventory
import DocketGPUPlacement
import XCTest

/// What happens when the nvidia-smi outputs are missing, partial or from different machines.
final class NvidiaSMIInputTests: XCTestCase {
    func error(_ body: () throws -> Any) -> InventoryError? {
        do {
            _ = try body()
            return nil
        } catch let error as InventoryError {
            return error
        } catch {
            XCTFail("unexpected \(error)")
            return nil
        }
    }

    func testMIGInstancesWithoutTheGPUListAreRefusedWithTheFix() throws {
        let fixture = try Fixture("a100-mig")
        let error = try XCTUnwrap(self.error { try NvidiaSMI.inventory(queryXML: fixture.queryXML, topoMatrix: fixture.topoMatrix, gpuList: nil) })
        XCTAssertEqual(error.field, "list")
        XCTAssertEqual(error.message, "GPU 0 (GPU-2b25467f-2416-dccf-ae2d-d971bd31d8ec) has MIG enabled with 4 instances, whose UUIDs only `nvidia-smi -L` prints; record `nvidia-smi -L` alongside `nvidia-smi -q -x` and pass it too")
    }

    func testAGPUListMissingAnInstanceIsRefused() throws {
        let fixture = try Fixture("a100-mig")
        let list = fixture.gpuList!.split(separator: "\n").filter { !$0.contains("Device  3") }.joined(separator: "\n")
        let error = try XCTUnwrap(self.error { try NvidiaSMI.inventory(queryXML: fixture.queryXML, topoMatrix: nil, gpuList: list) })
        XCTAssertEqual(error.field, "list")
        XCTAssertTrue(error.message.hasPrefix("`nvidia-smi -L` does not list MIG device 3 of GPU 0"), error.message)
    }

    func testAGPUListFromAnotherMachineIsRefused() throws {
        let mig = try Fixture("a100-mig")
        let dgx = try Fixture("dgx-a100-8gpu")
        let error = try XCTUnwrap(self.error { try NvidiaSMI.inventory(queryXML: dgx.queryXML, topoMatrix: nil, gpuList: mig.gpuList) })
        XCTAssertEqual(error.description, "list: `nvidia-smi -L` names GPU 0 GPU-2b25467f-2416-dccf-ae2d-d971bd31d8ec but `nvidia-smi -q -x` names it GPU-1c5bd68c-290f-b2d6-4d96-6fbe1ef32162; record both on the same machine at the same time")
    }

    func testATopoMatrixWithADifferentGPUCountIsRefused() throws {
        let dgx = try Fixture("dgx-a100-8gpu")
        let pcie = try Fixture("pcie-4gpu-dual-socket")
        let error = try XCTUnwrap(self.error { try NvidiaSMI.inventory(queryXML: dgx.queryXML, topoMatrix: pcie.topoMatrix, gpuList: nil) })
        XCTAssertEqual(error.field, "topo")
        XCTAssertEqual(error.message, "the topo -m matrix has 4 GPUs but `nvidia-smi -q -x` lists 8; record both on the same machine at the same time")
    }

    func testAnUnreadableTopoMatrixIsATopoError() throws {
        let dgx = try Fixture("dgx-a100-8gpu")
        let error = try XCTUnwrap(self.error { try NvidiaSMI.inventory(queryXML: dgx.queryXML, topoMatrix: "no matrix here", gpuList: nil) })
        XCTAssertEqual(error.field, "topo")
    }

    func testWithoutATopoMatrixOnlyInstancesOfOneGPUAreNear() throws {
        let mig = try Fixture("a100-mig")
        let inventory = try NvidiaSMI.inventory(queryXML: mig.queryXML, topoMatrix: nil, gpuList: mig.gpuList)
        XCTAssertEqual(inventory.topology.link(0, 1), .singlePCIeSwitch)
        XCTAssertEqual(inventory.topology.link(0, 4), .crossSocket)
        XCTAssertTrue(inventory.units.allSatisfy { $0.numaNode == nil && $0.cpuAffinity == nil })
    }

    func testMalformedXMLIsAQueryErrorWithItsLine() throws {
        let error = try XCTUnwrap(self.error { try NvidiaSMI.inventory(queryXML: "<nvidia_smi_log>\n<gpu>\n</nvidia_smi_log>", topoMatrix: nil, gpuList: nil) })
        XCTAssertEqual(error.description, "query: line 3, column 1: </nvidia_smi_log> closes <gpu>, opened at line 2")
    }

    func testXMLOfAnotherToolIsRefused() throws {
        let error = try XCTUnwrap(self.error { try NvidiaSMI.inventory(queryXML: "<rocm/>", topoMatrix: nil, gpuList: nil) })
        XCTAssertEqual(error.description, "query: the root element is <rocm>, not <nvidia_smi_log>; pass the output of `nvidia-smi -q -x`")
    }

    func testAGPUWithoutAUUIDIsRefused() throws {
        let xml = "<nvidia_smi_log>\n<gpu id=\"00000000:07:00.0\"><product_name>NVIDIA A100</product_name></gpu></nvidia_smi_log>"
        let error = try XCTUnwrap(self.error { try NvidiaSMI.inventory(queryXML: xml, topoMatrix: nil, gpuList: nil) })
        XCTAssertEqual(error.description, "query: line 2: GPU 0 has no <uuid>; pass the complete output of `nvidia-smi -q -x`, not a filtered one")
    }
}
