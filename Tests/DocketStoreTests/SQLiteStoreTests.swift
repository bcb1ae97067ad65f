import DocketCore
import DocketStore
import Foundation
import XCTest

final class SQLiteStoreTests: XCTestCase {
    var path = ""

    override func setUp() {
        path = NSTemporaryDirectory() + "docket-store-\(UUID().uuidString).sqlite"
    }

    func job(_ id: String, sequence: Int64, queue: String = "q", name: String = "job", status: JobStatus = .submitted) -> Job {
        var job = Job(id: id, name: name, arn: "arn:job/\(id)", queue: queue, jobDefinitionArn: "d", jobDefinitionName: "d",
                      sequence: sequence, createdAt: sequence * 10,
                      container: ContainerSpec(image: "i", command: ["echo", "hi"], environment: [], resources: Resources(vcpuMillis: 1000, memoryMiB: 8),
                                               user: nil, properties: ["image": "i"]))
        job.status = status
        return job
    }

    func testEveryCommitIsSyncedToDiskNotOnlyAtCheckpoints() throws {
        let store = try SQLiteStore(path: path)
        XCTAssertEqual(try store.synchronousMode(), 2, "synchronous=FULL on the writer (GRDB's WAL set-up would leave NORMAL)")
    }

    func testJobsSurviveReopeningTheFile() throws {
        do {
            let store = try SQLiteStore(path: path)
            try store.save(jobs: [job("a", sequence: 1), job("b", sequence: 2, status: .running)])
        }
        let reopened = try SQLiteStore(path: path)
        XCTAssertEqual(try reopened.jobs(ids: ["b", "a"]).map(\.id), ["a", "b"])
        XCTAssertEqual(try reopened.activeJobs().map(\.status), [.submitted, .running])
        XCTAssertEqual(try reopened.lastJobSequence(), 2)
    }

    func testDefinitionRevisionsCountUpAndLatestActiveIsChosen() throws {
        let store = try SQLiteStore(path: path)
        let make = { (name: String, revision: Int) in "arn:\(name):\(revision)" }
        let first = try store.register(JobDefinition(name: "train", revision: 0, arn: "", containerProperties: ["image": "a"], createdAt: 1), makeARN: make)
        let second = try store.register(JobDefinition(name: "train", revision: 0, arn: "", containerProperties: ["image": "b"], createdAt: 2), makeARN: make)
        XCTAssertEqual([first.revision, second.revision], [1, 2])
        XCTAssertEqual(second.arn, "arn:train:2")
        XCTAssertEqual(try store.jobDefinition(name: "train", revision: nil)?.containerProperties?["image"], "b")
        XCTAssertEqual(try store.jobDefinition(name: "train", revision: 1)?.containerProperties?["image"], "a")
        XCTAssertNil(try store.jobDefinition(name: "other", revision: nil))
    }

    func testListingFiltersByQueueStatusNameAndPagesBySequence() throws {
        let store = try SQLiteStore(path: path)
        try store.save(jobs: [job("a", sequence: 1, name: "train-1"), job("b", sequence: 2, name: "train-2"),
                              job("c", sequence: 3, name: "eval"), job("d", sequence: 4, queue: "other", name: "train-3"),
                              job("e", sequence: 5, name: "train-4", status: .failed)])
        XCTAssertEqual(try store.jobs(queue: "q", status: .submitted, exactName: nil, namePrefix: "train", from: nil, limit: 10).map(\.id), ["a", "b"])
        XCTAssertEqual(try store.jobs(queue: "q", status: nil, exactName: nil, namePrefix: nil, from: 1, limit: 2).map(\.id), ["b", "c"])
        XCTAssertEqual(try store.jobs(queue: "q", status: nil, exactName: "eval", namePrefix: nil, from: nil, limit: 10).map(\.id), ["c"])
        XCTAssertEqual(try store.jobCounts()[.submitted], 4)
    }

    func testUnwritableLocationFailsWithTheFix() {
        XCTAssertThrowsError(try SQLiteStore(path: "/proc/docket-cannot-write-here/docket.sqlite")) { error in
            let message = (error as? DocketError)?.message ?? ""
            XCTAssertTrue(message.hasPrefix("cannot open the store at /proc/docket-cannot-write-here/docket.sqlite"), message)
            XCTAssertTrue(message.hasSuffix("check that the data directory is writable and not used by another docket server."), message)
        }
    }
}
