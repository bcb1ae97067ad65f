import DocketCore
import Foundation
import GRDB

/// The embedded store: SQLite in WAL mode through GRDB, one file in the data directory.
///
/// Resources are stored as JSON documents beside the columns queries need. Every write is one
/// transaction that is durable (synchronous=FULL) before the call returns, so an acknowledged
/// request or transition survives SIGKILL and power loss. The only importer of GRDB.
package final class SQLiteStore: Sendable {
    private let pool: DatabasePool
    private let encoder: JSONEncoder
    private let decoder: JSONDecoder
    private let checkpoints: Checkpoints

    /// Opens (creating if needed) the database at `path` and runs the migrations.
    /// - Throws: `DocketError(.unavailable)` naming the file when it cannot be opened.
    package init(path: String) throws(DocketError) {
        do {
            var configuration = Configuration()
            // Waits out a lock another process holds for a moment (a checkpoint, the sqlite3
            // shell) instead of failing at once.
            configuration.busyMode = .timeout(5)
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB puts the writer in WAL mode with synchronous=NORMAL once it opens (after
            // prepareDatabase runs), which survives a crash of the process but not of the
            // machine: set FULL on the writer afterwards, so every commit is fsynced.
            // Checkpoints run in the background (below), not in whichever commit crosses
            // SQLite's 1,000-page mark: that commit, an array's SubmitJob or any request's, used
            // to pay for copying the whole WAL into the database file and its fsync.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 0") }
            try Self.migrator.migrate(pool)
        } catch {
            throw DocketError(.unavailable, "cannot open the store at \(path): \(error); check that the data directory is writable and not used by another docket server.", cause: error)
        }
        encoder = JSONEncoder()
        decoder = JSONDecoder()
        checkpoints = Checkpoints(pool: pool, walPath: path + "-wal")
    }

    deinit { checkpoints.stop() }

    /// Stops the background checkpoints and folds the whole WAL into the database file, so the
    /// next process to open the store starts from a short WAL. The store stays usable.
    package func close() {
        checkpoints.stop()
        try? pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    }


    /// The writer's synchronous setting (2 = FULL), for the test that pins it.
    package func synchronousMode() throws(DocketError) -> Int {
        try write("read the synchronous setting") { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// Migrations are SQL strings, never edited once released: add a new one instead.
    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE compute_environments (name TEXT PRIMARY KEY, body BLOB NOT NULL);
                CREATE TABLE job_queues (name TEXT PRIMARY KEY, body BLOB NOT NULL);
                CREATE TABLE job_definitions (
                    name TEXT NOT NULL, revision INTEGER NOT NULL, status TEXT NOT NULL, body BLOB NOT NULL,
                    PRIMARY KEY (name, revision));
                CREATE TABLE jobs (
                    id TEXT PRIMARY KEY, sequence INTEGER NOT NULL UNIQUE, queue TEXT NOT NULL,
                    status TEXT NOT NULL, status_reason TEXT, name TEXT NOT NULL, created_at INTEGER NOT NULL,
                    body BLOB NOT NULL);
                CREATE INDEX jobs_by_queue_status ON jobs (queue, status, sequence);
                CREATE INDEX jobs_by_status ON jobs (status, sequence);
                CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                """)
        }
        migrator.registerMigration("v2") { db in
            // Scheduling policies, consumable resources and quota shares: documents by kind and name.
            try db.execute(sql: """
                CREATE TABLE resources (kind TEXT NOT NULL, name TEXT NOT NULL, body BLOB NOT NULL,
                    PRIMARY KEY (kind, name));
                CREATE TABLE job_consumables (resource TEXT NOT NULL, sequence INTEGER NOT NULL, job_id TEXT NOT NULL,
                    PRIMARY KEY (resource, sequence));
                """)
        }
        migrator.registerMigration("v3") { db in
            // The job state change log: one row per status change, written in the transaction
            // that makes the change durable, so readers see exactly the committed history in order.
            try db.execute(sql: """
                CREATE TABLE job_events (cursor INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL,
                    status TEXT NOT NULL, status_reason TEXT, at INTEGER NOT NULL);
                """)
        }
        migrator.registerMigration("v4") { db in
            // Array children name their parent, so an array's children are listed and counted
            // through an index that only they occupy.
            try db.execute(sql: """
                ALTER TABLE jobs ADD COLUMN parent TEXT;
                CREATE INDEX jobs_by_parent ON jobs (parent, sequence) WHERE parent IS NOT NULL;
                """)
        }
        return migrator
    }

    // MARK: Helpers

    private func write<T>(_ operation: String, _ body: (Database) throws -> T) throws(DocketError) -> T {
        do {
            return try pool.write(body)
        } catch let error as DocketError {
            throw error
        } catch {
            throw DocketError(.unavailable, "store: \(operation) failed: \(error)", cause: error)
        }
    }

    private func read<T>(_ operation: String, _ body: (Database) throws -> T) throws(DocketError) -> T {
        do {
            return try pool.read(body)
        } catch let error as DocketError {
            throw error
        } catch {
            throw DocketError(.unavailable, "store: \(operation) failed: \(error)", cause: error)
        }
    }

    private func encode<T: Encodable>(_ value: T) throws -> Data { try encoder.encode(value) }
    private func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T { try decoder.decode(type, from: data) }

    // MARK: Compute environments and queues

    /// Inserts or replaces a compute environment.
    package func save(_ environment: ComputeEnvironment) throws(DocketError) {
        try write("save compute environment '\(environment.name)'") { db in
            try db.execute(sql: "INSERT OR REPLACE INTO compute_environments (name, body) VALUES (?, ?)",
                           arguments: [environment.name, try encode(environment)])
        }
    }

    package func computeEnvironments() throws(DocketError) -> [ComputeEnvironment] {
        try read("list compute environments") { db in
            try Data.fetchAll(db, sql: "SELECT body FROM compute_environments ORDER BY name").map {
                try decode(ComputeEnvironment.self, $0)
            }
        }
    }

    /// Inserts or replaces a job queue.
    package func save(_ queue: JobQueue) throws(DocketError) {
        try write("save job queue '\(queue.name)'") { db in
            try db.execute(sql: "INSERT OR REPLACE INTO job_queues (name, body) VALUES (?, ?)",
                           arguments: [queue.name, try encode(queue)])
        }
    }

    package func jobQueues() throws(DocketError) -> [JobQueue] {
        try read("list job queues") { db in
            try Data.fetchAll(db, sql: "SELECT body FROM job_queues ORDER BY name").map { try decode(JobQueue.self, $0) }
        }
    }

    package func deleteComputeEnvironment(named name: String) throws(DocketError) {
        try write("delete compute environment '\(name)'") { db in
            try db.execute(sql: "DELETE FROM compute_environments WHERE name = ?", arguments: [name])
        }
    }

    package func deleteJobQueue(named name: String) throws(DocketError) {
        try write("delete job queue '\(name)'") { db in
            try db.execute(sql: "DELETE FROM job_queues WHERE name = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM resources WHERE kind = ? AND name LIKE ? ESCAPE '\\'",
                           arguments: [ResourceKind.quotaShare.rawValue, Self.likePrefix(name + "/")])
        }
    }

    // MARK: Scheduling policies, consumable resources, quota shares

    /// The kinds kept in the `resources` table, each a Codable document under a unique name.
    package enum ResourceKind: String, Sendable {
        case schedulingPolicy = "scheduling-policy"
        case consumableResource = "consumable-resource"
        /// Named "QUEUE/NAME": a quota share's name is unique within its job queue.
        case quotaShare = "quota-share"
    }

    /// Inserts or replaces a document.
    package func save<Resource: Encodable>(_ resource: Resource, kind: ResourceKind, name: String) throws(DocketError) {
        try write("save \(kind.rawValue) '\(name)'") { db in
            try db.execute(sql: "INSERT OR REPLACE INTO resources (kind, name, body) VALUES (?, ?, ?)",
                           arguments: [kind.rawValue, name, try encode(resource)])
        }
    }

    /// Every document of a kind, by name.
    package func resources<Resource: Decodable>(_ type: Resource.Type, kind: ResourceKind) throws(DocketError) -> [Resource] {
        try read("list \(kind.rawValue)s") { db in
            try Data.fetchAll(db, sql: "SELECT body FROM resources WHERE kind = ? ORDER BY name", arguments: [kind.rawValue])
                .map { try decode(type, $0) }
        }
    }

    package func deleteResource(kind: ResourceKind, name: String) throws(DocketError) {
        try write("delete \(kind.rawValue) '\(name)'") { db in
            try db.execute(sql: "DELETE FROM resources WHERE kind = ? AND name = ?", arguments: [kind.rawValue, name])
        }
    }

    private static func likePrefix(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_") + "%"
    }

    // MARK: Job definitions

    /// Stores `definition` as the next revision of its name and returns it with the revision set.
    /// `makeARN` builds the ARN from name and revision.
    package func register(_ definition: JobDefinition, makeARN: (String, Int) -> String) throws(DocketError) -> JobDefinition {
        try write("register job definition '\(definition.name)'") { db in
            let last = try Int.fetchOne(db, sql: "SELECT MAX(revision) FROM job_definitions WHERE name = ?",
                                        arguments: [definition.name]) ?? 0
            var stored = definition
            stored.revision = last + 1
            stored.arn = makeARN(stored.name, stored.revision)
            try db.execute(sql: "INSERT INTO job_definitions (name, revision, status, body) VALUES (?, ?, ?, ?)",
                           arguments: [stored.name, stored.revision, stored.status, try encode(stored)])
            return stored
        }
    }

    /// Replaces a stored revision (DeregisterJobDefinition, tags).
    package func update(_ definition: JobDefinition) throws(DocketError) {
        try write("update job definition '\(definition.name):\(definition.revision)'") { db in
            try db.execute(sql: "UPDATE job_definitions SET status = ?, body = ? WHERE name = ? AND revision = ?",
                           arguments: [definition.status, try encode(definition), definition.name, definition.revision])
        }
    }

    /// A revision by name and number, or the latest ACTIVE revision when `revision` is nil.
    package func jobDefinition(name: String, revision: Int?) throws(DocketError) -> JobDefinition? {
        try read("read job definition '\(name)'") { db in
            let body: Data?
            if let revision {
                body = try Data.fetchOne(db, sql: "SELECT body FROM job_definitions WHERE name = ? AND revision = ?",
                                         arguments: [name, revision])
            } else {
                body = try Data.fetchOne(db, sql: "SELECT body FROM job_definitions WHERE name = ? AND status = 'ACTIVE' ORDER BY revision DESC LIMIT 1",
                                         arguments: [name])
            }
            return try body.map { try decode(JobDefinition.self, $0) }
        }
    }

    /// Definitions filtered by name and status (either may be nil), by name then revision.
    package func jobDefinitions(name: String?, status: String?) throws(DocketError) -> [JobDefinition] {
        try read("list job definitions") { db in
            var sql = "SELECT body FROM job_definitions WHERE 1 = 1"
            var arguments: StatementArguments = []
            if let name { sql += " AND name = ?"; arguments += [name] }
            if let status { sql += " AND status = ?"; arguments += [status] }
            sql += " ORDER BY name, revision"
            return try Data.fetchAll(db, sql: sql, arguments: arguments).map { try decode(JobDefinition.self, $0) }
        }
    }

    // MARK: Jobs

    /// The highest job sequence stored, 0 for an empty store.
    package func lastJobSequence() throws(DocketError) -> Int64 {
        try read("read the last job sequence") { db in try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM jobs") ?? 0 }
    }

    /// Inserts or replaces whole jobs, then applies status-only changes (jobs that still wait:
    /// the row's status columns change, the document keeps the rest), in one transaction.
    /// - Parameter areNew: the jobs are not stored yet (SubmitJob), so their previous statuses
    ///   need not be read.
    package func commit(jobs: [Job], statuses: [(id: String, status: JobStatus, reason: String?)],
                        consumables: [ConsumableResource] = [], areNew: Bool = false) throws(DocketError) {
        guard !jobs.isEmpty || !statuses.isEmpty || !consumables.isEmpty else { return }
        try write("save \(jobs.count + statuses.count) job change(s)") { db in
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            // The statuses the rows have now, read in a few queries rather than one per job
            // (an array's 10,000 children are written in one commit).
            var previous: [String: String] = [:]
            let ids = areNew ? statuses.map(\.id) : jobs.map(\.id) + statuses.map(\.id)
            for start in stride(from: 0, to: ids.count, by: 500) {
                let chunk = Array(ids[start..<min(start + 500, ids.count)])
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                for row in try Row.fetchAll(db, sql: "SELECT id, status FROM jobs WHERE id IN (\(marks))", arguments: StatementArguments(chunk)) {
                    previous[row[0]] = row[1]
                }
            }
            var events = try RowInserter(db, table: "job_events", columns: ["job_id", "status", "status_reason", "at"], orReplace: false)
            // One event per status a job passed through: a job settled at submit goes
            // SUBMITTED -> PENDING -> RUNNABLE in one write, and readers expect all three, in order.
            // The scheduler commits RUNNING lazily, so a short attempt can go from STARTING to its
            // end in one write; its start time says it ran, and the log says RUNNING too.
            func event(_ id: String, _ status: JobStatus, _ reason: String?) throws {
                events.text(id)
                events.text(status.rawValue)
                events.text(reason)
                events.integer(now)
                try events.insert(db)
            }
            func record(_ id: String, from old: String?, to new: JobStatus, reason: String?, ran: Bool = false) throws {
                guard old != new.rawValue else { return }
                let oldStatus = old.flatMap(JobStatus.init(rawValue:))
                if new.isTerminal, ran, old != JobStatus.running.rawValue {
                    for status in Self.statusesPassed(from: oldStatus, to: .running) { try event(id, status, nil) }
                    try event(id, .running, nil)
                } else {
                    for status in Self.statusesPassed(from: oldStatus, to: new) { try event(id, status, nil) }
                }
                try event(id, new, reason)
            }
            var rows = try RowInserter(db, table: "jobs", columns: ["id", "sequence", "queue", "status", "status_reason", "name",
                                                                    "created_at", "body", "parent"], orReplace: true)
            for job in jobs {
                try record(job.id, from: previous[job.id], to: job.status, reason: job.statusReason,
                           ran: job.attempts.last?.startedAt != nil)
                previous[job.id] = job.status.rawValue
                rows.text(job.id)
                rows.integer(job.sequence)
                rows.text(job.queue)
                rows.text(job.status.rawValue)
                rows.text(job.statusReason)
                rows.text(job.name)
                rows.integer(job.createdAt)
                rows.blob(Self.compactBody(job) ?? job.documentJSON())
                rows.text(job.arrayParentID)
                try rows.insert(db)
                for use in job.consumableResources ?? [] {
                    try db.execute(sql: "INSERT OR IGNORE INTO job_consumables (resource, sequence, job_id) VALUES (?, ?, ?)",
                                   arguments: [use.resource, job.sequence, job.id])
                }
            }
            let change = try db.cachedStatement(sql: "UPDATE jobs SET status = ?, status_reason = ? WHERE id = ?")
            for status in statuses {
                try record(status.id, from: previous[status.id], to: status.status, reason: status.reason)
                previous[status.id] = status.status.rawValue
                try change.execute(arguments: [status.status.rawValue, status.reason, status.id])
            }
            for resource in consumables {
                // A resource deleted meanwhile stays deleted: only existing rows are updated.
                try db.execute(sql: "UPDATE resources SET body = ? WHERE kind = ? AND name = ?",
                               arguments: [try encode(resource), ResourceKind.consumableResource.rawValue, resource.name])
            }
        }
    }

    /// The forward path SUBMITTED, PENDING, RUNNABLE, STARTING, RUNNING: the statuses strictly
    /// between `old` (nil: a new job, before SUBMITTED) and `new` on it. Empty for any other move
    /// (a retry back to RUNNABLE, a cancel straight to FAILED).
    static func statusesPassed(from old: JobStatus?, to new: JobStatus) -> ArraySlice<JobStatus> {
        guard let end = forwardPath.firstIndex(of: new) else { return old == nil ? forwardPath[0..<1] : [] }
        let start = old.map { forwardPath.firstIndex(of: $0) } ?? -1
        guard let start, start < end else { return [] }
        return forwardPath[(start + 1)..<end]
    }

    private static let forwardPath: [JobStatus] = [.submitted, .pending, .runnable, .starting, .running]

    /// Inserts new jobs and replaces changed ones, all in one transaction.
    package func save(jobs: [Job]) throws(DocketError) {
        try commit(jobs: jobs, statuses: [])
    }

    /// What the store keeps of an array child nothing has changed yet beyond its status: its
    /// parent, index and dependencies (`Job.arrayChild` rebuilds the rest from the parent), so a
    /// 10,000-child array is written in one transaction of small rows. nil for any other job.
    static func compactBody(_ job: Job) -> [UInt8]? {
        guard let index = job.arrayIndex, let parent = job.arrayParentID, job.attempts.isEmpty,
              [.submitted, .pending, .runnable].contains(job.status), !job.isCancelled, !job.isTerminated else { return nil }
        // Job ids are UUIDs and "PARENT:INDEX" (no quotes or backslashes), so no escaping is
        // needed; written as bytes, since an array's 10,000 children each get one.
        var body: [UInt8] = []
        body.reserveCapacity(96 + job.dependsOn.count * 64)
        body.append(contentsOf: #"{"arrayChildOf":""#.utf8)
        body.append(contentsOf: parent.utf8)
        body.append(contentsOf: #"","index":"#.utf8)
        body.append(contentsOf: String(index).utf8)
        body.append(contentsOf: #","dependsOn":["#.utf8)
        for (position, dependency) in job.dependsOn.enumerated() {
            body.append(contentsOf: position == 0 ? "{".utf8 : ",{".utf8)
            if let id = dependency.jobID {
                body.append(contentsOf: #""jobID":""#.utf8)
                body.append(contentsOf: id.utf8)
                body.append(UInt8(ascii: "\""))
            }
            if let type = dependency.type {
                body.append(contentsOf: (dependency.jobID == nil ? #""type":""# : #","type":""#).utf8)
                body.append(contentsOf: type.utf8)
                body.append(UInt8(ascii: "\""))
            }
            body.append(UInt8(ascii: "}"))
        }
        body.append(contentsOf: "]}".utf8)
        return body
    }

    /// An array child's compact row, as `compactBody` writes it.
    private struct ArrayChildStub {
        var arrayChildOf: String
        var index: Int
        var dependsOn: [JobDependency]

        init(_ body: Data) throws {
            let value = try JSONParser.parse([UInt8](body))
            guard let parent = value["arrayChildOf"]?.stringValue, let index = value["index"]?.intValue else {
                throw DocketError(.internalError, "a stored array child row lacks arrayChildOf or index")
            }
            arrayChildOf = parent
            self.index = Int(index)
            dependsOn = (value["dependsOn"]?.arrayValue ?? []).map {
                JobDependency(jobID: $0["jobID"]?.stringValue, type: $0["type"]?.stringValue)
            }
        }
    }

    /// A job row: the document (an array child's rebuilt from its parent), with the status
    /// columns (which status-only changes update) applied. `parents` caches parents per read.
    private func decodeJob(_ row: Row, _ db: Database, _ parents: inout [String: Job]) throws -> Job {
        let body = row["body"] as Data
        var job: Job
        if body.starts(with: Self.stubPrefix) {
            let stub = try ArrayChildStub(body)
            if parents[stub.arrayChildOf] == nil {
                guard let parentBody = try Data.fetchOne(db, sql: "SELECT body FROM jobs WHERE id = ?", arguments: [stub.arrayChildOf]) else {
                    throw DocketError(.internalError, "array child \(stub.arrayChildOf):\(stub.index) has no parent row")
                }
                parents[stub.arrayChildOf] = try Job(documentJSON: [UInt8](parentBody))
            }
            job = parents[stub.arrayChildOf]!.arrayChild(index: stub.index, sequence: row["sequence"], dependsOn: stub.dependsOn)
        } else {
            job = try Job(documentJSON: [UInt8](body))
        }
        if let status = JobStatus(rawValue: row["status"]) { job.status = status }
        job.statusReason = row["status_reason"]
        return job
    }

    private static let stubPrefix = Data("{\"arrayChildOf\":".utf8)

    /// Decodes rows with a parent cache shared by the rows of one read.
    private func decodeJobs(_ rows: [Row], _ db: Database) throws -> [Job] {
        var parents: [String: Job] = [:]
        return try rows.map { try decodeJob($0, db, &parents) }
    }

    private static let jobColumns = "body, status, status_reason, sequence"

    package func jobs(ids: [String]) throws(DocketError) -> [Job] {
        guard !ids.isEmpty else { return [] }
        return try read("read \(ids.count) job(s)") { db in
            let marks = Array(repeating: "?", count: ids.count).joined(separator: ",")
            return try decodeJobs(Row.fetchAll(db, sql: "SELECT \(Self.jobColumns) FROM jobs WHERE id IN (\(marks)) ORDER BY sequence",
                                               arguments: StatementArguments(ids)), db)
        }
    }

    /// One job's status without decoding it.
    package func status(ofJob id: String) throws(DocketError) -> JobStatus? {
        try read("read the status of job \(id)") { db in
            try String.fetchOne(db, sql: "SELECT status FROM jobs WHERE id = ?", arguments: [id]).flatMap(JobStatus.init(rawValue:))
        }
    }

    /// Every job not yet SUCCEEDED or FAILED, in submission order: what the scheduler reloads at start.
    package func activeJobs() throws(DocketError) -> [Job] {
        try activeJobs(afterSequence: 0, limit: Int.max)
    }

    /// A page of them: up to `limit` after sequence `afterSequence`.
    package func activeJobs(afterSequence: Int64, limit: Int) throws(DocketError) -> [Job] {
        try read("read active jobs") { db in
            try decodeJobs(Row.fetchAll(db, sql: "SELECT \(Self.jobColumns) FROM jobs WHERE status NOT IN ('SUCCEEDED', 'FAILED') AND sequence > ? ORDER BY sequence LIMIT ?",
                                        arguments: [afterSequence, Int64(limit)]), db)
        }
    }

    /// Jobs of one queue (and status): in submission order after sequence `from`, or with
    /// `newestFirst` in reverse order before it. `namePrefix` and `exactName` filter by job name.
    package func jobs(queue: String, status: JobStatus?, exactName: String?, namePrefix: String?,
                      from position: Int64?, newestFirst: Bool = false, limit: Int) throws(DocketError) -> [Job] {
        try read("list jobs of queue '\(queue)'") { db in
            // An array's children are listed through their parent (ListJobs arrayJobId), not the queue.
            var sql = "SELECT \(Self.jobColumns) FROM jobs WHERE queue = ? AND parent IS NULL"
            var arguments: StatementArguments = [queue]
            if let status { sql += " AND status = ?"; arguments += [status.rawValue] }
            if let exactName { sql += " AND name = ?"; arguments += [exactName] }
            if let namePrefix {
                sql += " AND substr(name, 1, ?) = ?"
                arguments += [namePrefix.count, namePrefix]
            }
            if let position { sql += newestFirst ? " AND sequence < ?" : " AND sequence > ?"; arguments += [position] }
            sql += newestFirst ? " ORDER BY sequence DESC LIMIT ?" : " ORDER BY sequence LIMIT ?"
            arguments += [limit]
            return try decodeJobs(Row.fetchAll(db, sql: sql, arguments: arguments), db)
        }
    }

    /// An array's children in index order (status optional), after `afterSequence`.
    package func arrayChildren(of parent: String, status: JobStatus?, afterSequence: Int64?, limit: Int) throws(DocketError) -> [Job] {
        try read("list the children of array job \(parent)") { db in
            var sql = "SELECT \(Self.jobColumns) FROM jobs WHERE parent = ?"
            var arguments: StatementArguments = [parent]
            if let status { sql += " AND status = ?"; arguments += [status.rawValue] }
            if let afterSequence { sql += " AND sequence > ?"; arguments += [afterSequence] }
            sql += " ORDER BY sequence LIMIT ?"
            arguments += [limit]
            return try decodeJobs(Row.fetchAll(db, sql: sql, arguments: arguments), db)
        }
    }

    /// How many of an array's children are in each status (its statusSummary).
    package func arrayChildCounts(of parent: String) throws(DocketError) -> [JobStatus: Int] {
        try read("count the children of array job \(parent)") { db in
            var counts: [JobStatus: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) FROM jobs WHERE parent = ? GROUP BY status", arguments: [parent]) {
                if let status = JobStatus(rawValue: row[0]) { counts[status] = row[1] }
            }
            return counts
        }
    }

    /// Jobs that need a consumable resource, in submission order after `afterSequence`.
    package func jobs(usingConsumableResource resource: String, afterSequence: Int64?, limit: Int) throws(DocketError) -> [Job] {
        try read("list jobs using consumable resource '\(resource)'") { db in
            try decodeJobs(Row.fetchAll(db, sql: """
                SELECT jobs.body, jobs.status, jobs.status_reason, jobs.sequence
                FROM job_consumables JOIN jobs ON jobs.id = job_consumables.job_id
                WHERE job_consumables.resource = ? AND job_consumables.sequence > ? ORDER BY job_consumables.sequence LIMIT ?
                """, arguments: [resource, afterSequence ?? -1, limit]), db)
        }
    }

    /// Job state changes after `cursor` (0 = from the first), oldest first, each with the job as
    /// it is now but the status and reason it had at that change.
    package func jobEvents(after cursor: Int64, limit: Int) throws(DocketError) -> [JobEvent] {
        try read("read job events after \(cursor)") { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT job_events.cursor, job_events.status AS event_status, job_events.status_reason AS event_reason,
                       job_events.at, jobs.body, jobs.status, jobs.status_reason, jobs.sequence
                FROM job_events JOIN jobs ON jobs.id = job_events.job_id
                WHERE job_events.cursor > ? ORDER BY job_events.cursor LIMIT ?
                """, arguments: [cursor, limit])
            var parents: [String: Job] = [:]
            return try rows.map { row in
                var job = try decodeJob(row, db, &parents)
                if let status = JobStatus(rawValue: row["event_status"]) { job.status = status }
                job.statusReason = row["event_reason"]
                return JobEvent(cursor: row["cursor"], at: row["at"], job: job)
            }
        }
    }

    /// The cursor of the newest job event, 0 when there is none.
    package func lastJobEventCursor() throws(DocketError) -> Int64 {
        try read("read the last job event") { db in try Int64.fetchOne(db, sql: "SELECT MAX(cursor) FROM job_events") ?? 0 }
    }

    /// Counts jobs by status, for `docket jobs` and server info.
    package func jobCounts() throws(DocketError) -> [JobStatus: Int] {
        try read("count jobs") { db in
            var counts: [JobStatus: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) FROM jobs GROUP BY status") {
                if let status = JobStatus(rawValue: row[0]) { counts[status] = row[1] }
            }
            return counts
        }
    }

    // MARK: Settings

    package func setting(_ key: String) throws(DocketError) -> String? {
        try read("read setting \(key)") { db in try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = ?", arguments: [key]) }
    }

    package func setSetting(_ key: String, _ value: String) throws(DocketError) {
        try write("write setting \(key)") { db in
            try db.execute(sql: "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", arguments: [key, value])
        }
    }
}

