import DocketCore
@testable import DocketSimulator
import XCTest

/// The simulator with the real quota plugin (plugins/policy-quota), which preempts through
/// docket.preempt/1. Each test fails, naming what is missing, when `swift build` has not built
/// libDocketPolicyQuota.so.
final class QuotaSimulationTests: XCTestCase {
    override func setUp() async throws {
        _ = try directoryHolding("libDocketPolicyQuota.so")
    }

    /// One quota share limited to `vcpus`; `borrowLimit` only with LEND_AND_BORROW.
    struct Share {
        var name: String
        var vcpus: Double
        var strategy: String
        var borrowLimit: Double? = nil

        /// The most vCPUs the share may hold: its limit, plus its borrow limit when it borrows.
        var ceiling: Double {
            guard strategy == "LEND_AND_BORROW" else { return vcpus }
            guard let borrowLimit, borrowLimit >= 0 else { return .infinity }
            return vcpus * (1 + borrowLimit / 100)
        }

        var json: JSONValue {
            var sharing: JSONValue = ["strategy": .string(strategy)]
            if let borrowLimit { sharing = sharing.setting("borrowLimit", .number(borrowLimit)) }
            return ["name": .string(name), "state": "ENABLED",
                    "capacityLimits": .array([["capacityUnit": "VCPU", "maxCapacity": .number(vcpus)]]),
                    "resourceSharingConfiguration": sharing, "preemptionConfiguration": ["inSharePreemption": "DISABLED"]]
        }
    }

    /// The quota policy with these shares; the simulation adds `capacity` from its compute environment.
    func quota(_ shares: [Share]) -> PolicyChoice {
        PolicyChoice(name: "quota", settings: ["quotaShares": .array(shares.map(\.json))])
    }

    /// Asserts that no share held more than its ceiling at any time, in every window and over
    /// the whole run (the drain included).
    func assertCeilingsHold(_ report: SimulationReport, _ shares: [Share], file: StaticString = #filePath, line: UInt = #line) {
        for share in shares {
            for (index, window) in report.windows.enumerated() {
                let peak = window.peakVCPUsByShare[share.name] ?? 0
                XCTAssertLessThanOrEqual(peak, share.ceiling + 1e-9, "share \(share.name), window \(index)", file: file, line: line)
            }
            XCTAssertLessThanOrEqual(report.share(share.name)?.peakVCPUs ?? 0, share.ceiling + 1e-9, "share \(share.name)", file: file, line: line)
        }
    }

    // MARK: Borrowing

    /// One share backlogged on a 32-vCPU compute environment, the other idle, each limited to half.
    func halfAndHalf(busy: String, busyBorrowLimit: Double?, idle: String) async throws -> SimulationReport {
        let workload = Workload(seed: 21, days: 0.5, computeEnvironment: .init(vcpus: 32), shares: [
            ShareWorkload("busy", backlogged: true, vcpus: .constant(1), durationSeconds: .uniform(300, 900)),
        ])
        let shares = [Share(name: "busy", vcpus: 16, strategy: busy, borrowLimit: busyBorrowLimit),
                      Share(name: "idle", vcpus: 16, strategy: idle)]
        let report = try await simulate(workload, policy: quota(shares))
        assertCeilingsHold(report, shares)
        XCTAssertEqual(report.jobsSucceeded, report.jobsSubmitted)
        return report
    }

    func testBorrowingFromAnIdleLenderRaisesUtilisationFromHalfToFull() async throws {
        let reserved = try await halfAndHalf(busy: "RESERVE", busyBorrowLimit: nil, idle: "RESERVE")
        let lent = try await halfAndHalf(busy: "LEND_AND_BORROW", busyBorrowLimit: 100, idle: "LEND")
        print(reserved.text)
        print(lent.text)
        print("quota borrowing: utilisation with both RESERVE \(reserved.utilisation), with LEND / LEND_AND_BORROW(100) \(lent.utilisation); busy's peak \(reserved.share("busy")?.peakVCPUs ?? 0) vs \(lent.share("busy")?.peakVCPUs ?? 0) vCPUs")
        XCTAssertEqual(reserved.utilisation, 0.5, accuracy: 0.005, "the busy share stays within its 16 of 32 vCPUs")
        XCTAssertEqual(reserved.share("busy")?.peakVCPUs, 16)
        XCTAssertEqual(lent.utilisation, 1.0, accuracy: 0.01, "the busy share borrows the idle share's 16 vCPUs")
        XCTAssertEqual(lent.share("busy")?.peakVCPUs, 32)
        XCTAssertEqual(lent.preemptions, 0, "nobody reclaims")
    }

    // MARK: Reclaiming

