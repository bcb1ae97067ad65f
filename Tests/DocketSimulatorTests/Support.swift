import DocketCore
@testable import DocketSimulator
import Logging
import XCTest

/// Runs a workload under a policy and fails the test with the simulator's message if it throws.
func simulate(_ workload: Workload, policy: PolicyChoice = PolicyChoice(), drains: Bool = true,
              file: StaticString = #filePath, line: UInt = #line) async throws -> SimulationReport {
    let simulation = Simulation(workload: workload, policy: policy, logger: Logger(label: "simulator-test"))
    simulation.drainsQueue = drains
    do {
        return try await simulation.run()
    } catch {
        XCTFail("simulation failed: \(error.message)", file: file, line: line)
        throw error
    }
}

/// The expected busy fraction of a Poisson workload: arrivals × mean vCPUs × mean duration,
/// over the part of the horizon each share is active.
func offeredLoad(_ workload: Workload) -> Double {
    let hours = workload.days * 24
    let perHour = workload.shares.reduce(0.0) { sum, share in
        let active = (min(share.stopHours ?? hours, hours) - share.startHours) / hours
        return sum + (share.arrivalsPerHour ?? 0) * mean(share.vcpus) * mean(share.durationSeconds) / 3600 * active
    }
    return perHour / workload.computeEnvironment.vcpus
}

func mean(_ distribution: Distribution) -> Double {
    switch distribution {
    case .constant(let value): value
    case .uniform(let low, let high): (low + high) / 2
    case .exponential(let mean): mean
    case .choice(let values): values.reduce(0, +) / Double(values.count)
    }
}

/// What `swift build` leaves beside the test binary and a test needs: a missing one fails the
/// test, naming it (the build always makes it, on CI as anywhere).
struct NotBuilt: Error, CustomStringConvertible {
    var description: String
}

/// The directory holding `file` (a plugin, or the docket binary) beside the test binary.
/// - Throws: `NotBuilt` naming the file and the fix.
func directoryHolding(_ file: String) throws -> String {
    guard let directory = PolicyLocator.directoriesAboveExecutable().first(where: {
        FileManager.default.fileExists(atPath: $0 + "/" + file)
    }) else {
        throw NotBuilt(description: "\(file) is not beside the test binary; run `swift build` first.")
    }
    return directory
}

/// Whether `share` had a job queued or running at some time in window `index`.
func share(_ share: String, hasWorkIn index: Int, of report: SimulationReport) -> Bool {
    let window = Int64(report.windowSeconds * 1000)
    let from = Int64(index) * window, to = from + window
    return report.records.contains { record in
        record.shareIdentifier == share && record.submittedAt < to && (record.stoppedAt ?? .max) > from
    }
}

/// The fair-share policy with these settings.
func fairShare(decaySeconds: Int, reservation: Int = 0, weights: [(String, Double)]) -> PolicyChoice {
    PolicyChoice(name: "fairshare", settings: [
        "shareDecaySeconds": .number(Double(decaySeconds)),
        "computeReservation": .number(Double(reservation)),
        "shareDistribution": .array(weights.map { ["shareIdentifier": .string($0.0), "weightFactor": .number($0.1)] }),
    ])
}
