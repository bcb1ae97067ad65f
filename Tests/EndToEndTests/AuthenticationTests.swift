import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest

/// Signature Version 4 on a real server with access keys: the real aws CLI, boto3 and the
/// docket CLI with the right keys are served; wrong or missing keys get AWS's 403 errors; a
/// server without keys refuses to listen beyond loopback.
final class AuthenticationTests: XCTestCase {
    static let config = """
        server:
          access_keys:
            - access_key_id: AKIDDOCKETTEST
              secret_access_key: "s3cr3t/with+symbols"
        """

    private func keys(_ id: String, _ secret: String) -> [String: String] {
        ["AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": secret, "AWS_CONFIG_FILE": "/dev/null",
         "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"]
    }

    func testTheAWSCLIIsServedWithTheRightKeyAndRefusedWithAWSsErrorsOtherwise() throws {
        let server = try ServerHarness(config: Self.config)
        try server.start()
        let right = keys("AKIDDOCKETTEST", "s3cr3t/with+symbols")
        let listed = try server.aws(["describe-job-queues"], environment: right)
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertEqual((listed.json["jobQueues"] as? [[String: Any]])?.first?["jobQueueName"] as? String, "default")
        let submitted = try server.aws(["submit-job", "--job-name", "signed", "--job-queue", "default", "--job-definition", "default",
                                        "--container-overrides", #"{"command":["true"]}"#], environment: right)
        XCTAssertEqual(submitted.status, 0, submitted.stderr)
        let tagged = try server.aws(["tag-resource", "--resource-arn", "arn:aws:batch:local:000000000000:job-queue/default",
                                     "--tags", "team=ml"], environment: right)
        XCTAssertEqual(tagged.status, 0, "a signed path with an encoded ARN: \(tagged.stderr)")
        let untagged = try server.aws(["untag-resource", "--resource-arn", "arn:aws:batch:local:000000000000:job-queue/default",
                                       "--tag-keys", "team", "other"], environment: right)
        XCTAssertEqual(untagged.status, 0, "a signed query with repeated keys: \(untagged.stderr)")

        let wrongSecret = try server.aws(["describe-job-queues"], environment: keys("AKIDDOCKETTEST", "not-the-secret"))
        XCTAssertEqual(wrongSecret.status, 255)
        XCTAssertTrue(wrongSecret.stderr.contains("(InvalidSignatureException)") && wrongSecret.stderr.contains("does not match the signature you provided"),
                      wrongSecret.stderr)
        let unknownKey = try server.aws(["describe-job-queues"], environment: keys("AKIDSOMEONEELSE", "s3cr3t/with+symbols"))
        XCTAssertEqual(unknownKey.status, 255)
        XCTAssertTrue(unknownKey.stderr.contains("(UnrecognizedClientException)"), unknownKey.stderr)
        let wrongRegion = try server.aws(["describe-job-queues", "--region", "us-east-1"], environment: right)
        XCTAssertEqual(wrongRegion.status, 255)
        XCTAssertTrue(wrongRegion.stderr.contains("Credential should be scoped to a valid region"), wrongRegion.stderr)
        let listedAfter = try server.aws(["list-jobs", "--job-queue", "default", "--job-status", "SUCCEEDED"], environment: right)
        XCTAssertEqual(listedAfter.status, 0, listedAfter.stderr)
    }

    func testBoto3AndRawRequestsAndTheDocketCLI() throws {
        let server = try ServerHarness(config: Self.config)
        try server.start()
        let script = """
            import boto3, botocore, sys
            def client(key, secret):
                return boto3.client("batch", endpoint_url=sys.argv[1], region_name="local",
                                    aws_access_key_id=key, aws_secret_access_key=secret)
            print(client("AKIDDOCKETTEST", "s3cr3t/with+symbols").describe_compute_environments()["computeEnvironments"][0]["computeEnvironmentName"])
            try:
                client("AKIDDOCKETTEST", "wrong").describe_compute_environments()
            except botocore.exceptions.ClientError as error:
                print(error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"])
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, server.endpoint]
        var environment = ProcessInfo.processInfo.environment
        environment["AWS_EC2_METADATA_DISABLED"] = "true"
        environment["AWS_CONFIG_FILE"] = "/dev/null"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(text, "default\nInvalidSignatureException 403\n")

        // An unsigned request, and one signed 10 minutes ago, from a plain HTTP client.
        func post(_ headers: [String: String]) -> (Int, String?) {
            var request = URLRequest(url: URL(string: server.endpoint + "/v1/describejobqueues")!)
            request.httpMethod = "POST"
            request.httpBody = Data("{}".utf8)
            for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
            let semaphore = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var result: (Int, String?) = (0, nil)
            URLSession.shared.dataTask(with: request) { _, response, _ in
                let http = response as? HTTPURLResponse
                result = (http?.statusCode ?? 0, http?.value(forHTTPHeaderField: "x-amzn-ErrorType"))
                semaphore.signal()
            }.resume()
            semaphore.wait()
            return result
        }
        let unsigned = post([:])
        XCTAssertEqual(unsigned.0, 403)
        XCTAssertEqual(unsigned.1, "MissingAuthenticationTokenException")
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let stale = formatter.string(from: Date().addingTimeInterval(-600))
        let expired = post(["X-Amz-Date": stale, "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDDOCKETTEST/\(stale.prefix(8))/local/batch/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"])
        XCTAssertEqual(expired.0, 403)
        XCTAssertEqual(expired.1, "InvalidSignatureException")

        // The docket CLI signs with DOCKET_ACCESS_KEY_ID / DOCKET_SECRET_ACCESS_KEY.
        func docket(_ arguments: [String], _ extra: [String: String]) throws -> ServerHarness.Result {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: ServerHarness.docketBinary)
            process.arguments = arguments
            var environment = ProcessInfo.processInfo.environment
            environment["DOCKET_ENDPOINT"] = server.endpoint
            environment["AWS_ACCESS_KEY_ID"] = nil
            environment["AWS_SECRET_ACCESS_KEY"] = nil
            environment.merge(extra) { _, new in new }
            process.environment = environment
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return ServerHarness.Result(status: process.terminationStatus, stdout: stdout, stderr: stderr)
        }
        let withKeys = try docket(["submit", "--", "true"], ["DOCKET_ACCESS_KEY_ID": "AKIDDOCKETTEST", "DOCKET_SECRET_ACCESS_KEY": "s3cr3t/with+symbols"])
        XCTAssertEqual(withKeys.status, 0, withKeys.stderr)
        let logs = try docket(["logs", withKeys.stdout.trimmingCharacters(in: .whitespacesAndNewlines)],
                              ["DOCKET_ACCESS_KEY_ID": "AKIDDOCKETTEST", "DOCKET_SECRET_ACCESS_KEY": "s3cr3t/with+symbols"])
        XCTAssertEqual(logs.status, 0, "a signed GET with a query: \(logs.stderr)")
        let withoutKeys = try docket(["jobs"], [:])
        XCTAssertEqual(withoutKeys.status, 1)
        XCTAssertTrue(withoutKeys.stderr.contains("MissingAuthenticationTokenException"), withoutKeys.stderr)
    }

    func testWithoutKeysTheServerRefusesToListenBeyondLoopbackNamingTheFix() throws {
        let result = try ServerHarness.runDocket(["server", "--listen", "0.0.0.0:0", "--data-dir", NSTemporaryDirectory() + "docket-auth-\(UUID().uuidString.prefix(8))"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("refusing to listen on 0.0.0.0: no access keys are configured"), result.stderr)
        XCTAssertTrue(result.stderr.contains("server.allow_unauthenticated_remote: true"), result.stderr)
    }
}