    func testLenderTakesItsCapacityBackInTheCycleItFirstCannotStart() async throws {
        // The borrower fills all 32 vCPUs with 2-hour 1-vCPU jobs (16 its own, 16 borrowed);
        // at 1 h the lender submits two 8-vCPU jobs of 30 minutes.
        let arrival: Int64 = 3_600_000
        let workload = Workload(seed: 22, days: 0.25, windowSeconds: 600, computeEnvironment: .init(vcpus: 32),
                                shares: [ShareWorkload("borrower", backlogged: true, vcpus: .constant(1), durationSeconds: .constant(7_200))],
                                jobs: (0..<2).map { _ in TracedJob(atSeconds: 3_600, shareIdentifier: "lender", vcpus: 8, durationSeconds: 1_800) })
        let shares = [Share(name: "lender", vcpus: 16, strategy: "LEND"),
                      Share(name: "borrower", vcpus: 16, strategy: "LEND_AND_BORROW", borrowLimit: 100)]
        let report = try await simulate(workload, policy: quota(shares))
        print(report.text)
        assertCeilingsHold(report, shares)

        let borrowers = report.records.filter { $0.shareIdentifier == "borrower" }
        let lenders = report.records.filter { $0.shareIdentifier == "lender" }
        XCTAssertEqual(report.windows[5].peakVCPUsByShare["borrower"], 32, "the borrower holds the whole compute environment before 1 h")
        let firstRound = borrowers.filter { $0.startedAt == 0 }.map(\.sequence).sorted()
        XCTAssertEqual(firstRound.count, 32)

        // The 16 borrowed jobs (the newest of the first round), and only they, are preempted at the
        // lender's arrival, and each comes back RUNNABLE.
        let preempted = borrowers.filter { $0.preemptionCount > 0 }
        XCTAssertEqual(preempted.map(\.sequence).sorted(), Array(firstRound.suffix(16)))
        XCTAssertEqual(report.preemptions, 16)
        XCTAssertEqual(report.share("borrower")?.preemptions, 16)
        XCTAssertEqual(report.share("lender")?.preemptions, 0)
        let preemptedAttempts = preempted.map { $0.attempts[0] }
        XCTAssertEqual(Set(preemptedAttempts.map(\.stoppedAt)), [arrival], "preempted attempts end at the lender's arrival")
        XCTAssertEqual(Set(preemptedAttempts.compactMap { $0.preemption?.statusAfter }), [.runnable])
        XCTAssertEqual(preemptedAttempts.compactMap(\.preemption).count, 16)
        print("reclaim: preemption reasons \(Set(preemptedAttempts.compactMap { $0.preemption?.reason }).sorted()); requested in cycles \(preemptedAttempts.compactMap { $0.preemption?.requestedInCycle }.sorted()); lender placed in cycles \(lenders.compactMap { $0.attempts.first?.placedInCycle })")

        // Each lender job starts at its arrival, in the cycle right after the one whose pick found
        // it short and asked for its capacity back: one cycle per reclaim, no simulated time lost.
        XCTAssertEqual(lenders.map(\.startedAt), [arrival, arrival])
        let requestCycles = Set(preemptedAttempts.compactMap { $0.preemption?.requestedInCycle })
        for lender in lenders {
            let placed = try XCTUnwrap(lender.attempts.first?.placedInCycle)
            XCTAssertTrue(requestCycles.contains(placed - 1), "\(lender.jobID) placed in cycle \(placed); preemptions asked in \(requestCycles.sorted())")
        }
        XCTAssertEqual(preemptedAttempts.filter { $0.preemption?.requestedInCycle == requestCycles.min() }.count, 8,
                       "the first reclaim preempts exactly the 8 vCPUs its job is short of")
        XCTAssertEqual(report.windows[6].peakVCPUsByShare["lender"], 16, "the lender reaches its full limit")
        XCTAssertEqual(report.windows[6].peakVCPUsByShare["borrower"], 16)

        // The preempted jobs restart from scratch later and finish all their work, their preempted
        // attempt marked so by the scheduler (not counted against their one attempt).
        for job in preempted {
            XCTAssertEqual(job.attempts.count, 2, job.jobID)
            let last = try XCTUnwrap(job.attempts.last)
            XCTAssertGreaterThanOrEqual(last.startedAt, arrival, job.jobID)
            XCTAssertEqual(job.stoppedAt.map { $0 - last.startedAt }, job.plannedDurationMillis, job.jobID)
            XCTAssertEqual(last.attemptsMarkedPreemptedByScheduler, 1, job.jobID)
        }
        XCTAssertEqual(report.jobsFinished, report.jobsSubmitted)
        XCTAssertEqual(report.jobsSucceeded, report.jobsSubmitted, "a preemption costs no job its only attempt")
    }

    // MARK: Limits

