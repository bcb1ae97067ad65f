import Synchronization

/// Simulated time: epoch milliseconds that move only when the simulation advances them.
///
/// The scheduler and the policy instance both read it (the policy through host->now_ms), so a
/// policy that decays usage over time sees the simulated hours go by, not the wall clock's.
package final class VirtualClock: Sendable {
    private let millis: Atomic<Int64>

    package init(startingAt start: Int64) { millis = Atomic(start) }

    /// The current simulated time, epoch ms.
    package var now: Int64 { millis.load(ordering: .relaxed) }

    /// Moves time forward. Precondition: `time` is not before `now` (simulated time never runs back).
    package func advance(to time: Int64) {
        precondition(time >= now, "the simulated clock cannot go back from \(now) to \(time)")
        millis.store(time, ordering: .relaxed)
    }
}
