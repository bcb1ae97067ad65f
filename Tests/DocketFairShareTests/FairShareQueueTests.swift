import DocketFairShareCore
import XCTest

final class FairShareQueueTests: XCTestCase {
    func testWithinAShareRetriesGoFirstThenHigherPriorityThenSubmissionOrder() {
        var queue = FairShareQueue.make()
        queue.add(key: 1, sequence: 1, schedulingPriority: 0, vcpuMillis: 1000, share: "a")
        queue.add(key: 2, sequence: 2, schedulingPriority: 5, vcpuMillis: 1000, share: "a")
        queue.add(key: 3, sequence: 3, schedulingPriority: 5, vcpuMillis: 1000, share: "a")
        queue.add(key: 4, sequence: 0, isRetry: true, schedulingPriority: 0, vcpuMillis: 1000, share: "a")
        queue.add(key: 5, sequence: 4, schedulingPriority: 9, vcpuMillis: 1000, share: "a")
        queue.add(key: 6, sequence: 5, isRetry: true, schedulingPriority: 3, vcpuMillis: 1000, share: "a")
        XCTAssertEqual(queue.picked(), [6, 4, 5, 2, 3, 1])
    }

    func testAKeyAddedAgainMovesAndRemovedOrStartedKeysLeave() {
        var queue = FairShareQueue.make()
        for key in UInt64(1)...4 { queue.add(key: key, sequence: key, vcpuMillis: 1000, share: "a") }
        queue.add(key: 3, sequence: 3, isRetry: true, vcpuMillis: 1000, share: "a")
        queue.remove(2)
        queue.remove(99)
        queue.start(key: 1, vcpuMillis: 1000, startedAt: t0, now: t0)
        queue.start(key: 98, vcpuMillis: 1000, startedAt: t0, now: t0)
        queue.finish(key: 97, stoppedAt: t0, now: t0)
        XCTAssertEqual(queue.picked(), [3, 4])
        XCTAssertEqual(queue.count, 2)
        XCTAssertEqual(queue.runningCount, 1)
    }

    func testTheShareWithTheLowestUsageGoesFirst() {
        var queue = FairShareQueue.make()
        queue.add(key: 1, sequence: 1, vcpuMillis: 1000, share: "busy")
        queue.start(key: 1, vcpuMillis: 4000, startedAt: t0, now: t0)
        queue.finish(key: 1, stoppedAt: t0 + 100_000, now: t0 + 100_000)
        queue.add(key: 2, sequence: 2, vcpuMillis: 1000, share: "busy")
        queue.add(key: 3, sequence: 3, vcpuMillis: 1000, share: "idle")
        XCTAssertEqual(queue.picked(limit: 1, now: t0 + 100_000), [3])
        XCTAssertEqual(queue.picked(limit: 2, now: t0 + 100_000), [3, 2])
    }

    func testOnePickInterleavesSharesByWeight() {
        var queue = FairShareQueue.make(shares: [("a", 1), ("b", 0.5)])
        for key in UInt64(0)..<30 { queue.add(key: key, sequence: key, vcpuMillis: 1000, share: key < 15 ? "a" : "b") }
        let picked = queue.picked(limit: 9)
        XCTAssertEqual(picked.filter { $0 < 15 }.count, 3)
        XCTAssertEqual(picked.filter { $0 >= 15 }.count, 6)
        // Nothing started: the next pick starts over from the same standing.
        XCTAssertEqual(queue.picked(limit: 9), picked)
    }

    func testAPickHandsOutOnlyKeysThatFitTheFreeCapacityTogether() {
        var queue = FairShareQueue.make()
        for key in UInt64(1)...6 { queue.add(key: key, sequence: key, vcpuMillis: 2000, share: key % 2 == 0 ? "a" : "b") }
        XCTAssertEqual(queue.picked(free: 7000), [1, 2, 3], "a fourth 2-vCPU job would pass 7 vCPUs")
    }

    func testAHeadJobThatDoesNotFitHoldsTheCapacityAgainstOtherSharesSmallerJobs() {
        var queue = FairShareQueue.make()
        // "small" has run, so "big" (no usage) goes next, but its 8-vCPU job does not fit.
        queue.add(key: 1, sequence: 1, vcpuMillis: 1000, share: "small")
        queue.start(key: 1, vcpuMillis: 1000, startedAt: t0, now: t0)
        queue.add(key: 2, sequence: 2, vcpuMillis: 8000, share: "big")
        for key in UInt64(3)...10 { queue.add(key: key, sequence: key, vcpuMillis: 1000, share: "small") }
        queue.add(key: 11, sequence: 11, vcpuMillis: 1000, share: "big")
        let later = t0 + 60_000
        XCTAssertEqual(queue.picked(free: 4000, now: later), [], "neither small jobs of other shares nor big's own later ones take what big's head waits for")
        XCTAssertEqual(queue.picked(free: 9000, now: later), [2, 3], "once 8 vCPUs are free it starts first")
    }

