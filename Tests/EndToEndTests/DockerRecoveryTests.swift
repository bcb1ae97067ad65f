import Foundation
import XCTest

/// The Docker executor against real engines when things break: the server killed with SIGKILL
/// while containers run and end, and the engine itself stopping in the middle of a run (on an
/// engine of the test's own, so the other tests' engine keeps running).
final class DockerRecoveryTests: XCTestCase {
    static let image = "docket-test/busybox:1"

    override func setUpWithError() throws {
        try DockerCLI.requireEngine()
    }

    func testContainersAreReadoptedAfterSIGKILLOfTheServer() throws {
        let server = try startServer(settings: "vcpus: 4, memory_mib: 2048")
        // One job ends while the server is down, one still runs when it is back.
        let ticks = { (count: Int, code: Int) in
            "i=0; while [ $i -lt \(count) ]; do echo tick $i; i=$((i+1)); sleep 1; done; exit \(code)"
        }
        let short = try server.submit(["--queue", "dq", "--definition", "bb", "--", "sh", "-c", ticks(3, 0)])
        let long = try server.submit(["--queue", "dq", "--definition", "bb", "--", "sh", "-c", ticks(8, 4)])
        _ = try server.waitForStatus(short, ["RUNNING"])
        _ = try server.waitForStatus(long, ["RUNNING"])
        Thread.sleep(forTimeInterval: 1.5)
        server.stop(signal: SIGKILL)

        // A container labelled as this compute environment's that no job owns: removed after
        // the restart (the host terminates it with a grace, then the executor removes it).
        let owner = server.dataDirectory + "/executors/dce"
        let orphan = try DockerCLI.run(["run", "-d", "--network", "none", "--label", "docket.owner=\(owner)",
                                        "--label", "docket.attempt-id=nobody-owns-this-1", "--name", "docket-nobody-owns-this-1",
                                        Self.image, "sleep", "300"])
        XCTAssertEqual(orphan.status, 0, orphan.stderr)
        Thread.sleep(forTimeInterval: 3)  // the short job ends while no server runs
        try server.start()

        let shortJob = try server.waitForStatus(short, ["SUCCEEDED", "FAILED"], timeout: 30)
        XCTAssertEqual(shortJob["status"] as? String, "SUCCEEDED", "\(shortJob["statusReason"] ?? "")")
        let longJob = try server.waitForStatus(long, ["SUCCEEDED", "FAILED"], timeout: 30)
        XCTAssertEqual(longJob["status"] as? String, "FAILED")
        let attempts = try XCTUnwrap(longJob["attempts"] as? [[String: Any]])
        XCTAssertEqual(attempts.count, 1, "re-adopted, not run again")
        XCTAssertEqual((attempts.first?["container"] as? [String: Any])?["exitCode"] as? Int, 4)
        XCTAssertEqual(((shortJob["attempts"] as? [[String: Any]])?.count), 1)

        // Each line of output once: what was streamed before the kill is not streamed again.
        for (id, count) in [(short, 3), (long, 8)] {
            let log = try String(contentsOfFile: server.dataDirectory + "/logs/\(id)-1.log", encoding: .utf8)
            let lines = log.split(separator: "\n").filter { $0.hasPrefix("tick") }
            XCTAssertEqual(lines, (0..<count).map { "tick \($0)"[...] }, "log of \(id):\n\(log)")
        }

        let deadline = Date().addingTimeInterval(20)
        var left: [String] = []
        repeat {
            left = try DockerCLI.containers(label: "docket.owner=\(owner)")
            if left.isEmpty { break }
            Thread.sleep(forTimeInterval: 0.5)
        } while Date() < deadline
        XCTAssertEqual(left, [], "the jobs' containers are removed, and the orphan after its grace")
    }

