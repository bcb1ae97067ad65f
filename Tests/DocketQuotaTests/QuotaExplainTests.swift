import XCTest
import DocketQuotaCore

/// explain_job and describe_shares, compared whole.
final class QuotaExplainTests: XCTestCase {
    func testReserveShareAtItsLimitSaysItMayNotBorrow() throws {
        var (queue, _) = try QuotaQueue.make([vcpuShare("teamA", 8)], capacity: "{\"vcpuMillis\": 16000}")
        queue.run(100, "teamA", vcpus: 8)
        queue.add(1, "teamA")
        XCTAssertEqual(queue.explain(key: 1),
                       "{\"position\": 0, \"share\": \"teamA\", \"shareUsage\": 8, \"shareTargetPercent\": 50, \"shareHeldPercent\": 100, "
                       + "\"reason\": \"quota share teamA uses 8 of its 8 vCPUs and may not borrow (RESERVE); this job needs 1 more.\"}")
    }

    func testBorrowerSaysHowMuchItBorrowsAndWhatIsLendable() throws {
        var (queue, _) = try QuotaQueue.make([vcpuShare("teamA", 4, "LEND"), vcpuShare("teamB", 8, "LEND_AND_BORROW", borrowLimit: 100)])
        queue.run(100, "teamA", vcpus: 4)
        for key in 1...3 as ClosedRange<UInt64> { queue.run(key, "teamB", vcpus: 4) }
        queue.add(10, "teamB", vcpus: 2)
        XCTAssertEqual(queue.explain(key: 10),
                       "{\"position\": 0, \"share\": \"teamB\", \"shareUsage\": 12, \"shareHeldPercent\": 150, "
                       + "\"reason\": \"quota share teamB uses 12 of its 8 vCPUs, borrowing 4 of 8 allowed vCPUs; 0 are lendable now.\"}")
    }

    func testJobWithinItsLimitsWaitsForFreeCapacity() throws {
        var (queue, _) = try QuotaQueue.make([vcpuShare("teamA", 8), vcpuShare("teamB", 8)])
        queue.add(1, "teamA")
        queue.add(2, "teamA")
        queue.add(3, "teamB")
        XCTAssertEqual(queue.explain(key: 2),
                       "{\"position\": 2, \"share\": \"teamA\", \"shareUsage\": 0, \"shareHeldPercent\": 0, "
                       + "\"reason\": \"quota share teamA uses 0 of its 8 vCPUs; this job fits its own limits and waits for free capacity behind 1 job of the share.\"}")
        XCTAssertNil(queue.explain(key: 99))
    }

    func testWaitingJobNamesTheReclaim() throws {
        var (queue, _) = try QuotaQueue.make([vcpuShare("teamA", 4, "LEND"), vcpuShare("teamB", 2, "LEND_AND_BORROW")])
        for key in 1...6 as ClosedRange<UInt64> { queue.add(key, "teamB") }
        queue.startAll(queue.picked(vcpus: 6))
        queue.add(10, "teamA", vcpus: 2)
        _ = queue.picked(vcpus: 0)
        let json = try XCTUnwrap(queue.explain(key: 10))
        XCTAssertTrue(json.hasSuffix("\"reason\": \"quota share teamA preempted 2 jobs of teamB to take back 2 vCPUs it lent; this job starts when they have stopped.\"}"), json)
    }

    func testDescribeSharesListsMostVCPUsFirst() throws {
        var (queue, _) = try QuotaQueue.make([vcpuShare("teamA", 4), vcpuShare("teamB", 8, "LEND")], capacity: "{\"vcpuMillis\": 16000}")
        queue.run(1, "teamB", vcpus: 2)
        queue.add(2, "teamA")
        XCTAssertEqual(queue.describeShares(),
                       "{\"activeShareCount\": 1, \"shares\": ["
                       + "{\"shareIdentifier\": \"teamB\", \"vcpuMillisInUse\": 2000, \"usage\": 2, \"heldPercent\": 25, \"targetPercent\": 50, \"runningJobs\": 1, \"runnableJobs\": 0, \"strategy\": \"LEND\"}, "
                       + "{\"shareIdentifier\": \"teamA\", \"vcpuMillisInUse\": 0, \"usage\": 0, \"heldPercent\": 0, \"targetPercent\": 25, \"runningJobs\": 0, \"runnableJobs\": 1, \"strategy\": \"RESERVE\"}]}")
    }
}
