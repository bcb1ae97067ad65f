import DocketCore
@testable import DocketSimulator
import XCTest

/// The simulator with the real fair-share plugin (plugins/policy-fairshare). Each test fails,
/// naming what is missing, when `swift build` has not built libDocketPolicyFairShare.so.
final class FairShareSimulationTests: XCTestCase {
    override func setUp() async throws {
        _ = try directoryHolding("libDocketPolicyFairShare.so")
    }

    /// A backlogged share of 1-vCPU jobs of 5 to 15 minutes.
    func backlogged(_ name: String, from startHours: Double = 0, vcpus: Distribution = .constant(1)) -> ShareWorkload {
        ShareWorkload(name, backlogged: true, vcpus: vcpus, durationSeconds: .uniform(300, 900), startHours: startHours)
    }

    func testBackloggedSharesGetVCPUSecondsInProportionToInverseWeights() async throws {
        let workload = Workload(seed: 11, days: 2, computeEnvironment: .init(vcpus: 32),
                                shares: [backlogged("a"), backlogged("b"), backlogged("c")])
        let report = try await simulate(workload, policy: fairShare(decaySeconds: 3_600, weights: [("a", 1), ("b", 0.5), ("c", 0.25)]))
        print(report.text)
        // Targets 1/7, 2/7, 4/7 of the vCPU-seconds, after a 2-hour warm-up.
        let longRun = 2..<report.windows.count
        for (name, target) in [("a", 1.0 / 7), ("b", 2.0 / 7), ("c", 4.0 / 7)] {
            XCTAssertEqual(report.share(name)?.targetFraction ?? 0, target, accuracy: 1e-9)
            let achieved = report.fraction(of: name, windows: longRun)
            XCTAssertEqual(achieved, target, accuracy: 0.05 * target, "share \(name): achieved \(achieved), target \(target)")
        }
        XCTAssertEqual(report.utilisation(windows: longRun), 1.0, accuracy: 0.01, "backlogged shares keep it full")
    }

    /// Share b idles for a day while a runs alone, then both are backlogged (equal weights).
    func catchUp(decaySeconds: Int) async throws -> (report: SimulationReport, excessVCPUSeconds: Double) {
        let workload = Workload(seed: 12, days: 2, computeEnvironment: .init(vcpus: 32),
                                shares: [backlogged("a"), backlogged("b", from: 24)])
        let report = try await simulate(workload, policy: fairShare(decaySeconds: decaySeconds, weights: [("a", 1), ("b", 1)]))
        // What b got above its half of what ran, over the day after it woke.
        let day2 = 24..<48
        let excess = report.windows[day2].reduce(0.0) { sum, window in
            sum + (window.vcpuSecondsByShare["b"] ?? 0) - SimulationReport.total(window.vcpuSecondsByShare) / 2
        }
        return (report, excess)
    }

    func testShareIdleForADayCatchesUpForAboutItsDecayThenGetsItsTarget() async throws {
        let decay = 3_600
        let (report, excess) = try await catchUp(decaySeconds: decay)
        print(report.text)
        let capacityVCPUSeconds = 32.0 * Double(decay)
        print("catch-up, decay \(decay) s: b's part of hours 24, 25, 26: \((24..<27).map { report.fraction(of: "b", windows: $0..<($0 + 1)) }); excess \(excess / 3600) vCPU-hours; hours 28-47: \(report.fraction(of: "b", windows: 28..<48))")
        // a's decayed usage when b wakes is about 32 vCPUs × the decay; b outruns a until the two
        // meet (after about decay × ln 2), so its excess is a fraction of that, never more.
        XCTAssertGreaterThan(report.fraction(of: "b", windows: 24..<25), 0.6, "b catches up in its first hour")
        XCTAssertGreaterThan(excess, 0.1 * capacityVCPUSeconds, "b got more than half for a while")
        XCTAssertLessThan(excess, 1.0 * capacityVCPUSeconds, "the catch-up is bounded by the decay")
        // Three decays later it is back to its half.
        XCTAssertEqual(report.fraction(of: "b", windows: 28..<48), 0.5, accuracy: 0.025)
        for index in 28..<48 {
            XCTAssertEqual(report.fraction(of: "b", windows: index..<(index + 1)), 0.5, accuracy: 0.1, "hour \(index)")
        }
    }

    func testLongerDecayGivesALongerCatchUp() async throws {
        let (_, short) = try await catchUp(decaySeconds: 1_800)
        let (long, longExcess) = try await catchUp(decaySeconds: 4 * 3_600)
        print("catch-up excess: decay 1800 s \(short / 3600) vCPU-hours, decay 14400 s \(longExcess / 3600) vCPU-hours; b's part of hour 26 with the long decay \(long.fraction(of: "b", windows: 26..<27))")
        XCTAssertGreaterThan(longExcess, 2 * short, "a 4 h decay remembers a's day longer than a 30 min one")
        XCTAssertLessThan(longExcess, 32.0 * 4 * 3_600)
        XCTAssertGreaterThan(long.fraction(of: "b", windows: 26..<27), 0.55, "still catching up two hours in")
    }