    /// The container and its state file outlive the exit report by a few seconds, so a server
    /// that dies before committing an exit is told it again; one that had committed it is told
    /// again harmlessly.
    func testAServerKilledRightAfterAnExitFindsItOnceMore() throws {
        let server = try startServer(settings: "vcpus: 2, memory_mib: 1024")
        let id = try server.submit(["--queue", "dq", "--definition", "bb", "--", "sh", "-c", "echo once"])
        _ = try server.waitForStatus(id, ["SUCCEEDED"])
        server.stop(signal: SIGKILL)
        let stateFile = server.dataDirectory + "/executors/dce/attempts/\(id)-1"
        XCTAssertTrue(FileManager.default.fileExists(atPath: stateFile), "the state file outlives the report")
        XCTAssertEqual(try DockerCLI.containers(label: "docket.attempt-id=\(id)-1"), ["docket-\(id)-1"])

        try server.start()
        let deadline = Date().addingTimeInterval(20)
        while (try DockerCLI.containers(label: "docket.attempt-id=\(id)-1")) != [] && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.3)
        }
        XCTAssertEqual(try DockerCLI.containers(label: "docket.attempt-id=\(id)-1"), [], "removed by the restarted server")
        XCTAssertFalse(FileManager.default.fileExists(atPath: stateFile))
        let job = try server.describe(id)
        XCTAssertEqual(job["status"] as? String, "SUCCEEDED")
        XCTAssertEqual((job["attempts"] as? [Any])?.count, 1)
        let log = try String(contentsOfFile: server.dataDirectory + "/logs/\(id)-1.log", encoding: .utf8)
        XCTAssertEqual(log.components(separatedBy: "once\n").count - 1, 1, "the output is not streamed twice:\n\(log)")
    }

    func testEngineStoppedDuringARunMakesTheExecutorUnhealthyUntilItReturns() throws {
        let engine = try PrivateEngine()
        defer { engine.shutDown() }
        let server = try startServer(settings: #"vcpus: 2, memory_mib: 1024, docker_host: "unix://\#(engine.socket)", engine_loss_grace_seconds: 60"#,
                                     terminateGraceSeconds: 2)
        // PID 1 of a container ignores SIGTERM unless it traps it; this one ends with 7 when
        // the stopping engine sends it.
        let running = try server.submit(["--queue", "dq", "--definition", "bb", "--",
                                         "sh", "-c", "trap 'echo stopping; exit 7' TERM; echo started; sleep 60 & wait"])
        _ = try server.waitForStatus(running, ["RUNNING"])
        try engine.stop()

        // Within a capacity refresh (5 s) the compute environment is INVALID, naming the engine.
        var environment: [String: Any] = [:]
        let deadline = Date().addingTimeInterval(15)
        repeat {
            let result = try server.aws(["describe-compute-environments", "--compute-environments", "dce"])
            environment = (result.json["computeEnvironments"] as? [[String: Any]])?.first ?? [:]
            if environment["status"] as? String == "INVALID" { break }
            Thread.sleep(forTimeInterval: 0.5)
        } while Date() < deadline
        XCTAssertEqual(environment["status"] as? String, "INVALID")
        XCTAssertTrue((environment["statusReason"] as? String ?? "").contains("Docker engine at unix://\(engine.socket) is unreachable"),
                      "\(environment["statusReason"] ?? "")")

        // A job submitted now waits, saying why; the server keeps answering.
        let waiting = try server.submit(["--queue", "dq", "--definition", "bb", "--", "echo", "second"])
        Thread.sleep(forTimeInterval: 2)
        let waitingJob = try server.describe(waiting)
        XCTAssertEqual(waitingJob["status"] as? String, "RUNNABLE")
        XCTAssertTrue((waitingJob["statusReason"] as? String ?? "").contains("is unreachable"), "\(waitingJob["statusReason"] ?? "")")

        try engine.start()
        let first = try server.waitForStatus(running, ["SUCCEEDED", "FAILED"], timeout: 30)
        XCTAssertEqual(first["status"] as? String, "FAILED")
        XCTAssertEqual(((first["attempts"] as? [[String: Any]])?.first?["container"] as? [String: Any])?["exitCode"] as? Int, 7,
                       "the exit the stopping engine caused is collected once it is back")
        let second = try server.waitForStatus(waiting, ["SUCCEEDED", "FAILED"], timeout: 30)
        XCTAssertEqual(second["status"] as? String, "SUCCEEDED", "\(second["statusReason"] ?? "")")
        let log = try String(contentsOfFile: server.dataDirectory + "/logs/\(waiting)-1.log", encoding: .utf8)
        XCTAssertTrue(log.contains("second\n"), log)
    }

    /// Also the TCP path: this compute environment reaches its engine at tcp://127.0.0.1:PORT.
    func testAnEngineThatStaysDownLosesTheAttemptAfterTheGrace() throws {
        let engine = try PrivateEngine()
        defer { engine.shutDown() }
        let server = try startServer(settings: #"vcpus: 2, memory_mib: 1024, docker_host: "tcp://127.0.0.1:\#(engine.tcpPort)", engine_loss_grace_seconds: 2"#)
        let id = try server.submit(["--queue", "dq", "--definition", "bb", "--", "sleep", "60"])
        _ = try server.waitForStatus(id, ["RUNNING"])
        // SIGKILL: the engine cannot stop the container on its way out, so nothing tells the
        // executor how the job ended.
        try engine.stop(signal: SIGKILL)
        let job = try server.waitForStatus(id, ["FAILED"], timeout: 20)
        XCTAssertTrue((job["statusReason"] as? String ?? "").contains("Docker engine at tcp://127.0.0.1:\(engine.tcpPort) stopped answering"),
                      "\(job["statusReason"] ?? "")")
    }

    /// A server whose queue dq runs on one Docker compute environment, dce, with these
    /// settings, and the job definition bb (the test image, 1 vCPU, 64 MiB).
    private func startServer(settings: String, terminateGraceSeconds: Int? = nil) throws -> ServerHarness {
        let grace = terminateGraceSeconds.map { "server:\n  terminate_grace_seconds: \($0)\n" } ?? ""
        let server = try ServerHarness(config: grace + """
            compute_environments:
              - name: dce
                executor: docker
                settings: { \(settings) }
            job_queues:
              - { name: dq, priority: 1, compute_environments: [dce] }
            """)
        try server.start()
        try registerDefinition(server)
        return server
    }

    private func registerDefinition(_ server: ServerHarness) throws {
        let properties = #"{"image":"\#(Self.image)","command":["true"],"resourceRequirements":[{"type":"VCPU","value":"1"},{"type":"MEMORY","value":"64"}]}"#
        let result = try server.aws(["register-job-definition", "--job-definition-name", "bb", "--type", "container",
                                     "--container-properties", properties])
        XCTAssertEqual(result.status, 0, result.stderr)
    }
}

