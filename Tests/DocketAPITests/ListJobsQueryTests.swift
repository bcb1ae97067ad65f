@testable import DocketAPI
import DocketCore
import XCTest

final class ListJobsQueryTests: XCTestCase {
    func testWithoutStatusOrFiltersOnlyRunningJobsAreListed() throws {
        XCTAssertEqual(try ListJobsQuery.decode(Members(["jobQueue": "q"])),
                       ListJobsQuery(queue: "q", status: .running, filter: nil, limit: 100, afterSequence: nil))
    }

    func testAFilterMakesJobStatusIgnored() throws {
        let query = try ListJobsQuery.decode(Members(["jobQueue": "q", "jobStatus": "FAILED", "filters": [["name": "JOB_NAME", "values": ["a*"]]]]))
        XCTAssertNil(query.status)
        XCTAssertEqual(query.filter, .jobName("a*"))
    }

    func testTheShareIdentifierFilterKeepsJobStatus() throws {
        let query = try ListJobsQuery.decode(Members(["jobQueue": "q", "jobStatus": "FAILED", "filters": [["name": "SHARE_IDENTIFIER", "values": ["teamA"]]]]))
        XCTAssertEqual(query.status, .failed)
    }

    func testJobNameFiltersMatchCaseInsensitivelyWithATrailingWildcard() {
        let prefix = ListJobsQuery(queue: "q", status: nil, filter: .jobName("test1*"), limit: 10, afterSequence: nil)
        XCTAssertEqual(["Test1", "test10", "test2"].map { prefix.admits(FakeBackend.job(id: $0, name: $0, sequence: 1)) }, [true, true, false])
        let exact = ListJobsQuery(queue: "q", status: nil, filter: .jobName("test1"), limit: 10, afterSequence: nil)
        XCTAssertEqual(["Test1", "test10"].map { exact.admits(FakeBackend.job(id: $0, name: $0, sequence: 1)) }, [true, false])
    }

    func testJobDefinitionFiltersTakeANameAPrefixOrAnARN() {
        let job = FakeBackend.job(id: "j", name: "n", sequence: 1, definition: "jd1A")
        func admits(_ value: String) -> Bool {
            ListJobsQuery(queue: "q", status: nil, filter: .jobDefinition(value), limit: 10, afterSequence: nil).admits(job)
        }
        XCTAssertEqual([admits("jd1"), admits("jd1*"), admits("jd1A"), admits("arn:aws:batch:local:000000000000:job-definition/jd1A:1"),
                        admits("arn:aws:batch:local:000000000000:job-definition/jd1A:2")], [false, true, true, true, false])
    }

    func testCreatedAtFiltersCompareEpochMilliseconds() {
        let job = FakeBackend.job(id: "j", name: "n", sequence: 1, createdAt: 1_000)
        XCTAssertTrue(ListJobsQuery(queue: "q", status: nil, filter: .createdBefore(1_001), limit: 1, afterSequence: nil).admits(job))
        XCTAssertFalse(ListJobsQuery(queue: "q", status: nil, filter: .createdAfter(1_000), limit: 1, afterSequence: nil).admits(job))
    }

    func testPagesFollowNextTokenInSubmissionOrder() async throws {
        let backend = FakeBackend()
        for index in 1...5 { await backend.add(FakeBackend.job(id: "j\(index)", name: "n\(index)", sequence: Int64(index), status: .running)) }
        let router = makeRouter(backend)
        var names: [[String]] = []
        var token: JSONValue?
        repeat {
            var body: [String: JSONValue] = ["jobQueue": "q", "maxResults": 2]
            if let token { body["nextToken"] = token }
            let reply = await post(router, "listjobs", .object(body))
            XCTAssertEqual(reply.status, 200, "\(reply.body)")
            names.append(reply.body["jobSummaryList"]?.arrayValue?.compactMap { $0["jobName"]?.stringValue } ?? [])
            token = reply.body["nextToken"]
        } while token != nil && names.count < 10
        XCTAssertEqual(names, [["n1", "n2"], ["n3", "n4"], ["n5"]])
    }

