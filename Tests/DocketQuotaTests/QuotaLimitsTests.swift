import XCTest
import DocketQuotaCore

/// Own limits, order, and how RESERVE, LEND and LEND_AND_BORROW share idle capacity.
final class QuotaLimitsTests: XCTestCase {
    func testVCPULimitStopsAShareAtItsOwnCapacity() throws {
        var (queue, _) = try QuotaQueue.make([vcpuShare("teamA", 4)])
        for key in 1...6 as ClosedRange<UInt64> { queue.add(key, "teamA") }
        XCTAssertEqual(queue.picked(), [1, 2, 3, 4])
    }

    func testFractionalVCPULimitKeepsThousandths() throws {
        var (queue, _) = try QuotaQueue.make([shareJSON("teamA", [("VCPU", "1.5")])])
        for key in 1...4 as ClosedRange<UInt64> { queue.add(key: key, sequence: key, vcpuMillis: 500, share: "teamA") }
        XCTAssertEqual(queue.picked(), [1, 2, 3])
    }

    func testMemoryLimitCountsMiB() throws {
        var (queue, _) = try QuotaQueue.make([shareJSON("teamA", [("MEMORY", "16384")])])
        for key in 1...3 as ClosedRange<UInt64> { queue.add(key, "teamA", memoryMiB: 8192) }
        XCTAssertEqual(queue.picked(), [1, 2])
    }

    func testGPULimitCountsGPUs() throws {
        var (queue, _) = try QuotaQueue.make([shareJSON("teamA", [("GPU", "2")])])
        queue.add(1, "teamA", gpus: 1)
        queue.add(2, "teamA", gpus: 2)
        queue.add(3, "teamA", gpus: 1)
        XCTAssertEqual(queue.picked(), [1, 3])
    }

    func testJobsLimitCountsRunningJobs() throws {
        var (queue, _) = try QuotaQueue.make([shareJSON("teamA", [("JOBS", "2")])])
        queue.run(100, "teamA")
        for key in 1...3 as ClosedRange<UInt64> { queue.add(key, "teamA", vcpus: 0) }
        XCTAssertEqual(queue.picked(), [1])
    }

    func testUnlistedUnitIsUnlimited() throws {
        var (queue, _) = try QuotaQueue.make([shareJSON("teamA", [("GPU", "1")])])
        for key in 1...3 as ClosedRange<UInt64> { queue.add(key, "teamA", vcpus: 64, memoryMiB: 100_000) }
        XCTAssertEqual(queue.picked(), [1, 2, 3])
    }

    func testRunningJobsCountAgainstTheLimit() throws {
        var (queue, _) = try QuotaQueue.make([vcpuShare("teamA", 4)])
        queue.run(100, "teamA", vcpus: 3)
        queue.add(1, "teamA", vcpus: 2)
        queue.add(2, "teamA", vcpus: 1)
        XCTAssertEqual(queue.picked(), [2])
        queue.finish(key: 100)
        XCTAssertEqual(queue.picked(), [1, 2])
    }

    func testPickSkipsJobsLargerThanFree() throws {
        var (queue, _) = try QuotaQueue.make([vcpuShare("teamA", 16)])
        queue.add(1, "teamA", vcpus: 8)
        queue.add(2, "teamA", vcpus: 2)
        queue.add(3, "teamA", vcpus: 2)
        XCTAssertEqual(queue.picked(vcpus: 4), [2, 3])
    }

    func testShareOrderIsRetryThenPriorityThenSequence() throws {
        var (queue, _) = try QuotaQueue.make([vcpuShare("teamA", 100)])
        queue.add(1, "teamA", priority: 1)
        queue.add(2, "teamA", priority: 5)
        queue.add(3, "teamA", priority: 5)
        queue.add(4, "teamA", priority: 0, retry: true, sequence: 4)
        queue.add(5, "teamA", priority: 9)
        queue.add(6, "teamA", priority: 5, sequence: 0)
        XCTAssertEqual(queue.picked(), [4, 5, 6, 2, 3, 1])
    }

    func testSharesTakeTurnsWithinTheirLimits() throws {
        var (queue, _) = try QuotaQueue.make([vcpuShare("teamA", 8), vcpuShare("teamB", 8)])
        for key in 1...3 as ClosedRange<UInt64> { queue.add(key, "teamA") }
        for key in 11...13 as ClosedRange<UInt64> { queue.add(key, "teamB") }
        XCTAssertEqual(queue.picked(), [1, 11, 2, 12, 3, 13])
        XCTAssertEqual(queue.picked(), [11, 1, 12, 2, 13, 3], "the first share of the round rotates")
    }

