import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest

/// Signature Version 4 on a real server with access keys: the real aws CLI, boto3 and the
/// docket CLI with the right keys are served; wrong or missing keys get AWS's 403 errors; a
/// server without keys refuses to listen beyond loopback; key configuration errors name the
/// file, the line and the fix.
final class AuthenticationTests: XCTestCase {
    static let config = """
        server:
          access_keys:
            - access_key_id: AKIDDOCKETTEST
              secret_access_key: "s3cr3t/with+symbols"
        """

    /// The environment of a client with these keys and nothing else AWS-related: no profile,
    /// no config files, no instance metadata lookups.
    private static func clientEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AWS_") && !$0.key.hasPrefix("DOCKET_") }
        environment["AWS_CONFIG_FILE"] = "/dev/null"
        environment["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
        environment["AWS_EC2_METADATA_DISABLED"] = "true"
        environment["AWS_PAGER"] = ""
        environment.merge(extra) { _, new in new }
        return environment
    }

    private func keys(_ id: String, _ secret: String) -> [String: String] {
        ["AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": secret, "AWS_CONFIG_FILE": "/dev/null",
         "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_SESSION_TOKEN": "", "AWS_EC2_METADATA_DISABLED": "true"]
    }

    /// Runs the docket binary with exactly `environment`; stdout and stderr as text.
    private func run(_ arguments: [String], environment: [String: String]) throws -> ServerHarness.Result {
        try ServerHarness.runDocket(arguments, environment: environment)
    }

    /// A POST to the server from a plain HTTP client: status, x-amzn-ErrorType and body.
    private func post(_ server: ServerHarness, _ headers: [String: String]) -> (status: Int, type: String?, body: String) {
        var request = URLRequest(url: URL(string: server.endpoint + "/v1/describejobqueues")!)
        request.httpMethod = "POST"
        request.httpBody = Data("{}".utf8)
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let semaphore = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Int, String?, String) = (0, nil, "")
        URLSession.shared.dataTask(with: request) { data, response, _ in
            let http = response as? HTTPURLResponse
            result = (http?.statusCode ?? 0, http?.value(forHTTPHeaderField: "x-amzn-ErrorType"), String(decoding: data ?? Data(), as: UTF8.self))
            semaphore.signal()
        }.resume()
        semaphore.wait()
        return result
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

