import DocketGPUInventory
import XCTest

/// Health read from `nvidia-smi -q -x`: fatal conditions become a unit's `fault`; N/A never does.
final class GPUFaultTests: XCTestCase {
    func testARowRemappingFailureFaultsOnlyThatGPU() throws {
        let units = try Fixture("dgx-a100-8gpu")
            .replacing("<remapped_row_failure>No</remapped_row_failure>", with: "<remapped_row_failure>Yes</remapped_row_failure>", occurrence: 2)
            .inventory().units
        XCTAssertEqual(units[2].fault, "nvidia-smi reports a row-remapping failure (the GPU's memory has errors it can no longer repair); drain the GPU and have it replaced")
        XCTAssertEqual(units.filter { $0.fault != nil }.count, 1)
    }

    func testTheTextOutputsNameForARemappingFailureIsAcceptedToo() throws {
        let units = try Fixture("dgx-a100-8gpu")
            .replacing("<remapped_row_failure>No</remapped_row_failure>", with: "<remapping_failure_occurred>Yes</remapping_failure_occurred>")
            .inventory().units
        XCTAssertNotNil(units[0].fault)
    }

    func testNotApplicableIsNoFault() throws {
        let units = try Fixture("dgx-a100-8gpu")
            .replacing("<remapped_row_failure>No</remapped_row_failure>", with: "<remapped_row_failure>N/A</remapped_row_failure>")
            .replacing("<dram_uncorrectable>0</dram_uncorrectable>", with: "<dram_uncorrectable>N/A</dram_uncorrectable>")
            .inventory().units
        XCTAssertNil(units[0].fault)
    }

    func testAPendingPageRetirementAsksForAReset() throws {
        let units = try Fixture("dgx-a100-8gpu")
            .replacing("<pending_retirement>N/A</pending_retirement>", with: "<pending_retirement>Yes</pending_retirement>")
            .inventory().units
        XCTAssertEqual(units[0].fault, "nvidia-smi reports a pending page retirement; reset the GPU (nvidia-smi -r) or reboot")
        let blacklisted = try Fixture("dgx-a100-8gpu")
            .replacing("<pending_blacklist>N/A</pending_blacklist>", with: "<pending_blacklist>Yes</pending_blacklist>")
            .inventory().units
        XCTAssertEqual(blacklisted[0].fault, units[0].fault)
    }

    func testAPendingRowRemappingAsksForAReset() throws {
        let units = try Fixture("dgx-a100-8gpu")
            .replacing("<remapped_row_pending>No</remapped_row_pending>", with: "<remapped_row_pending>Yes</remapped_row_pending>")
            .inventory().units
        XCTAssertEqual(units[0].fault, "nvidia-smi reports a pending row remapping; reset the GPU (nvidia-smi -r) or reboot to apply it")
    }

    func testVolatileUncorrectableECCErrorsFaultButAggregateOnesDoNot() throws {
        // The first dram_uncorrectable of each GPU is the volatile one, the second the aggregate.
        let volatile = try Fixture("dgx-a100-8gpu")
            .replacing("<dram_uncorrectable>0</dram_uncorrectable>", with: "<dram_uncorrectable>2</dram_uncorrectable>", occurrence: 0)
            .inventory().units
        XCTAssertEqual(volatile[0].fault, "nvidia-smi reports volatile uncorrectable ECC errors (dram_uncorrectable 2); reset the GPU (nvidia-smi -r) or reboot, and replace it if they recur")
        let aggregate = try Fixture("dgx-a100-8gpu")
            .replacing("<dram_uncorrectable>0</dram_uncorrectable>", with: "<dram_uncorrectable>2</dram_uncorrectable>", occurrence: 1)
            .inventory().units
        XCTAssertNil(aggregate[0].fault)
    }

    func testOlderDriversDoubleBitCountIsRead() throws {
        let xml = """
            <nvidia_smi_log><gpu id="00000000:3B:00.0"><product_name>Tesla V100-SXM2-16GB</product_name>
            <uuid>GPU-0d0e0f10-0000-0000-0000-000000000001</uuid><minor_number>0</minor_number>
            <ecc_errors><volatile><single_bit><device_memory>4</device_memory><total>4</total></single_bit>
            <double_bit><device_memory>1</device_memory><total>1</total></double_bit></volatile></ecc_errors>
            </gpu></nvidia_smi_log>
            """
        let unit = try XCTUnwrap(NvidiaSMI.inventory(queryXML: xml, topoMatrix: nil, gpuList: nil).units.first)
        XCTAssertEqual(unit.fault, "nvidia-smi reports volatile uncorrectable ECC errors (double_bit 1); reset the GPU (nvidia-smi -r) or reboot, and replace it if they recur")
    }

    func testAFaultyGPUsMIGInstancesAreAllFaulty() throws {
        let units = try Fixture("a100-mig")
            .replacing("<pending_retirement>N/A</pending_retirement>", with: "<pending_retirement>Yes</pending_retirement>")
            .inventory().units
        XCTAssertEqual(units.map { $0.fault != nil }, [true, true, true, true, false])
    }

    func testMIGEnabledWithoutInstancesLeavesTheGPUUnusable() throws {
        let xml = """
            <nvidia_smi_log><gpu id="00000000:07:00.0"><product_name>NVIDIA A100-SXM4-40GB</product_name>
            <mig_mode><current_mig>Enabled</current_mig><pending_mig>Enabled</pending_mig></mig_mode>
            <mig_devices>None</mig_devices><uuid>GPU-0d0e0f10-0000-0000-0000-000000000002</uuid></gpu></nvidia_smi_log>
            """
        let unit = try XCTUnwrap(NvidiaSMI.inventory(queryXML: xml, topoMatrix: nil, gpuList: nil).units.first)
        XCTAssertEqual(unit.uuid, "GPU-0d0e0f10-0000-0000-0000-000000000002")
        XCTAssertEqual(unit.fault, "nvidia-smi reports MIG enabled with no MIG instances, so CUDA cannot use the GPU; create instances (nvidia-smi mig -i 0 -cgi <profiles> -C) or disable MIG (nvidia-smi -i 0 -mig 0)")
    }
}