    func testDisabledShareStillRunsItsQueuedJobs() throws {
        var (queue, _) = try QuotaQueue.make([shareJSON("teamA", [("VCPU", "2")], state: "DISABLED")])
        queue.add(1, "teamA")
        XCTAssertEqual(queue.picked(), [1])
    }

    func testJobOfUnknownShareIsNeverPicked() throws {
        var (queue, _) = try QuotaQueue.make([vcpuShare("teamA", 2)])
        queue.add(key: 1, sequence: 1, vcpuMillis: 1000, share: "nobody")
        queue.add(key: 2, sequence: 2, vcpuMillis: 1000, share: nil)
        XCTAssertEqual(queue.picked(), [])
        XCTAssertEqual(queue.runnableCount, 2)
        queue.remove(1)
        XCTAssertEqual(queue.runnableCount, 1)
    }

    // MARK: Sharing

    func testReserveShareNeitherLendsNorBorrows() throws {
        var (queue, _) = try QuotaQueue.make([vcpuShare("idle", 8, "RESERVE"), vcpuShare("busy", 4, "LEND_AND_BORROW")])
        for key in 1...10 as ClosedRange<UInt64> { queue.add(key, "busy") }
        XCTAssertEqual(queue.picked().count, 4)
    }

    func testLendShareLendsButDoesNotBorrow() throws {
        var (queue, _) = try QuotaQueue.make([vcpuShare("lender", 8, "LEND"), vcpuShare("other", 8, "LEND")])
        for key in 1...10 as ClosedRange<UInt64> { queue.add(key, "lender") }
        XCTAssertEqual(queue.picked().count, 8)
    }

    func testBorrowLimitCapsBorrowingAtAPercentOfOwnLimits() throws {
        var (queue, _) = try QuotaQueue.make([vcpuShare("lender", 8, "LEND"), vcpuShare("borrower", 4, "LEND_AND_BORROW", borrowLimit: 50)])
        for key in 1...10 as ClosedRange<UInt64> { queue.add(key, "borrower") }
        let keys = queue.picked()
        XCTAssertEqual(keys.count, 6, "4 own + 50% of 4 borrowed")
        queue.startAll(keys)
        XCTAssertEqual(keys.map { queue.isBorrowing($0)! }, [false, false, false, false, true, true])
    }

    func testUnlimitedBorrowLimitTakesAllThatIsLendable() throws {
        var (queue, _) = try QuotaQueue.make([vcpuShare("lender", 8, "LEND"), vcpuShare("borrower", 4, "LEND_AND_BORROW")])
        for key in 1...20 as ClosedRange<UInt64> { queue.add(key, "borrower") }
        XCTAssertEqual(queue.picked().count, 12)
    }

    func testLenderUsingItsCapacityLeavesLessToLend() throws {
        var (queue, _) = try QuotaQueue.make([vcpuShare("lender", 8, "LEND"), vcpuShare("borrower", 4, "LEND_AND_BORROW")])
        queue.run(100, "lender", vcpus: 6)
        for key in 1...20 as ClosedRange<UInt64> { queue.add(key, "borrower") }
        XCTAssertEqual(queue.picked().count, 6, "4 own + the lender's 2 idle vCPUs")
    }

    func testBorrowersGetLentCapacityOldestJobFirst() throws {
        var (queue, _) = try QuotaQueue.make([vcpuShare("lender", 3, "LEND"), vcpuShare("b1", 1, "LEND_AND_BORROW"),
                                              vcpuShare("b2", 1, "LEND_AND_BORROW")])
        queue.run(100, "b1")
        queue.run(101, "b2")
        queue.add(5, "b1")
        queue.add(2, "b2")
        queue.add(3, "b1")
        queue.add(4, "b2")
        XCTAssertEqual(queue.picked(), [2, 3, 4])
    }

    func testBorrowingRaisesUtilisationOverReserveOnTheSameWorkload() throws {
        // 16 vCPUs split 8/8; team A has 16 one-vCPU jobs, team B none.
        func utilisation(_ strategy: String) throws -> Int64 {
            var (queue, _) = try QuotaQueue.make([vcpuShare("teamA", 8, strategy), vcpuShare("teamB", 8, strategy)])
            for key in 1...16 as ClosedRange<UInt64> { queue.add(key, "teamA") }
            queue.startAll(queue.picked(vcpus: 16))
            return queue.usage(ofShare: "teamA")![0] * 100 / 16_000
        }
        XCTAssertEqual(try utilisation("RESERVE"), 50)
        XCTAssertEqual(try utilisation("LEND_AND_BORROW"), 100)
    }
}