        // awscli 1.x exits 255 for an error the service answered.
        let wrongSecret = try server.aws(["describe-job-queues"], environment: keys("AKIDDOCKETTEST", "not-the-secret"))
        XCTAssertEqual(wrongSecret.status, 255)
        XCTAssertTrue(wrongSecret.stderr.contains("An error occurred (InvalidSignatureException) when calling the DescribeJobQueues operation: The request signature we calculated does not match the signature you provided."),
                      wrongSecret.stderr)
        XCTAssertFalse(wrongSecret.stderr.contains("s3cr3t"), "no secret in any answer")
        let unknownKey = try server.aws(["describe-job-queues"], environment: keys("AKIDSOMEONEELSE", "s3cr3t/with+symbols"))
        XCTAssertEqual(unknownKey.status, 255)
        XCTAssertTrue(unknownKey.stderr.contains("(UnrecognizedClientException) when calling the DescribeJobQueues operation: The security token included in the request is invalid."),
                      unknownKey.stderr)
        let wrongRegion = try server.aws(["describe-job-queues", "--region", "us-east-1"], environment: right)
        XCTAssertEqual(wrongRegion.status, 255)
        XCTAssertTrue(wrongRegion.stderr.contains("(InvalidSignatureException)") && wrongRegion.stderr.contains("This server's region is 'local'"),
                      wrongRegion.stderr)
        let listedAfter = try server.aws(["list-jobs", "--job-queue", "default", "--job-status", "SUCCEEDED"], environment: right)
        XCTAssertEqual(listedAfter.status, 0, listedAfter.stderr)
    }

    func testBoto3IsServedWithTheRightKeyAndRefusedWithWrongOnes() throws {
        let server = try ServerHarness(config: Self.config)
        try server.start()
        let script = """
            import boto3, botocore, sys
            def client(key, secret):
                return boto3.client("batch", endpoint_url=sys.argv[1], region_name="local",
                                    aws_access_key_id=key, aws_secret_access_key=secret)
            print(client("AKIDDOCKETTEST", "s3cr3t/with+symbols").describe_compute_environments()["computeEnvironments"][0]["computeEnvironmentName"])
            for key, secret in [("AKIDDOCKETTEST", "wrong"), ("AKIDNOBODY", "s3cr3t/with+symbols")]:
                try:
                    client(key, secret).describe_compute_environments()
                except botocore.exceptions.ClientError as error:
                    print(error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"])
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, server.endpoint]
        process.environment = Self.clientEnvironment()
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch {
            throw NSError(domain: "e2e", code: 1, userInfo: [NSLocalizedDescriptionKey: "python3 is missing: install python3 and boto3 (\(error))"])
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(text, "default\nInvalidSignatureException 403\nUnrecognizedClientException 403\n", stderr)
    }

    func testUnsignedAndStaleRawRequestsAreRefused() throws {
        let server = try ServerHarness(config: Self.config)
        try server.start()
        let unsigned = post(server, [:])
        XCTAssertEqual(unsigned.status, 403)
        XCTAssertEqual(unsigned.type, "MissingAuthenticationTokenException")
        XCTAssertTrue(unsigned.body.contains(#""message":"Missing Authentication Token"#), unsigned.body)
        // Ten minutes old: refused for its time before its (made-up) signature is looked at.
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let stale = formatter.string(from: Date().addingTimeInterval(-600))
        let expired = post(server, ["X-Amz-Date": stale, "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDDOCKETTEST/\(stale.prefix(8))/local/batch/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"])
        XCTAssertEqual(expired.status, 403)
        XCTAssertEqual(expired.type, "InvalidSignatureException")
        XCTAssertTrue(expired.body.contains("Signature expired: \(stale) is now earlier than "), expired.body)
    }

    func testTheDocketCLISignsWithItsKeysAndSaysWhatToSetWithout() throws {
        let server = try ServerHarness(config: Self.config)
        try server.start()
        let withKeys = Self.clientEnvironment(["DOCKET_ENDPOINT": server.endpoint, "DOCKET_ACCESS_KEY_ID": "AKIDDOCKETTEST",
                                               "DOCKET_SECRET_ACCESS_KEY": "s3cr3t/with+symbols"])
        let submitted = try run(["submit", "--", "true"], environment: withKeys)
        XCTAssertEqual(submitted.status, 0, submitted.stderr)
        let logs = try run(["logs", submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)], environment: withKeys)
        XCTAssertEqual(logs.status, 0, "a signed GET with a query: \(logs.stderr)")
        let awsKeys = try run(["jobs"], environment: Self.clientEnvironment(["DOCKET_ENDPOINT": server.endpoint, "AWS_ACCESS_KEY_ID": "AKIDDOCKETTEST",
                                                                              "AWS_SECRET_ACCESS_KEY": "s3cr3t/with+symbols"]))
        XCTAssertEqual(awsKeys.status, 0, "the aws CLI's variables serve too: \(awsKeys.stderr)")

        let withoutKeys = try run(["jobs"], environment: Self.clientEnvironment(["DOCKET_ENDPOINT": server.endpoint]))
        XCTAssertEqual(withoutKeys.status, 1)
        XCTAssertEqual(withoutKeys.stderr, "error: MissingAuthenticationTokenException: the docket server at \(server.endpoint) requires signed requests and no access key is set; set DOCKET_ACCESS_KEY_ID and DOCKET_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) to one of the server's access keys.\n")
        let halfKey = try run(["jobs"], environment: Self.clientEnvironment(["DOCKET_ENDPOINT": server.endpoint, "DOCKET_ACCESS_KEY_ID": "AKIDDOCKETTEST"]))
        XCTAssertEqual(halfKey.status, 64)
        XCTAssertEqual(halfKey.stderr, "error: DOCKET_ACCESS_KEY_ID is set but DOCKET_SECRET_ACCESS_KEY is not; set both to sign requests, or unset DOCKET_ACCESS_KEY_ID.\n")
        let wrongSecret = try run(["jobs"], environment: Self.clientEnvironment(["DOCKET_ENDPOINT": server.endpoint, "DOCKET_ACCESS_KEY_ID": "AKIDDOCKETTEST",
                                                                                 "DOCKET_SECRET_ACCESS_KEY": "wrong"]))
        XCTAssertEqual(wrongSecret.status, 1)
        XCTAssertTrue(wrongSecret.stderr.hasPrefix("error: InvalidSignatureException: The request signature we calculated does not match"), wrongSecret.stderr)
    }

    func testTheReadyLineSaysHowRequestsAreAuthenticated() throws {
        let directory = NSTemporaryDirectory() + "docket-auth-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "# id secret\nAKIDONE secret-one\n\nAKIDTWO secret-two\n".write(toFile: directory + "/keys", atomically: true, encoding: .utf8)
        try "server:\n  access_keys_file: keys\n".write(toFile: directory + "/docket.yaml", atomically: true, encoding: .utf8)
        func readyLine(_ arguments: [String], _ environment: [String: String] = AuthenticationTests.clientEnvironment()) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: ServerHarness.docketBinary)
            process.arguments = ["server", "--listen", "127.0.0.1:0", "--data-dir", directory + "/data-\(UUID().uuidString.prefix(4))"] + arguments
            process.environment = environment
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try process.run()
            defer { process.terminate(); process.waitUntilExit() }
            var buffer = Data()
            while !String(decoding: buffer, as: UTF8.self).contains("\n") {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
            }
            return String(decoding: buffer, as: UTF8.self)
        }
        let fromFile = try readyLine(["--config", directory + "/docket.yaml"])
        XCTAssertTrue(fromFile.hasPrefix("docket server ready on http://127.0.0.1:") && fromFile.hasSuffix(" (SigV4: 2 access keys)\n"), fromFile)
        let fromEnvironment = try readyLine([], Self.clientEnvironment(["DOCKET_ACCESS_KEY_ID": "AKIDENV", "DOCKET_SECRET_ACCESS_KEY": "secret"]))
        XCTAssertTrue(fromEnvironment.hasSuffix(" (SigV4: 1 access key)\n"), fromEnvironment)
        let none = try readyLine([])
        XCTAssertTrue(none.hasSuffix(" (loopback only: no access keys are configured)\n"), none)
    }

    func testWithoutKeysTheServerRefusesToListenBeyondLoopbackNamingTheFix() throws {
        let result = try run(["server", "--listen", "0.0.0.0:0", "--data-dir", NSTemporaryDirectory() + "docket-auth-\(UUID().uuidString.prefix(8))"],
                             environment: Self.clientEnvironment())
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("refusing to listen on 0.0.0.0: no access keys are configured"), result.stderr)
        XCTAssertTrue(result.stderr.contains("server.allow_unauthenticated_remote: true"), result.stderr)
        XCTAssertTrue(result.stderr.contains("server.access_keys"), result.stderr)
    }

    func testKeyConfigurationErrorsNameTheFileTheLineAndTheFix() throws {
        let directory = NSTemporaryDirectory() + "docket-auth-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let data = ["--data-dir", directory + "/data"]
        try "server:\n  access_keys:\n    - access_key_id: AKIDONE\n".write(toFile: directory + "/no-secret.yaml", atomically: true, encoding: .utf8)
        let noSecret = try run(["server", "--config", directory + "/no-secret.yaml"] + data, environment: Self.clientEnvironment())
        XCTAssertEqual(noSecret.status, 78)
        XCTAssertEqual(noSecret.stderr, "error: \(directory)/no-secret.yaml:3: server.access_keys[0] needs access_key_id and secret_access_key.\n")

        try "AKIDONE secret-one\nAKIDTWO\n".write(toFile: directory + "/keys", atomically: true, encoding: .utf8)
        try "server:\n  access_keys_file: \(directory)/keys\n".write(toFile: directory + "/bad-file.yaml", atomically: true, encoding: .utf8)
        let badFile = try run(["server", "--config", directory + "/bad-file.yaml"] + data, environment: Self.clientEnvironment())
        XCTAssertEqual(badFile.status, 78)
        XCTAssertEqual(badFile.stderr, "error: \(directory)/keys:2: each line holds ACCESS_KEY_ID SECRET_ACCESS_KEY separated by a space.\n")
        XCTAssertFalse(badFile.stderr.contains("secret-one"), "no secret in any message")

        let halfKey = try run(["server"] + data, environment: Self.clientEnvironment(["DOCKET_ACCESS_KEY_ID": "AKIDONE"]))
        XCTAssertEqual(halfKey.status, 78)
        XCTAssertEqual(halfKey.stderr, "error: environment: DOCKET_ACCESS_KEY_ID is set but DOCKET_SECRET_ACCESS_KEY is not; set both to add an access key, or unset DOCKET_ACCESS_KEY_ID.\n")
    }
}
