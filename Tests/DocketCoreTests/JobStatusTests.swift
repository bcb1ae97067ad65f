import DocketCore
import XCTest

final class JobStatusTests: XCTestCase {
    func testLegalTransitionsFollowTheAWSStateMachine() {
        let legal: [(JobStatus, JobStatus)] = [
            (.submitted, .pending), (.submitted, .runnable), (.submitted, .failed),
            (.pending, .runnable), (.pending, .failed),
            (.runnable, .starting), (.runnable, .failed),
            (.starting, .running), (.starting, .runnable), (.starting, .failed),
            (.running, .succeeded), (.running, .failed), (.running, .runnable),
        ]
        for from in JobStatus.allCases {
            for to in JobStatus.allCases {
                let expected = legal.contains { $0 == (from, to) }
                XCTAssertEqual(from.canMove(to: to), expected, "\(from.rawValue) -> \(to.rawValue)")
            }
        }
    }

    func testTerminalStatesAreSucceededAndFailedOnly() {
        XCTAssertEqual(JobStatus.allCases.filter(\.isTerminal), [.succeeded, .failed])
    }

    func testMoveRecordsTimestamps() throws {
        var job = Job(id: "j", name: "n", arn: "a", queue: "q", jobDefinitionArn: "d", jobDefinitionName: "d",
                      sequence: 1, createdAt: 100,
                      container: ContainerSpec(image: nil, command: ["true"], environment: [], resources: Resources(vcpuMillis: 1000, memoryMiB: 4), user: nil, properties: .object([:])))
        try job.move(to: .runnable, reason: nil, at: 110)
        XCTAssertEqual(job.runnableAt, 110)
        try job.move(to: .starting, reason: nil, at: 120)
        try job.move(to: .running, reason: nil, at: 130)
        try job.move(to: .succeeded, reason: "done", at: 140)
        XCTAssertEqual(job.startedAt, 130)
        XCTAssertEqual(job.stoppedAt, 140)
        XCTAssertEqual(job.statusReason, "done")
    }

    func testIllegalMoveThrowsAndLeavesTheJobUnchanged() {
        var job = Job(id: "j", name: "n", arn: "a", queue: "q", jobDefinitionArn: "d", jobDefinitionName: "d",
                      sequence: 1, createdAt: 100,
                      container: ContainerSpec(image: nil, command: ["true"], environment: [], resources: .zero, user: nil, properties: .object([:])))
        XCTAssertThrowsError(try job.move(to: .succeeded, reason: nil, at: 1)) { error in
            XCTAssertEqual((error as? DocketError)?.code, .internalError)
        }
        XCTAssertEqual(job.status, .submitted)
    }
}

final class RetryStrategyTests: XCTestCase {
    func testDefaultIsASingleAttempt() {
        XCTAssertFalse(RetryStrategy(attempts: 1).shouldRetry(afterAttempt: 1, exitCode: 1, reason: nil, statusReason: nil))
    }

    func testAttemptsCountTheFirstOne() {
        let strategy = RetryStrategy(attempts: 3)
        XCTAssertTrue(strategy.shouldRetry(afterAttempt: 1, exitCode: 1, reason: nil, statusReason: nil))
        XCTAssertTrue(strategy.shouldRetry(afterAttempt: 2, exitCode: 1, reason: nil, statusReason: nil))
        XCTAssertFalse(strategy.shouldRetry(afterAttempt: 3, exitCode: 1, reason: nil, statusReason: nil))
    }

    func testFirstMatchingRuleWinsAndNoMatchRetries() {
        let strategy = RetryStrategy(attempts: 5, evaluateOnExit: [
            RetryStrategy.Rule(action: "retry", onExitCode: "13*"),
            RetryStrategy.Rule(action: "EXIT", onExitCode: "1*"),
        ])
        XCTAssertTrue(strategy.shouldRetry(afterAttempt: 1, exitCode: 137, reason: nil, statusReason: nil))
        XCTAssertFalse(strategy.shouldRetry(afterAttempt: 1, exitCode: 12, reason: nil, statusReason: nil))
        XCTAssertTrue(strategy.shouldRetry(afterAttempt: 1, exitCode: 2, reason: nil, statusReason: nil), "no rule matched: retried")
    }

    func testConditionsOfOneRuleMustAllMatch() {
        let strategy = RetryStrategy(attempts: 2, evaluateOnExit: [
            RetryStrategy.Rule(action: "EXIT", onReason: "OutOfMemory*", onExitCode: "137"),
        ])
        XCTAssertFalse(strategy.shouldRetry(afterAttempt: 1, exitCode: 137, reason: "OutOfMemoryError: x", statusReason: nil))
        XCTAssertTrue(strategy.shouldRetry(afterAttempt: 1, exitCode: 137, reason: "other", statusReason: nil))
    }
}