/// The real docker CLI, for what the tests check on the engine itself.
enum DockerCLI {
    @discardableResult
    static func run(_ arguments: [String], host: String? = nil) throws -> ServerHarness.Result {
        try spawnAndWait(["docker"] + (host.map { ["-H", $0] } ?? []) + arguments)
    }

    /// Names of the containers (any state) carrying `label`.
    static func containers(label: String, host: String? = nil) throws -> [String] {
        try run(["ps", "-a", "--filter", "label=\(label)", "--format", "{{.Names}}"], host: host).stdout
            .split(separator: "\n").map(String.init)
    }

    /// Skips the test off CI when no engine answers or the test image is missing (with the
    /// reason scripts/docker-engine.sh left); on CI (CI=true) fails it instead.
    static func requireEngine(file: String = #filePath) throws {
        let answered = (try? run(["image", "inspect", DockerRecoveryTests.image]))?.status == 0
        let repository = URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let why = (try? String(contentsOfFile: repository.path + "/.build/docker-unavailable", encoding: .utf8))
            ?? "no Docker engine answers, or the image \(DockerRecoveryTests.image) is missing; run `bash scripts/docker-engine.sh`"
        try requireOutsideCI(answered, why.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// A Docker engine of the test's own (its own socket, data and exec roots; vfs, no bridge),
/// loaded with the test image from the main engine, so it can be stopped mid-run.
final class PrivateEngine {
    let directory: String
    var socket: String { directory + "/docker.sock" }
    /// The same engine on loopback TCP (DOCKER_HOST=tcp://...), plain HTTP.
    let tcpPort = Int.random(in: 23_000..<33_000)
    private var pid: Int32?

    init() throws {
        // Short: a unix socket path must fit in 108 bytes.
        directory = "/tmp/dkr-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try requireOutsideCI(getuid() == 0, "starting a Docker engine of the test's own needs root")
        try start()
        let load = try spawnAndWait(["sh", "-c", "docker save \(DockerRecoveryTests.image) | docker -H unix://\(socket) load"])
        guard load.status == 0 else { throw Self.failure("could not load \(DockerRecoveryTests.image) into the test's engine") }
    }

    static func failure(_ text: String) -> NSError {
        NSError(domain: "docker", code: 1, userInfo: [NSLocalizedDescriptionKey: text])
    }

    /// Starts dockerd detached, through sh, so it is not this process's child.
    func start() throws {
        let launched = try spawnAndWait(["sh", "-c", "dockerd --data-root \(directory)/root --exec-root \(directory)/exec --pidfile \(directory)/docker.pid "
            + "-H unix://\(socket) -H tcp://127.0.0.1:\(tcpPort) --storage-driver=vfs --iptables=false --bridge=none >>\(directory)/dockerd.log 2>&1 </dev/null & echo $!"])
        let text = launched.stdout
        guard let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw Self.failure("could not start dockerd: \(text)") }
        self.pid = pid
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if (try? DockerCLI.run(["info"], host: "unix://" + socket))?.status == 0 { return }
            Thread.sleep(forTimeInterval: 0.2)
        }
        throw Self.failure("the test's dockerd did not answer on \(socket) within 30 s; see \(directory)/dockerd.log")
    }

    /// Stops the engine with `signal` and waits for it to be gone. SIGTERM stops its containers first.
    func stop(signal: Int32 = SIGTERM) throws {
        guard let pid else { return }
        kill(pid, signal)
        let deadline = Date().addingTimeInterval(40)
        while processIsAlive(pid) && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        guard !processIsAlive(pid) else { throw Self.failure("the test's dockerd (pid \(pid)) did not stop within 40 s") }
        self.pid = nil
    }

    /// Stops the engine and everything it started (containerd and shims outlive a SIGKILLed
    /// dockerd), and removes its directory.
    func shutDown() {
        try? stop(signal: SIGKILL)
        _ = try? spawnAndWait(["pkill", "-KILL", "-f", directory])
        Thread.sleep(forTimeInterval: 0.5)
        _ = try? spawnAndWait(["sh", "-c", "grep -o ' \(directory)[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l"])
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Runs a program (looked up in PATH) to its end with posix_spawn and waitpid, its output in
/// temporary files. Not Foundation's Process: in this test process its waitUntilExit missed the
/// exit of a child that started dockerd, and hung.
func spawnAndWait(_ argv: [String]) throws -> ServerHarness.Result {
    let base = NSTemporaryDirectory() + "docket-spawn-\(UUID().uuidString.prefix(8))"
    let outPath = base + ".out", errPath = base + ".err"
    defer { unlink(outPath); unlink(errPath) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    var cArguments = argv.map { strdup($0) } + [nil]
    defer { cArguments.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawnp(&pid, argv[0], &actions, nil, &cArguments, environ)
    guard spawned == 0 else {
        throw NSError(domain: "spawn", code: Int(spawned), userInfo: [NSLocalizedDescriptionKey: "cannot run \(argv[0]): \(String(cString: strerror(spawned)))"])
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return ServerHarness.Result(status: exitStatus, stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                                stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
}
