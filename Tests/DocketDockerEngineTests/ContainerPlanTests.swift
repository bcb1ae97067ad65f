@testable import DocketDockerEngine
import Foundation
import XCTest

/// containerProperties → the Engine API's ContainerCreate body, and the refusals that happen
/// before any container is created.
final class ContainerPlanTests: XCTestCase {
    private func plan(_ properties: [String: Any] = [:], image: String? = "docket-test/busybox:1", memory: Int64 = 64,
                      environment: [String] = [], devices: [String] = [], policy: ContainerPolicy = ContainerPolicy()) throws -> ContainerPlan {
        try ContainerPlan(image: image, command: ["sh", "-c", "true"], environment: environment, labels: ["docket.job-id": "j"],
                          memoryMiB: memory, vcpuMillis: 1500, gpuCount: Int64(devices.count), devices: devices,
                          properties: properties, workDirectory: "/tmp/work/a-1", policy: policy)
    }

    private func refusal(_ body: () throws -> ContainerPlan) -> ContainerPlanError? {
        do { _ = try body(); return nil } catch let error as ContainerPlanError { return error } catch { return nil }
    }

    func testLimitsCommandEnvironmentAndLabels() throws {
        let body = try plan(environment: ["A=1", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "AWS_BATCH_JOB_ID=j"]).body
        XCTAssertEqual(body["Image"] as? String, "docket-test/busybox:1")
        XCTAssertEqual(body["Cmd"] as? [String], ["sh", "-c", "true"])
        XCTAssertEqual(body["Env"] as? [String], ["A=1", "AWS_BATCH_JOB_ID=j"], "the host's default PATH gives way to the image's")
        XCTAssertEqual(body["Labels"] as? [String: String], ["docket.job-id": "j"])
        XCTAssertEqual(body["NetworkDisabled"] as? Bool, true)
        let host = try XCTUnwrap(body["HostConfig"] as? [String: Any])
        XCTAssertEqual(host["Memory"] as? Int64, 64 * 1_048_576)
        XCTAssertEqual(host["NanoCpus"] as? Int64, 1_500_000_000)
        XCTAssertEqual(host["CpuShares"] as? Int64, 1536)
        XCTAssertEqual(host["NetworkMode"] as? String, "none")
        XCTAssertNil(host["Privileged"])
        XCTAssertNil(host["MemorySwap"], "without maxSwap the engine's default applies, as on AWS")
    }

    func testContainerPropertiesAreTranslated() throws {
        var policy = ContainerPolicy()
        policy.allowedHostPaths = ["/tmp"]
        policy.allowedDevices = ["/dev/null"]
        policy.workingDirectory = "/work"
        let body = try plan([
            "user": "65534", "readonlyRootFilesystem": true,
            "ulimits": [["name": "nofile", "softLimit": 100, "hardLimit": 200]],
            "volumes": [["name": "data", "host": ["sourcePath": "/tmp/docket-plan-test"]], ["name": "scratch"]],
            "mountPoints": [["sourceVolume": "data", "containerPath": "/data", "readOnly": true],
                            ["sourceVolume": "scratch", "containerPath": "/scratch"]],
            "linuxParameters": ["devices": [["hostPath": "/dev/null", "containerPath": "/dev/mynull", "permissions": ["READ"]]],
                                "sharedMemorySize": 32, "initProcessEnabled": true, "maxSwap": 0, "swappiness": 10,
                                "tmpfs": [["containerPath": "/fast", "size": 16, "mountOptions": ["noexec"]]]],
        ], policy: policy).body
        XCTAssertEqual(body["User"] as? String, "65534")
        XCTAssertEqual(body["WorkingDir"] as? String, "/work")
        let host = try XCTUnwrap(body["HostConfig"] as? [String: Any])
        XCTAssertEqual(host["ReadonlyRootfs"] as? Bool, true)
        XCTAssertEqual((host["Ulimits"] as? [[String: Any]])?.first?["Soft"] as? Int64, 100)
        XCTAssertEqual(host["Binds"] as? [String], ["/tmp/docket-plan-test:/data:ro", "/tmp/work/a-1/volumes/scratch:/scratch"])
        let device = try XCTUnwrap((host["Devices"] as? [[String: Any]])?.first)
        XCTAssertEqual(device["PathInContainer"] as? String, "/dev/mynull")
        XCTAssertEqual(device["CgroupPermissions"] as? String, "r")
        XCTAssertEqual(host["ShmSize"] as? Int64, 32 * 1_048_576)
        XCTAssertEqual(host["Init"] as? Bool, true)
        XCTAssertEqual(host["MemorySwap"] as? Int64, 64 * 1_048_576, "maxSwap 0: memory + 0, no swap")
        XCTAssertEqual(host["MemorySwappiness"] as? Int64, 10)
        XCTAssertEqual(host["Tmpfs"] as? [String: String], ["/fast": "size=16m,noexec"])
    }

    func testAssignedGPUsBecomeDeviceRequestsByUUID() throws {
        let body = try plan(devices: ["GPU-1111", "GPU-2222"]).body
        let request = try XCTUnwrap(((body["HostConfig"] as? [String: Any])?["DeviceRequests"] as? [[String: Any]])?.first)
        XCTAssertEqual(request["DeviceIDs"] as? [String], ["GPU-1111", "GPU-2222"])
        XCTAssertEqual(request["Driver"] as? String, "nvidia")
        XCTAssertNil(request["Count"], "exactly the assigned GPUs, never 'any N'")
    }

