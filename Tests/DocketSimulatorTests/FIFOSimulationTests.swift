import DocketCore
@testable import DocketSimulator
import XCTest

/// The simulator with the real FIFO plugin.
final class FIFOSimulationTests: XCTestCase {
    /// Three shares of Poisson arrivals, mixed sizes and durations, at about 65% of 64 vCPUs.
    static let mixedWeek = Workload(seed: 7, days: 7, computeEnvironment: .init(vcpus: 64), shares: [
        ShareWorkload("etl", arrivalsPerHour: 60, vcpus: .choice([1, 2, 4]), durationSeconds: .exponential(mean: 600)),
        ShareWorkload("train", arrivalsPerHour: 1, vcpus: .choice([8, 16]), durationSeconds: .uniform(1_800, 5_400)),
        ShareWorkload("adhoc", arrivalsPerHour: 30, vcpus: .constant(1), durationSeconds: .uniform(60, 900), startHours: 24, stopHours: 120),
    ])

    func testSimulatedWeekOfMixedWorkloadFinishesEveryJobInSeconds() async throws {
        let report = try await simulate(Self.mixedWeek)
        print(report.text)
        XCTAssertGreaterThan(report.jobsSubmitted, 10_000)
        XCTAssertEqual(report.jobsFinished, report.jobsSubmitted)
        XCTAssertEqual(report.jobsSucceeded, report.jobsSubmitted, "the scheduler's store agrees every job SUCCEEDED")
        XCTAssertLessThan(report.wallSeconds, 20, "a simulated week must take seconds")
        // Below saturation, FIFO runs everything offered: utilisation is the offered load.
        let load = offeredLoad(Self.mixedWeek)
        XCTAssertEqual(report.utilisation, load, accuracy: 0.05, "offered load \(load)")
        XCTAssertLessThanOrEqual(report.windows.map(\.utilisation).max() ?? 2, 1.0 + 1e-9)
        // The ad-hoc share only ran between hour 24 and hour 120 (and drained just after).
        let adhoc = report.records.filter { $0.shareIdentifier == "adhoc" }
        XCTAssertTrue(adhoc.allSatisfy { $0.submittedAt >= 24 * 3_600_000 && $0.submittedAt < 120 * 3_600_000 })
    }

    /// Each job that started before a job submitted earlier (of the same request, when
    /// `sameRequestOnly`), with the earlier one: (overtaking, overtaken).
    func overtakes(in records: [JobRecord], sameRequestOnly: Bool) -> [(JobRecord, JobRecord)] {
        var latest: [Resources: JobRecord] = [:]
        var found: [(JobRecord, JobRecord)] = []
        for record in records.sorted(by: { $0.sequence < $1.sequence }) {
            let group = sameRequestOnly ? record.request : .zero
            if let earlier = latest[group], (record.startedAt ?? .max) < (earlier.startedAt ?? .max) {
                found.append((record, earlier))
            }
            if (record.startedAt ?? .max) >= (latest[group]?.startedAt ?? .min) { latest[group] = record }
        }
        return found
    }

    func describe(_ overtakes: [(JobRecord, JobRecord)]) -> String {
        guard let (job, earlier) = overtakes.first else { return "" }
        return "\(overtakes.count) jobs started before an earlier one; first \(job.jobID) (\(job.request.vcpuMillis / 1000) vCPUs) at \(job.startedAt ?? -1) ms, before \(earlier.jobID) (\(earlier.request.vcpuMillis / 1000) vCPUs, submitted earlier) at \(earlier.startedAt ?? -1) ms"
    }

    func testFIFOStartsEqualRequestsInSubmissionOrder() async throws {
        let report = try await simulate(Self.mixedWeek)
        // With backfill a small job may pass a large one that does not fit, but never one of
        // its own size: within each request, starts follow submission order.
        let found = overtakes(in: report.records, sameRequestOnly: true)
        XCTAssertTrue(found.isEmpty, describe(found))
        XCTAssertTrue(report.records.allSatisfy { $0.startedAt != nil })
    }

    func testFIFOWithoutBackfillStartsEveryJobInSubmissionOrder() async throws {
        // "backfill": false promises strict order (plugins/policy-fifo/README.md).
        let report = try await simulate(Self.mixedWeek, policy: PolicyChoice(name: "fifo", settings: ["backfill": false]))
        let found = overtakes(in: report.records, sameRequestOnly: false)
        XCTAssertTrue(found.isEmpty, describe(found))
        XCTAssertEqual(report.jobsFinished, report.jobsSubmitted)
    }

    func testBackloggedShareKeepsTheComputeEnvironmentFull() async throws {
        let workload = Workload(days: 1, computeEnvironment: .init(vcpus: 16), shares: [
            ShareWorkload("batch", backlogged: true, vcpus: .constant(2), durationSeconds: .uniform(300, 900)),
        ])
        let report = try await simulate(workload)
        XCTAssertEqual(report.utilisation(windows: 1..<report.windows.count), 1.0, accuracy: 0.001)
        XCTAssertEqual(report.jobsFinished, report.jobsSubmitted)
    }

    func testTracedJobsRunAtTheirTimesForTheirDurations() async throws {
        let workload = Workload(days: 1, computeEnvironment: .init(vcpus: 4), jobs: [
            TracedJob(atSeconds: 0, shareIdentifier: "a", vcpus: 4, durationSeconds: 600),
            TracedJob(atSeconds: 60, shareIdentifier: "b", vcpus: 1, durationSeconds: 300),
            TracedJob(atSeconds: 3_600, shareIdentifier: "b", vcpus: 2, durationSeconds: 100),
        ])
        let report = try await simulate(workload)
        XCTAssertEqual(report.records.map(\.startedAt), [0, 600_000, 3_600_000])
        XCTAssertEqual(report.records.map(\.stoppedAt), [600_000, 900_000, 3_700_000])
        XCTAssertEqual(report.share("b")?.maxWaitSeconds, 540)
        XCTAssertEqual(report.share("a")?.vcpuSeconds, 2_400)
    }

    func testSameSeedGivesTheSameRun() async throws {
        var workload = Self.mixedWeek
        workload.days = 1
        let first = try await simulate(workload)
        let second = try await simulate(workload)
        XCTAssertEqual(first.records, second.records)
        workload.seed = 8
        let other = try await simulate(workload)
        XCTAssertNotEqual(first.records, other.records)
    }
}