/// Every 250 ms: once the WAL has grown past 1 MiB and changed since the last look, copy it into
/// the database (PASSIVE: never waits for readers, so it may leave the tail for next time).
private final class Checkpoints: @unchecked Sendable {
    // @unchecked: `lastSeen` is touched only by the timer's handler, on its serial queue; the
    // timer itself is only cancelled.
    private let timer: DispatchSourceTimer
    private let queue = DispatchQueue(label: "docket.store.checkpoint", qos: .utility)
    private var lastSeen = (size: Int64(0), modified: 0)

    /// Cancels the timer and waits for a checkpoint in progress to finish.
    func stop() {
        timer.cancel()
        queue.sync {}
    }

    init(pool: DatabasePool, walPath: String) {
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + .milliseconds(250), repeating: .milliseconds(250), leeway: .milliseconds(50))
        timer.setEventHandler { [weak self] in
            guard let self else { return }
            var info = stat()
            guard stat(walPath, &info) == 0, info.st_size > 1 << 20 else { return }
            let seen = (size: Int64(info.st_size), modified: info.st_mtim.tv_sec * 1_000_000_000 + info.st_mtim.tv_nsec)
            guard seen != lastSeen else { return }
            lastSeen = seen
            try? pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(PASSIVE)") }
        }
        timer.resume()
    }
}