    func testRefusalsNameTheField() throws {
        XCTAssertEqual(refusal { try plan(image: "Bad/Image:1") }?.field, "containerProperties.image")
        XCTAssertEqual(refusal { try plan(image: "busybox:") }?.field, "containerProperties.image")
        XCTAssertEqual(refusal { try plan(image: nil) }?.field, "containerProperties.image")
        XCTAssertEqual(refusal { try plan(memory: 4) }?.field, "resourceRequirements.MEMORY")
        XCTAssertEqual(refusal { try plan(["privileged": true]) }?.field, "containerProperties.privileged")
        XCTAssertEqual(refusal { try plan(environment: ["DOCKET_NETWORK_MODE=host"]) }?.field, "environment.DOCKET_NETWORK_MODE")
        XCTAssertEqual(refusal { try plan(["ulimits": [["name": "files", "softLimit": 1, "hardLimit": 1]]]) }?.field,
                       "containerProperties.ulimits[0].name")
        XCTAssertEqual(refusal { try plan(["mountPoints": [["sourceVolume": "nope", "containerPath": "/x"]]]) }?.field,
                       "containerProperties.mountPoints[0].sourceVolume")
        XCTAssertEqual(refusal { try plan(["linuxParameters": ["devices": [["hostPath": "/dev/sda"]]]]) }?.field,
                       "containerProperties.linuxParameters.devices[0].hostPath")
    }

    func testHostPathsCannotLeaveTheAllowedDirectories() throws {
        var policy = ContainerPolicy()
        policy.allowedHostPaths = ["/tmp/allowed"]
        let escape = { (path: String) in
            self.refusal { try self.plan(["volumes": [["name": "v", "host": ["sourcePath": path]]]], policy: policy) }?.field
        }
        XCTAssertEqual(escape("/etc"), "containerProperties.volumes[0].host.sourcePath")
        XCTAssertEqual(escape("/tmp/allowed/../../etc"), "containerProperties.volumes[0].host.sourcePath")
        XCTAssertEqual(escape("/tmp/allowedness"), "containerProperties.volumes[0].host.sourcePath", "a prefix is not a parent")
        XCTAssertNil(escape("/tmp/allowed/inputs/x"))
        // A symlink inside the allowed directory that points out of it.
        let allowed = NSTemporaryDirectory() + "docket-plan-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: allowed, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: allowed) }
        try FileManager.default.createSymbolicLink(atPath: allowed + "/out", withDestinationPath: "/etc")
        policy.allowedHostPaths = [allowed]
        XCTAssertEqual(escape(allowed + "/out"), "containerProperties.volumes[0].host.sourcePath")
    }

    func testImageReferences() {
        for good in ["busybox", "busybox:1.36", "library/busybox", "registry.example.com:5000/team/app:v1.2-rc_3",
                     "localhost/app", "app@sha256:" + String(repeating: "a", count: 64), "Registry.Example.com/app"] {
            XCTAssertNil(ContainerPlan.imageProblem(good), good)
        }
        for bad in ["", "Busybox", "app:", "app:-x", "a//b", "-app", "app@sha256:xyz", String(repeating: "a", count: 256)] {
            XCTAssertNotNil(ContainerPlan.imageProblem(bad), bad)
        }
    }
}

/// The wire helpers: endpoints, versions, the stdout/stderr frames.
final class EngineWireTests: XCTestCase {
    func testEndpoints() throws {
        XCTAssertEqual(try EngineEndpoint.parse("unix:///var/run/docker.sock"), .unix(path: "/var/run/docker.sock"))
        XCTAssertEqual(try EngineEndpoint.parse("/run/d.sock"), .unix(path: "/run/d.sock"))
        XCTAssertEqual(try EngineEndpoint.parse("tcp://10.0.0.5:2375"), .tcp(host: "10.0.0.5", port: 2375))
        XCTAssertThrowsError(try EngineEndpoint.parse("tcp://nohost"))
        XCTAssertThrowsError(try EngineEndpoint.parse("https://x:2376"))
    }

    func testVersionsCompare() {
        XCTAssertLessThan(EngineVersion("1.9")!, EngineVersion("1.41")!)
        XCTAssertEqual(min(EngineVersion("1.47")!, EngineClient.newestVersion).description, "1.45")
        XCTAssertNil(EngineVersion("one"))
    }

    func testDemultiplexerSplitsFramesAcrossReads() {
        var frames: [[UInt8]] = [[1, 0, 0, 0, 0, 0, 0, 3] + Array("out".utf8), [2, 0, 0, 0, 0, 0, 0, 4] + Array("err\n".utf8)]
        let bytes = frames.joined().map { $0 }
        var demultiplexer = StreamDemultiplexer()
        var seen: [(UInt8, String)] = []
        // Fed one byte at a time: every frame still comes out whole, once.
        for byte in bytes {
            demultiplexer.feed([byte]) { stream, payload in seen.append((stream, String(decoding: payload, as: UTF8.self))) }
        }
        XCTAssertEqual(seen.map(\.0), [1, 2])
        XCTAssertEqual(seen.map(\.1), ["out", "err\n"])
        frames.removeAll()
    }
}
