import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest

/// The real `aws batch` CLI (from PyPI) against a real server: the operations this release
/// implements, with AWS's error shapes.
final class AWSCLITests: XCTestCase {
    private func aws(_ server: ServerHarness, _ arguments: [String]) throws -> AWSResult {
        try server.aws(arguments)
    }

    func testResourcesCreatedThroughTheAWSCLIRunAJob() throws {
        let server = try ServerHarness()
        try server.start()
        let environment = try aws(server, ["create-compute-environment", "--compute-environment-name", "lab", "--type", "UNMANAGED",
                                           "--tags", "docket:executor=process,docket:vcpus=1"])
        XCTAssertEqual(environment.status, 0, environment.stderr)
        XCTAssertEqual(environment.json["computeEnvironmentArn"] as? String, "arn:aws:batch:local:000000000000:compute-environment/lab")
        let queue = try aws(server, ["create-job-queue", "--job-queue-name", "lab-queue", "--priority", "5",
                                     "--compute-environment-order", "order=1,computeEnvironment=lab"])
        XCTAssertEqual(queue.status, 0, queue.stderr)
        let first = try aws(server, ["register-job-definition", "--job-definition-name", "greet", "--type", "container",
                                     "--container-properties", #"{"image":"busybox","command":["echo","Ref::word"],"resourceRequirements":[{"type":"VCPU","value":"1"},{"type":"MEMORY","value":"64"}]}"#,
                                     "--parameters", "word=first"])
        XCTAssertEqual(first.json["revision"] as? Int, 1)
        let second = try aws(server, ["register-job-definition", "--job-definition-name", "greet", "--type", "container",
                                      "--container-properties", #"{"image":"busybox","command":["echo","Ref::word"],"resourceRequirements":[{"type":"VCPU","value":"1"},{"type":"MEMORY","value":"64"}]}"#,
                                      "--parameters", "word=second"])
        XCTAssertEqual(second.json["revision"] as? Int, 2)
        let submitted = try aws(server, ["submit-job", "--job-name", "hello", "--job-queue", "lab-queue", "--job-definition", "greet"])
        XCTAssertEqual(submitted.status, 0, submitted.stderr)
        let id = try XCTUnwrap(submitted.json["jobId"] as? String)
        let job = try server.waitForStatus(id, ["SUCCEEDED", "FAILED"])
        XCTAssertEqual(job["status"] as? String, "SUCCEEDED")
        XCTAssertEqual(job["jobDefinition"] as? String, "arn:aws:batch:local:000000000000:job-definition/greet:2")
        XCTAssertTrue(try server.docket(["logs", id]).stdout.hasSuffix("second\n"), "latest ACTIVE revision, its parameter substituted")
        let described = try aws(server, ["describe-jobs", "--jobs", id])
        let detail = try XCTUnwrap((described.json["jobs"] as? [[String: Any]])?.first)
        XCTAssertEqual(detail["jobQueue"] as? String, "arn:aws:batch:local:000000000000:job-queue/lab-queue")
        XCTAssertEqual(((detail["attempts"] as? [[String: Any]])?.first?["container"] as? [String: Any])?["exitCode"] as? Int, 0)
        let environments = try aws(server, ["describe-compute-environments", "--compute-environments", "lab"])
        let described0 = try XCTUnwrap((environments.json["computeEnvironments"] as? [[String: Any]])?.first)
        XCTAssertEqual((described0["tags"] as? [String: String])?["docket:executor"], "process")
        XCTAssertEqual(described0["status"] as? String, "VALID")
    }

    func testValidationErrorsComeBackAsClientExceptionsNamingTheMember() throws {
        let server = try ServerHarness()
        try server.start()
        let cases: [([String], String)] = [
            (["submit-job", "--job-name", "bad name", "--job-queue", "default", "--job-definition", "default"],
             "Provided name bad name is not supported pattern[a-zA-Z_0-9-]{1,128}: jobName may contain only letters, digits, hyphens and underscores, and must start with a letter or digit."),
            (["submit-job", "--job-name", "j", "--job-queue", "default", "--job-definition", "default", "--timeout", "attemptDurationSeconds=5"],
             "timeout.attemptDurationSeconds is 5; the minimum is 60 seconds."),
            (["submit-job", "--job-name", "j", "--job-queue", "default", "--job-definition", "default", "--retry-strategy", "attempts=11"],
             "retryStrategy.attempts is 11; it must be between 1 and 10."),
            (["register-job-definition", "--job-definition-name", "noimage", "--type", "container", "--container-properties", #"{"command":["true"]}"#],
             "containerProperties.image is required: AWS Batch requires an image on every container job definition (the process executor ignores it)."),
            (["create-compute-environment", "--compute-environment-name", "x", "--type", "UNMANAGED", "--tags", "docket:executor=teleport"],
             "executor 'teleport' is not loaded; loaded executors: docker, gpu, process. Set the tag docket:executor to one of them or add the plugin to the configuration."),
        ]
        for (arguments, message) in cases {
            let result = try aws(server, arguments)
            // awscli 1.x exits 255 for an error the service answered (2.x: 254).
            XCTAssertEqual(result.status, 255, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("An error occurred (ClientException) when calling the"), result.stderr)
            XCTAssertTrue(result.stderr.contains(message), "\(arguments[0]): \(result.stderr)")
        }
        let environments = try aws(server, ["describe-compute-environments"])
        XCTAssertEqual((environments.json["computeEnvironments"] as? [[String: Any]])?.map { $0["computeEnvironmentName"] as? String }, ["default"],
                       "nothing was stored by the refused requests")
    }

    func testMalformedRequestsAreAnswered4xxNeverWithACrash() throws {
        let server = try ServerHarness()
        try server.start()
        func post(_ path: String, _ body: Data) throws -> (Int, String, String?) {
            var request = URLRequest(url: URL(string: server.endpoint + path)!)
            request.httpMethod = "POST"
            request.httpBody = body
            let semaphore = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var result: (Int, String, String?) = (0, "", nil)
            URLSession.shared.dataTask(with: request) { data, response, _ in
                let http = response as? HTTPURLResponse
                result = (http?.statusCode ?? 0, String(decoding: data ?? Data(), as: UTF8.self), http?.value(forHTTPHeaderField: "x-amzn-ErrorType"))
                semaphore.signal()
            }.resume()
            semaphore.wait()
            return result
        }
        let malformed = try post("/v1/submitjob", Data("{not json".utf8))
        XCTAssertEqual(malformed.0, 400)
        XCTAssertEqual(malformed.2, "ClientException")
        XCTAssertTrue(malformed.1.contains("not valid JSON"))
        let unknown = try post("/v1/launchrockets", Data("{}".utf8))
        XCTAssertEqual(unknown.0, 404)
        XCTAssertTrue(unknown.1.contains("Unknown operation"))
        let huge = try post("/v1/submitjob", Data(repeating: UInt8(ascii: " "), count: 2 << 20))
        XCTAssertEqual(huge.0, 413)
        XCTAssertEqual(try server.docket(["jobs"]).status, 0, "the server still answers")
    }
}