    func testAFilterReadsPastNonMatchingJobsToFillThePageNewestFirst() async {
        let backend = FakeBackend()
        for index in 1...30 { await backend.add(FakeBackend.job(id: "j\(index)", name: index % 10 == 0 ? "keep\(index)" : "skip", sequence: Int64(index))) }
        let router = makeRouter(backend)
        let reply = await post(router, "listjobs", #"{"jobQueue":"q","maxResults":2,"filters":[{"name":"JOB_NAME","values":["KEEP*"]}]}"#)
        XCTAssertEqual(reply.body["jobSummaryList"]?.arrayValue?.compactMap { $0["jobName"]?.stringValue }, ["keep30", "keep20"],
                       "with a filter AWS lists newest first")
        let token = try? XCTUnwrap(reply.body["nextToken"])
        let last = await post(router, "listjobs", .object(["jobQueue": "q", "maxResults": 2, "nextToken": token ?? .null,
                                                           "filters": [["name": "JOB_NAME", "values": ["KEEP*"]]]]))
        XCTAssertEqual(last.body["jobSummaryList"]?.arrayValue?.compactMap { $0["jobName"]?.stringValue }, ["keep10"])
        XCTAssertNil(last.body["nextToken"], "the last page has no nextToken")
    }

    func testJobSummaryHasTheAWSMembers() {
        var job = FakeBackend.job(id: "j", name: "n", sequence: 1, status: .succeeded, createdAt: 5)
        var attempt = Attempt(number: 1, computeEnvironment: "lab", logStreamName: "s")
        attempt.exitCode = 0
        job.attempts = [attempt]
        job.startedAt = 6
        job.stoppedAt = 7
        XCTAssertEqual(JobWire.encodeSummary(job), [
            "jobArn": "arn:aws:batch:local:000000000000:job/j", "jobId": "j", "jobName": "n", "createdAt": 5, "status": "SUCCEEDED",
            "startedAt": 6, "stoppedAt": 7, "container": ["exitCode": 0], "jobDefinition": "arn:aws:batch:local:000000000000:job-definition/train:1",
        ])
    }

    func testRuleBreakingListRequestsAreRefusedNamingTheMember() async {
        let cases: [(String, String)] = [
            (#"{}"#, "give exactly one of jobQueue (the queue's jobs) and arrayJobId (an array job's children)."),
            (#"{"jobQueue":"q","arrayJobId":"a"}"#, "give exactly one of jobQueue (the queue's jobs) and arrayJobId (an array job's children)."),
            (#"{"arrayJobId":"a","filters":[{"name":"JOB_NAME","values":["x"]}]}"#, "filters do not apply to an array's children (AWS's rule); list by jobStatus, or list the queue with filters."),
            (#"{"jobQueue":"q","maxResults":0}"#, "maxResults is 0; it must be between 1 and 1000."),
            (#"{"jobQueue":"q","jobStatus":"DONE"}"#, "jobStatus is 'DONE'; it must be one of SUBMITTED, PENDING, RUNNABLE, STARTING, RUNNING, SUCCEEDED, FAILED."),
            (#"{"jobQueue":"q","nextToken":"bm9wZQ=="}"#, "nextToken 'bm9wZQ==' is not a token this server gave; pass the previous page's nextToken unchanged, or omit it to start at the beginning."),
            (#"{"jobQueue":"q","filters":[{"name":"JOB_NAME","values":["a"]},{"name":"JOB_DEFINITION","values":["b"]}]}"#,
             "filters has 2 entries; ListJobs takes one filter at a time."),
            (#"{"jobQueue":"q","filters":[{"name":"COLOR","values":["a"]}]}"#,
             "filters[0].name is 'COLOR'; it must be one of JOB_NAME, JOB_DEFINITION, BEFORE_CREATED_AT, AFTER_CREATED_AT, SHARE_IDENTIFIER."),
            (#"{"jobQueue":"q","filters":[{"name":"AFTER_CREATED_AT","values":["yesterday"]}]}"#,
             "filters[0].values: AFTER_CREATED_AT takes a time in epoch milliseconds, e.g. 1700000000000; 'yesterday' is not one."),
            (#"{"jobQueue":"q","filters":[{"name":"JOB_NAME","values":["a","b"]}]}"#, "filters[0].values must hold exactly one non-empty value for JOB_NAME."),
        ]
        for (body, expected) in cases {
            assertClientException(await post(makeRouter(), "listjobs", body), expected, body)
        }
    }
}
