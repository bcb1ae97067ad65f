import GRDB
import GRDBSQLite

/// Inserts rows through one prepared single-row statement, binding each value straight to
/// SQLite. A commit writes an array's 10,000 children and their 30,000 events at once; built as
/// GRDB `StatementArguments` (an existential box per value) those rows cost several times the
/// insert itself.
struct RowInserter {
    private let statement: Statement
    private var column: Int32 = 0

    init(_ db: Database, table: String, columns: [String], orReplace: Bool) throws {
        let marks = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        statement = try db.cachedStatement(sql: "INSERT \(orReplace ? "OR REPLACE " : "")INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(marks))")
    }

    /// SQLite copies bound text and blobs at once (SQLITE_TRANSIENT), so the Swift values need
    /// not outlive the bind.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    mutating func text(_ value: String?) {
        column += 1
        guard let value else { sqlite3_bind_null(statement.sqliteStatement, column); return }
        var copy = value
        copy.withUTF8 { bytes in
            let start = UnsafeRawPointer(bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self)
            _ = sqlite3_bind_text(statement.sqliteStatement, column, start, Int32(bytes.count), Self.transient)
        }
    }

    mutating func integer(_ value: Int64?) {
        column += 1
        if let value { sqlite3_bind_int64(statement.sqliteStatement, column, value) } else { sqlite3_bind_null(statement.sqliteStatement, column) }
    }

    mutating func blob(_ bytes: [UInt8]) {
        column += 1
        bytes.withUnsafeBytes { raw in
            _ = sqlite3_bind_blob(statement.sqliteStatement, column, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, Int32(raw.count), Self.transient)
        }
    }

    /// Inserts the row whose values were just bound, in column order, and readies the next.
    mutating func insert(_ db: Database) throws {
        column = 0
        let code = sqlite3_step(statement.sqliteStatement)
        sqlite3_reset(statement.sqliteStatement)
        sqlite3_clear_bindings(statement.sqliteStatement)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }
}