    func testWhileAJobIsHeldOthersUseOnlyCapacityItCannotUse() {
        var queue = FairShareQueue.make()
        // "gpu" goes first and waits for 2 GPUs (1 free), holding 4 of the 10 free vCPUs.
        queue.add(key: 1, sequence: 1, vcpuMillis: 4000, gpus: 2, share: "gpu")
        for key in UInt64(2)...9 { queue.add(key: key, sequence: key, vcpuMillis: 1000, share: "cpu") }
        queue.add(key: 10, sequence: 10, vcpuMillis: 1000, gpus: 1, share: "cpu")
        XCTAssertEqual(queue.picked(free: 10_000, freeGPUs: 1), [2, 3, 4, 5, 6, 7], "the 1-GPU job and a 7th vCPU would delay it")
        XCTAssertEqual(queue.picked(free: 10_000, freeGPUs: 2), [1, 2, 3, 4, 5, 6, 7])
    }

    func testLongRunVCPUSecondsFollowInverseWeights() {
        // Three shares of weights 1, 0.5, 0.25 always have 1-vCPU jobs of 60 s waiting; 14 vCPUs.
        var queue = FairShareQueue.make(decay: 3600, shares: [("w1", 1), ("w05", 0.5), ("w025", 0.25)])
        let names = ["w1", "w05", "w025"]
        var nextKey: UInt64 = 0
        var runnable = [0, 0, 0]
        var shareOfKey: [UInt64: Int] = [:]
        var running: [(key: UInt64, ends: Int64)] = []
        var vcpuSeconds = [0.0, 0.0, 0.0]
        let capacity: Int64 = 14_000
        for second in Int64(0)..<(6 * 3600) {
            let now = t0 + second * 1000
            running.removeAll { job in
                guard job.ends <= now else { return false }
                queue.finish(key: job.key, stoppedAt: job.ends, now: now)
                return true
            }
            for share in 0..<3 {
                while runnable[share] < 20 {
                    queue.add(key: nextKey, sequence: nextKey, vcpuMillis: 1000, share: names[share])
                    shareOfKey[nextKey] = share
                    runnable[share] += 1
                    nextKey += 1
                }
            }
            let free = capacity - Int64(running.count) * 1000
            // The host fits keys in order and starts those that fit.
            for key in queue.picked(free: free, limit: 100, now: now) where Int64(running.count) * 1000 < capacity {
                queue.start(key: key, vcpuMillis: 1000, startedAt: now, now: now)
                running.append((key, now + 60_000))
                let share = shareOfKey[key]!
                runnable[share] -= 1
                if second >= 3600 { vcpuSeconds[share] += 60 }  // after an hour of warm-up
            }
        }
        let unit = vcpuSeconds[0]
        XCTAssertGreaterThan(unit, 0)
        XCTAssertEqual(vcpuSeconds[1] / unit, 2, accuracy: 0.1, "\(vcpuSeconds)")
        XCTAssertEqual(vcpuSeconds[2] / unit, 4, accuracy: 0.2, "\(vcpuSeconds)")
    }

    func testAllJobsMatchingAPrefixFormOneShareWithItsWeight() {
        var queue = FairShareQueue.make(shares: [("ml*", 2), ("teamA", 0.5)])
        queue.add(key: 1, sequence: 1, vcpuMillis: 1000, share: "ml-train")
        queue.add(key: 2, sequence: 2, vcpuMillis: 1000, share: "ml-eval")
        queue.start(key: 1, vcpuMillis: 1000, startedAt: t0, now: t0)
        queue.start(key: 2, vcpuMillis: 1000, startedAt: t0, now: t0)
        let later = t0 + 10_000
        queue.finish(key: 1, stoppedAt: later, now: later)
        queue.finish(key: 2, stoppedAt: later, now: later)
        let both = 2 * 3600 * (1 - exp(-10.0 / 3600))
        XCTAssertEqual(queue.vcpuSeconds(ofShare: "ml*", now: later)!, both, accuracy: 1e-9)
        XCTAssertEqual(queue.usage(ofShare: "ml-eval", now: later)!, 2 * both, accuracy: 1e-9)
        XCTAssertEqual(queue.usage(ofShare: "ml-new", now: later)!, 2 * both, accuracy: 1e-9, "a share never seen under ml* counts against it")
        queue.add(key: 3, sequence: 3, vcpuMillis: 1000, share: "ml-new")
        queue.add(key: 4, sequence: 4, vcpuMillis: 1000, share: "web")
        XCTAssertEqual(queue.picked(now: later), [4, 3])
        XCTAssertEqual(queue.activeShareCount, 2)
    }