    func testNoShareEverHoldsMoreThanItsLimitPlusItsBorrowLimit() async throws {
        // Two borrowers backlogged with mixed sizes; a lender that comes and goes in bursts; a
        // reserved share with steady arrivals. Limits add up to the compute environment.
        let workload = Workload(seed: 23, days: 1, windowSeconds: 900, computeEnvironment: .init(vcpus: 32), shares: [
            ShareWorkload("a", backlogged: true, vcpus: .choice([1, 2]), durationSeconds: .uniform(300, 900)),
            ShareWorkload("b", backlogged: true, vcpus: .choice([1, 2, 4]), durationSeconds: .uniform(600, 1_800)),
            ShareWorkload("burst1", arrivalsPerHour: 30, vcpus: .choice([1, 2]), durationSeconds: .exponential(mean: 600), startHours: 3, stopHours: 7),
            ShareWorkload("burst2", arrivalsPerHour: 30, vcpus: .choice([1, 2]), durationSeconds: .exponential(mean: 600), startHours: 14, stopHours: 17),
            ShareWorkload("steady", arrivalsPerHour: 20, vcpus: .constant(1), durationSeconds: .uniform(300, 900)),
        ])
        // burst1 and burst2 are one lender's two bursts under two names: the quota settings give
        // each its own share (the workload format has one activity window per share).
        let shares = [Share(name: "a", vcpus: 8, strategy: "LEND_AND_BORROW", borrowLimit: 50),
                      Share(name: "b", vcpus: 8, strategy: "LEND_AND_BORROW", borrowLimit: 100),
                      Share(name: "burst1", vcpus: 4, strategy: "LEND"),
                      Share(name: "burst2", vcpus: 4, strategy: "LEND"),
                      Share(name: "steady", vcpus: 8, strategy: "RESERVE")]
        let report = try await simulate(workload, policy: quota(shares))
        print(report.text)
        print("limits: peaks \(shares.map { "\($0.name) \(report.share($0.name)?.peakVCPUs ?? 0)/\($0.ceiling)" }); \(report.preemptions) preemptions")
        assertCeilingsHold(report, shares)
        // The ceilings were reached, not just respected: both borrowers borrowed up to them, and
        // the lenders took their capacity back.
        XCTAssertEqual(report.share("a")?.peakVCPUs, 12)
        XCTAssertEqual(report.share("b")?.peakVCPUs, 16)
        XCTAssertGreaterThan(report.preemptions, 0)
        XCTAssertEqual(report.jobsSucceeded, report.jobsSubmitted)
    }

    func testReserveShareNeitherBorrowsNorLends() async throws {
        // The reserved share is backlogged from hour 6 only; the lender has no work at all.
        let workload = Workload(seed: 24, days: 0.5, computeEnvironment: .init(vcpus: 32), shares: [
            ShareWorkload("reserved", backlogged: true, vcpus: .constant(1), durationSeconds: .uniform(300, 900), startHours: 6),
            ShareWorkload("borrower", backlogged: true, vcpus: .constant(1), durationSeconds: .uniform(300, 900)),
        ])
        let shares = [Share(name: "reserved", vcpus: 8, strategy: "RESERVE"),
                      Share(name: "lender", vcpus: 8, strategy: "LEND"),
                      Share(name: "borrower", vcpus: 16, strategy: "LEND_AND_BORROW", borrowLimit: -1)]
        let report = try await simulate(workload, policy: quota(shares))
        print(report.text)
        assertCeilingsHold(report, shares)
        let idle = report.utilisation(windows: 0..<6), busy = report.utilisation(windows: 6..<12)
        print("reserve: utilisation hours 0-5 \(idle), hours 6-11 \(busy); reserved peak \(report.share("reserved")?.peakVCPUs ?? 0)")
        // Never borrows: at most its 8 vCPUs, though the lender's 8 sit idle all along.
        XCTAssertEqual(report.share("reserved")?.peakVCPUs, 8)
        // Never lends: while it is idle the borrower gets its own 16 and the lender's 8, not the
        // reserved 8; so when it wakes it starts at once, with nothing to take back.
        for index in 0..<6 { XCTAssertEqual(report.windows[index].peakVCPUsByShare["borrower"], 24, "hour \(index)") }
        XCTAssertEqual(idle, 0.75, accuracy: 0.005)
        XCTAssertEqual(busy, 1.0, accuracy: 0.01)
        let firstReserved = try XCTUnwrap(report.records.first { $0.shareIdentifier == "reserved" })
        XCTAssertEqual(firstReserved.startedAt, 6 * 3_600_000)
        XCTAssertEqual(report.preemptions, 0)
        XCTAssertEqual(report.jobsSucceeded, report.jobsSubmitted)
    }
}
