import DocketFairShareCore
import XCTest

final class FairShareExplainTests: XCTestCase {
    /// The explained position of every job is its place in an unlimited pick.
    func testPositionIsThePlaceInPickOrder() {
        var queue = FairShareQueue.make(shares: [("a", 1), ("b", 0.5), ("c*", 0.25)])
        var key: UInt64 = 0
        for (share, count) in [("a", 7), ("b", 5), ("c1", 3), ("c2", 4), ("d", 6)] {
            for _ in 0..<count {
                queue.add(key: key, sequence: key, schedulingPriority: Int32(key % 3), vcpuMillis: 1000 * Int64(1 + key % 2), share: share)
                key += 1
            }
        }
        queue.start(key: 0, vcpuMillis: 1000, startedAt: t0, now: t0)
        let now = t0 + 30_000
        let order = queue.picked(now: now)
        XCTAssertEqual(order.count, Int(key) - 1)
        for (index, job) in order.enumerated() {
            let json = queue.explain(key: job, now: now)!
            XCTAssertTrue(json.hasPrefix("{\"position\": \(index), "), "job \(job): \(json)")
        }
        XCTAssertNil(queue.explain(key: 0, now: now), "a started job is not runnable")
    }

    func testExplainGivesShareUsageTargetHeldAndAReason() {
        var queue = FairShareQueue.make(decay: 600, shares: [("teamA", 0.5)])
        queue.add(key: 1, sequence: 1, vcpuMillis: 3000, share: "teamA")
        queue.add(key: 2, sequence: 2, vcpuMillis: 1000, share: "teamA")
        queue.add(key: 3, sequence: 3, vcpuMillis: 1000, share: "teamB")
        queue.add(key: 4, sequence: 4, vcpuMillis: 1000, share: "teamB")
        queue.start(key: 1, vcpuMillis: 3000, startedAt: t0, now: t0)
        queue.start(key: 3, vcpuMillis: 1000, startedAt: t0, now: t0)
        let now = t0 + 600_000
        // teamA: 3 vCPUs × 600 × (1 − 1/e) × 0.5 = 568.909...; target (1/0.5) / (1/0.5 + 1) = 66.7%; holds 3 of 4.
        XCTAssertEqual(queue.explain(key: 2, now: now), """
            {"position": 1, "share": "teamA", "weightFactor": 0.5, "shareUsage": 568.909, "shareTargetPercent": 66.7, "shareHeldPercent": 75, \
            "reason": "share teamA (weightFactor 0.5) has usage 568.909 and holds 75% of the queue's vCPUs, above its target of 66.7%; \
            1 share with less usage goes first, and 0 jobs of its own share are ahead of it (1 jobs ahead in all)."}
            """)
        XCTAssertEqual(queue.explain(key: 4, now: now), """
            {"position": 0, "share": "teamB", "weightFactor": 1, "shareUsage": 379.272, "shareTargetPercent": 33.3, "shareHeldPercent": 25, \
            "reason": "next in line: share teamB (weightFactor 1) has the lowest usage, 379.272, and holds 25% of the queue's vCPUs, below its target of 33.3%."}
            """)
    }

    func testDescribeSharesListsActiveSharesByVCPUsInUse() {
        var queue = FairShareQueue.make(shares: [("teamA", 0.5), ("ml*", 2)])
        queue.add(key: 1, sequence: 1, vcpuMillis: 2000, share: "ml-x")
        queue.add(key: 2, sequence: 2, vcpuMillis: 4000, share: "teamA")
        queue.add(key: 3, sequence: 3, vcpuMillis: 1000, share: "other")
        queue.start(key: 2, vcpuMillis: 4000, startedAt: t0, now: t0)
        XCTAssertEqual(queue.describeShares(now: t0), """
            {"activeShareCount": 3, "shares": [\
            {"shareIdentifier": "teamA", "weightFactor": 0.5, "vcpuMillisInUse": 4000, "runnableJobs": 0, "usage": 0, "targetPercent": 57.1}, \
            {"shareIdentifier": "ml*", "weightFactor": 2, "vcpuMillisInUse": 0, "runnableJobs": 1, "usage": 0, "targetPercent": 14.3}, \
            {"shareIdentifier": "other", "weightFactor": 1, "vcpuMillisInUse": 0, "runnableJobs": 1, "usage": 0, "targetPercent": 28.6}]}
            """)
    }
}