    func testAnIdleShareUsageHalvesAfterTauLn2AndItGetsPriorityBack() {
        let tau = 600.0
        var queue = FairShareQueue.make(decay: 600)
        // "old" ran 4 vCPUs for 600 s; then "new" runs 1 vCPU without end.
        queue.add(key: 1, sequence: 1, vcpuMillis: 4000, share: "old")
        queue.start(key: 1, vcpuMillis: 4000, startedAt: t0, now: t0)
        let stop = t0 + 600_000
        queue.finish(key: 1, stoppedAt: stop, now: stop)
        let atStop = queue.vcpuSeconds(ofShare: "old", now: stop)!
        XCTAssertEqual(atStop, 4 * tau * (1 - exp(-1)), accuracy: 1e-6)
        queue.add(key: 2, sequence: 2, vcpuMillis: 1000, share: "new")
        queue.start(key: 2, vcpuMillis: 1000, startedAt: stop, now: stop)

        queue.add(key: 3, sequence: 3, vcpuMillis: 1000, share: "old")
        queue.add(key: 4, sequence: 4, vcpuMillis: 1000, share: "new")
        let halfLife = stop + Int64((tau * log(2) * 1000).rounded())
        XCTAssertEqual(queue.picked(now: halfLife), [4, 3], "just after, the share that ran more waits")
        XCTAssertEqual(queue.vcpuSeconds(ofShare: "old", now: halfLife)! / atStop, 0.5, accuracy: 0.001)

        let muchLater = stop + 3_000_000
        XCTAssertEqual(queue.vcpuSeconds(ofShare: "old", now: muchLater)!, atStop * exp(-5), accuracy: 1e-6 * atStop)
        XCTAssertEqual(queue.picked(now: muchLater), [3, 4], "its usage decayed below the running share's")
    }

    func testUsageCountsTimeBeforeTheStartReportAndNotAfterTheStop() {
        var queue = FairShareQueue.make(decay: 604_800)
        queue.add(key: 1, sequence: 1, vcpuMillis: 2000, share: "a")
        // Reported 10 s late; finished report 5 s after it stopped.
        queue.start(key: 1, vcpuMillis: 2000, startedAt: t0, now: t0 + 10_000)
        queue.finish(key: 1, stoppedAt: t0 + 100_000, now: t0 + 105_000)
        let expected = 2 * 604_800 * (1 - exp(-100.0 / 604_800)) * exp(-5.0 / 604_800)
        XCTAssertEqual(queue.vcpuSeconds(ofShare: "a", now: t0 + 105_000)!, expected, accuracy: 1e-6)
    }

    func testComputeReservationHoldsBackAPowerOfItsPercentage() {
        var queue = FairShareQueue.make(reservation: 50, capacity: 16_000)
        for key in UInt64(0)..<100 { queue.add(key: key, sequence: key, vcpuMillis: 1000, share: "a") }
        XCTAssertEqual(queue.picked(free: 16_000, limit: 100).count, 8, "one active share: 50% reserved")
        for key in UInt64(100)..<200 { queue.add(key: key, sequence: key, vcpuMillis: 1000, share: "b") }
        let two = queue.picked(free: 16_000, limit: 100)
        XCTAssertEqual(two.count, 12, "two active shares: 25% reserved")
        for key in two.prefix(10) { queue.start(key: key, vcpuMillis: 1000, startedAt: t0, now: t0) }
        XCTAssertEqual(queue.picked(free: 6_000, limit: 100).count, 2, "vCPUs in use count against the 75%")
    }

    func testWithoutCapacityTheReservationUsesInUsePlusFree() {
        var queue = FairShareQueue.make(reservation: 25)
        for key in UInt64(0)..<100 { queue.add(key: key, sequence: key, vcpuMillis: 1000, share: "a") }
        for key in queue.picked(free: 8_000, limit: 4) { queue.start(key: key, vcpuMillis: 1000, startedAt: t0, now: t0) }
        // 4 in use + 8 free = 12 vCPUs; 75% = 9: 5 more.
        XCTAssertEqual(queue.picked(free: 8_000, limit: 100).count, 5)
    }

    func testAPickHandsOutEachKeyOnceAndAllowsNoMoreThanTheLimit() {
        var queue = FairShareQueue.make()
        for key in UInt64(0)..<1000 { queue.add(key: key, sequence: key, vcpuMillis: 1000, share: "s\(key % 37)") }
        let all = queue.picked(limit: 2000)
        XCTAssertEqual(all.count, 1000)
        XCTAssertEqual(Set(all).count, 1000)
        XCTAssertEqual(queue.picked(limit: 10).count, 10)
    }
}