    func testComputeReservationKeepsCapacityIdleForInactiveShares() async throws {
        // a is backlogged alone for 6 hours; b wakes at hour 6.
        let workload = Workload(seed: 13, days: 0.5, computeEnvironment: .init(vcpus: 32),
                                shares: [backlogged("a"), backlogged("b", from: 6)])
        let report = try await simulate(workload, policy: fairShare(decaySeconds: 3_600, reservation: 50, weights: [("a", 1), ("b", 1)]))
        print(report.text)
        // One active share: 50%^1 of the vCPUs stay free for the others.
        let alone = report.utilisation(windows: 1..<6)
        print("reservation: utilisation hours 1-5 \(alone), hours 8-11 \(report.utilisation(windows: 8..<12))")
        XCTAssertLessThanOrEqual(alone, 0.5 + 1e-9, "at least half idle while only a is active")
        XCTAssertGreaterThan(alone, 0.45, "a still uses what is not reserved")
        // b starts the moment it arrives, on the reserved capacity.
        let firstOfB = try XCTUnwrap(report.records.first { $0.shareIdentifier == "b" })
        XCTAssertEqual(firstOfB.submittedAt, 6 * 3_600_000)
        XCTAssertEqual(firstOfB.startedAt, firstOfB.submittedAt, "b's first job waits for nothing")
        // Two active shares: 50%^2 = 25% stays reserved.
        XCTAssertEqual(report.utilisation(windows: 8..<12), 0.75, accuracy: 0.03)
    }

    /// Asserts that every share got vCPU-seconds in every window after a 2-hour warm-up in
    /// which it had a job queued or running.
    func assertNoShareStarves(_ report: SimulationReport, file: StaticString = #filePath, line: UInt = #line) {
        for share in report.shares.map(\.shareIdentifier) {
            let starved = (2..<report.windows.count).filter {
                DocketSimulatorTests.share(share, hasWorkIn: $0, of: report) && (report.windows[$0].vcpuSecondsByShare[share] ?? 0) == 0
            }
            XCTAssertEqual(starved, [], "share \(share) had work but got no vCPU-seconds in these hours", file: file, line: line)
        }
        XCTAssertEqual(report.jobsFinished, report.jobsSubmitted, file: file, line: line)
    }

    static let starvationWeights: [(String, Double)] = [("heavy", 0.25), ("mid", 1), ("big", 1), ("light", 2), ("late", 0.5)]

    func testNoShareWithWorkStarvesAmongEqualSizedJobs() async throws {
        let workload = Workload(seed: 14, days: 2, computeEnvironment: .init(vcpus: 32), shares: [
            backlogged("heavy"),
            backlogged("mid"),
            ShareWorkload("big", backlogged: true, vcpus: .constant(1), durationSeconds: .uniform(900, 1_800)),
            ShareWorkload("light", arrivalsPerHour: 6, vcpus: .constant(1), durationSeconds: .uniform(300, 900)),
            ShareWorkload("late", arrivalsPerHour: 20, vcpus: .constant(1), durationSeconds: .uniform(300, 900), startHours: 20, stopHours: 30),
        ])
        let report = try await simulate(workload, policy: fairShare(decaySeconds: 3_600, weights: Self.starvationWeights))
        print(report.text)
        assertNoShareStarves(report)
    }

    func testNoShareWithWorkStarvesWhenItsJobsAreLargerThanTheOthers() async throws {
        // Small jobs end one at a time, so 8 vCPUs are rarely free at once: a policy that always
        // passes over a job that does not fit now never starts the big share's.
        let workload = Workload(seed: 14, days: 2, computeEnvironment: .init(vcpus: 32), shares: [
            backlogged("heavy"),
            backlogged("mid", vcpus: .choice([1, 2])),
            ShareWorkload("big", backlogged: true, vcpus: .constant(8), durationSeconds: .uniform(900, 1_800)),
            ShareWorkload("light", arrivalsPerHour: 6, vcpus: .constant(1), durationSeconds: .uniform(300, 900)),
            ShareWorkload("late", arrivalsPerHour: 20, vcpus: .constant(2), durationSeconds: .uniform(300, 900), startHours: 20, stopHours: 30),
        ])
        let report = try await simulate(workload, policy: fairShare(decaySeconds: 3_600, weights: Self.starvationWeights))
        print(report.text)
        assertNoShareStarves(report)
    }
}
