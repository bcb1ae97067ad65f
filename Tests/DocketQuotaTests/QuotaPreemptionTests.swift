import XCTest
import DocketQuotaCore

/// Cross-share reclaim, lowered limits and in-share preemption.
final class QuotaPreemptionTests: XCTestCase {
    /// 16 vCPUs: a lender with 8 that runs 1 own job (key 100) and a borrower with 4 that runs 4
    /// own jobs (keys 1-4) and 7 borrowed ones (keys 5-11, started in key order); key 12 waits;
    /// 4 vCPUs are free.
    func lentOut() throws -> (QuotaQueue, PreemptionLog) {
        var (queue, log) = try QuotaQueue.make([vcpuShare("teamA", 8, "LEND"), vcpuShare("teamB", 4, "LEND_AND_BORROW")])
        queue.run(100, "teamA")
        for key in 1...12 as ClosedRange<UInt64> { queue.add(key, "teamB") }
        let keys = queue.picked(vcpus: 15)
        XCTAssertEqual(keys.count, 11, "4 own + the 7 vCPUs teamA does not use")
        queue.startAll(keys)
        XCTAssertEqual(log.requests.count, 0)
        return (queue, log)
    }

    func testLenderReclaimsExactlyTheNewestBorrowedJobsItNeeds() throws {
        var (queue, log) = try lentOut()
        queue.add(50, "teamA", vcpus: 6)
        XCTAssertEqual(queue.picked(vcpus: 4), [], "the lender's job waits for its capacity")
        XCTAssertEqual(log.keys, [11, 10], "2 vCPUs short: the two newest borrowed jobs, none of teamA's, none of teamB's own")
        XCTAssertEqual(log.requests.first?.reason, "quota share teamA reclaims 1 vCPU it lent to teamB")
    }

    func testReclaimAsksForEachJobOnce() throws {
        var (queue, log) = try lentOut()
        queue.add(50, "teamA", vcpus: 6)
        _ = queue.picked(vcpus: 4)
        _ = queue.picked(vcpus: 4)
        queue.finish(key: 11)
        _ = queue.picked(vcpus: 5)
        XCTAssertEqual(log.keys, [11, 10])
    }

    func testBorrowingPausesWhileAReclaimWaits() throws {
        var (queue, _) = try lentOut()
        queue.add(50, "teamA", vcpus: 6)
        _ = queue.picked(vcpus: 4)
        queue.finish(key: 11)
        XCTAssertEqual(queue.picked(vcpus: 5), [], "teamB's key 12 could borrow the freed vCPU, but it is kept for teamA's waiting job")
    }

    func testWaitingJobGoesFirstOnceTheVictimsFinished() throws {
        var (queue, _) = try lentOut()
        queue.add(50, "teamA", vcpus: 6)
        _ = queue.picked(vcpus: 4)
        queue.finish(key: 11)
        queue.finish(key: 10)
        queue.add(10, "teamB", retry: true, sequence: 10)
        queue.add(11, "teamB", retry: true, sequence: 11)
        XCTAssertEqual(queue.picked(vcpus: 6), [50])
        queue.start(key: 50, startedAt: t0 + 1000)
        XCTAssertEqual(queue.usage(ofShare: "teamA")?[0], 7000)
    }

    func testNoReclaimWhenBorrowedJobsCannotFreeEnough() throws {
        var (queue, log) = try QuotaQueue.make([vcpuShare("teamA", 8, "LEND"), vcpuShare("teamB", 4, "LEND_AND_BORROW")])
        queue.run(1, "teamB", vcpus: 4)
        queue.run(2, "teamB", vcpus: 1)
        queue.add(50, "teamA", vcpus: 8)
        XCTAssertEqual(queue.picked(vcpus: 2), [])
        XCTAssertEqual(log.requests.count, 0, "6 vCPUs short, 1 borrowed")
    }

    func testWithoutAPreemptionServiceTheLenderWaits() throws {
        var (queue, log) = try QuotaQueue.make([vcpuShare("teamA", 8, "LEND"), vcpuShare("teamB", 4, "LEND_AND_BORROW")],
                                               preemption: false)
        for key in 1...12 as ClosedRange<UInt64> { queue.add(key, "teamB") }
        queue.startAll(queue.picked(vcpus: 16))
        queue.add(50, "teamA", vcpus: 2)
        XCTAssertEqual(queue.picked(vcpus: 0), [])
        XCTAssertEqual(log.requests.count, 0)
    }

    func testLoweredLimitPreemptsTheSharesNewestJobs() throws {
        // A new instance with teamA's limit lowered from 8 to 4 vCPUs learns of 6 running jobs.
        var (queue, log) = try QuotaQueue.make([vcpuShare("teamA", 4, "RESERVE"), vcpuShare("teamB", 4, "LEND")])
        for key in 1...6 as ClosedRange<UInt64> { queue.run(key, "teamA") }
        queue.run(7, "teamB")
        _ = queue.picked(vcpus: 0)
        XCTAssertEqual(log.keys, [6, 5])
        XCTAssertEqual(log.requests.first?.reason, "quota share teamA may use 4 vCPUs and uses 6 vCPUs; its newest jobs give back the difference")
        _ = queue.picked(vcpus: 0)
        XCTAssertEqual(log.keys, [6, 5], "asked once")
    }

    func testBorrowLimitBoundsWhatALoweredLimitLeaves() throws {
        var (queue, log) = try QuotaQueue.make([vcpuShare("teamA", 8, "LEND"), vcpuShare("teamB", 2, "LEND_AND_BORROW", borrowLimit: 100)])
        for key in 1...5 as ClosedRange<UInt64> { queue.run(key, "teamB") }
        _ = queue.picked(vcpus: 0)
        XCTAssertEqual(log.keys, [5], "2 own + 100% borrowed = 4 allowed")
    }

    func testInSharePreemptionPushesOutTheLowestPriorityJob() throws {
        var (queue, log) = try QuotaQueue.make([vcpuShare("teamA", 2, inShare: true)])
        queue.run(1, "teamA", priority: 5)
        queue.run(2, "teamA", priority: 1)
        queue.add(3, "teamA", priority: 9)
        XCTAssertEqual(queue.picked(), [])
        XCTAssertEqual(log.keys, [2])
        XCTAssertEqual(log.requests.first?.reason, "quota share teamA: a job of priority 9 preempts this one of priority 1 (in-share preemption)")
        queue.finish(key: 2)
        XCTAssertEqual(queue.picked(), [3])
    }

    func testInSharePreemptionSparesEqualPriorities() throws {
        var (queue, log) = try QuotaQueue.make([vcpuShare("teamA", 2, inShare: true)])
        queue.run(1, "teamA", priority: 5)
        queue.run(2, "teamA", priority: 5)
        queue.add(3, "teamA", priority: 5)
        XCTAssertEqual(queue.picked(), [])
        XCTAssertEqual(log.requests.count, 0)
    }

    func testDisabledInSharePreemptionLetsTheBetterJobWait() throws {
        var (queue, log) = try QuotaQueue.make([vcpuShare("teamA", 2)])
        queue.run(1, "teamA", priority: 1)
        queue.run(2, "teamA", priority: 1)
        queue.add(3, "teamA", priority: 9)
        XCTAssertEqual(queue.picked(), [])
        XCTAssertEqual(log.requests.count, 0)
    }
}
