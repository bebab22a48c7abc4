import Foundation
import Logging
import NIOConcurrencyHelpers

/// ``StoreRows`` on a SQLite file, for `store copy`: a source beside its running daemon (WAL readers do
/// not block it) or a destination, created and migrated when missing.
public final class SQLiteRows: StoreRows, @unchecked Sendable {
    // Safe because every use of the connection holds the lock.
    private let connection: NIOLockedValueBox<SQLiteConnection?>
    public let path: String

    /// Opens the store; with `create`, creates and migrates it when missing (a destination).
    public init(path: String, create: Bool, logger: Logger) throws(StoreError) {
        self.path = path
        do throws(SQLiteError) {
            if !create && !FileManager.default.fileExists(atPath: path) {
                throw SQLiteError(code: 14, message: "no event store at \(path)")
            }
            let connection = try SQLiteConnection(path: path, mode: .create)
            try connection.execute("PRAGMA journal_mode = WAL")
            try connection.execute("PRAGMA synchronous = FULL")
            if create { try StoreSchema.migrate(connection, logger: logger) }
            self.connection = NIOLockedValueBox(connection)
        } catch {
            throw StoreError.openFailed(path: path, error)
        }
    }

    private func with<Value>(_ body: (SQLiteConnection) throws(SQLiteError) -> Value) throws(StoreError) -> Value {
        let result: Result<Value, StoreError> = connection.withLockedValue { connection in
            guard let connection else { return .failure(.closed) }
            do throws(SQLiteError) {
                return .success(try body(connection))
            } catch {
                return .failure(.unavailable(error))
            }
        }
        return try result.get()
    }

    private func transaction(_ body: (SQLiteConnection) throws(SQLiteError) -> Void) throws(StoreError) {
        try with { connection throws(SQLiteError) in
            try connection.execute("BEGIN IMMEDIATE")
            do throws(SQLiteError) {
                try body(connection)
                try connection.execute("COMMIT")
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }

    private static let eventColumns =
        "seq, id, type, project, event_time, received_at, message_id, webhook_timestamp, signature, body, subject, user_id, erased_at, "
        + "trace_context"
    private static let deliveryColumns = """
        id, event_seq, action, status, attempts, next_attempt_at, last_error, replay, created_at, updated_at,
        lease_expirations, subject, order_at, out_of_order
        """
    private static let attemptColumns = "id, delivery_id, number, started_at, duration_ms, outcome, error, output"

    private static func event(_ row: SQLiteStatement) -> EventRow {
        EventRow(
            sequence: row.int64(at: 0), id: row.text(at: 1) ?? "", type: row.text(at: 2) ?? "",
            project: row.text(at: 3), eventTime: row.text(at: 4), receivedAt: row.int64(at: 5),
            messageID: row.text(at: 6) ?? "", webhookTimestamp: row.int64(at: 7), signature: row.text(at: 8) ?? "",
            body: row.bytes(at: 9), subject: row.text(at: 10), user: row.text(at: 11),
            erasedAt: row.optionalInt64(at: 12), traceContext: row.text(at: 13))
    }

    private static func delivery(_ row: SQLiteStatement) -> DeliveryRow {
        DeliveryRow(
            id: row.int64(at: 0), eventSequence: row.int64(at: 1), action: row.text(at: 2) ?? "",
            status: row.text(at: 3) ?? "", attempts: row.int64(at: 4), nextAttemptAt: row.int64(at: 5),
            lastError: row.text(at: 6), replay: row.int64(at: 7), createdAt: row.int64(at: 8),
            updatedAt: row.int64(at: 9), leaseExpirations: row.int64(at: 10), subject: row.text(at: 11),
            orderAt: row.int64(at: 12), outOfOrder: row.int64(at: 13))
    }

    private static func attempt(_ row: SQLiteStatement) -> AttemptRow {
        AttemptRow(
            id: row.int64(at: 0), deliveryID: row.int64(at: 1), number: row.int64(at: 2), startedAt: row.int64(at: 3),
            durationMilliseconds: row.int64(at: 4), outcome: row.text(at: 5) ?? "", error: row.text(at: 6),
            output: row.text(at: 7))
    }

    public func events(after id: Int64, limit: Int) throws(StoreError) -> [EventRow] {
        try with { connection throws(SQLiteError) in
            try connection.rows(
                "SELECT \(Self.eventColumns) FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                [.integer(id), .integer(Int64(limit))], Self.event)
        }
    }

    public func deliveries(after id: Int64, limit: Int) throws(StoreError) -> [DeliveryRow] {
        try with { connection throws(SQLiteError) in
            try connection.rows(
                "SELECT \(Self.deliveryColumns) FROM deliveries WHERE id > ? ORDER BY id LIMIT ?",
                [.integer(id), .integer(Int64(limit))], Self.delivery)
        }
    }

    public func attempts(after id: Int64, limit: Int) throws(StoreError) -> [AttemptRow] {
        try with { connection throws(SQLiteError) in
            try connection.rows(
                "SELECT \(Self.attemptColumns) FROM attempts WHERE id > ? ORDER BY id LIMIT ?",
                [.integer(id), .integer(Int64(limit))], Self.attempt)
        }
    }

    /// `SELECT columns FROM table WHERE key IN (…)`, in chunks SQLite's parameter limit allows.
    private func rows<Row>(
        _ columns: String, from table: String, key: String, in values: [SQLiteValue],
        _ map: (SQLiteStatement) -> Row
    ) throws(StoreError) -> [Row] {
        try with { connection throws(SQLiteError) in
            var rows: [Row] = []
            for start in stride(from: 0, to: values.count, by: 500) {
                let chunk = Array(values[start..<min(start + 500, values.count)])
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
                rows += try connection.rows("SELECT \(columns) FROM \(table) WHERE \(key) IN (\(marks))", chunk, map)
            }
            return rows
        }
    }

    public func events(ids: [Int64]) throws(StoreError) -> [EventRow] {
        try rows(Self.eventColumns, from: "events", key: "seq", in: ids.map(SQLiteValue.integer), Self.event)
    }

    public func deliveries(ids: [Int64]) throws(StoreError) -> [DeliveryRow] {
        try rows(Self.deliveryColumns, from: "deliveries", key: "id", in: ids.map(SQLiteValue.integer), Self.delivery)
    }

    public func attempts(ids: [Int64]) throws(StoreError) -> [AttemptRow] {
        try rows(Self.attemptColumns, from: "attempts", key: "id", in: ids.map(SQLiteValue.integer), Self.attempt)
    }

    public func eventSequences(eventIDs: [String]) throws(StoreError) -> [String: Int64] {
        let pairs = try rows("id, seq", from: "events", key: "id", in: eventIDs.map(SQLiteValue.text)) {
            ($0.text(at: 0) ?? "", $0.int64(at: 1))
        }
        return Dictionary(pairs, uniquingKeysWith: { first, _ in first })
    }

    public func insert(events: [EventRow]) throws(StoreError) {
        try transaction { connection throws(SQLiteError) in
            let insert = try connection.prepare(
                "INSERT INTO events (\(Self.eventColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
            )
            for row in events {
                defer { insert.reset() }
                try insert.bind(row.sequence, at: 1)
                try insert.bind(row.id, at: 2)
                try insert.bind(row.type, at: 3)
                try insert.bind(row.project, at: 4)
                try insert.bind(row.eventTime, at: 5)
                try insert.bind(row.receivedAt, at: 6)
                try insert.bind(row.messageID, at: 7)
                try insert.bind(row.webhookTimestamp, at: 8)
                try insert.bind(row.signature, at: 9)
                try insert.bind(bytes: row.body, at: 10)
                try insert.bind(row.subject, at: 11)
                try insert.bind(row.user, at: 12)
                try insert.bind(row.erasedAt, at: 13)
                try insert.bind(row.traceContext, at: 14)
                try insert.step()
            }
        }
    }

    public func upsert(deliveries: [DeliveryRow]) throws(StoreError) {
        try transaction { connection throws(SQLiteError) in
            let upsert = try connection.prepare(
                """
                INSERT INTO deliveries (\(Self.deliveryColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET status = excluded.status, attempts = excluded.attempts,
                    next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error,
                    updated_at = excluded.updated_at, lease_expirations = excluded.lease_expirations,
                    out_of_order = excluded.out_of_order
                WHERE deliveries.updated_at < excluded.updated_at
                """)
            for row in deliveries {
                defer { upsert.reset() }
                try upsert.bind(row.id, at: 1)
                try upsert.bind(row.eventSequence, at: 2)
                try upsert.bind(row.action, at: 3)
                try upsert.bind(row.status, at: 4)
                try upsert.bind(row.attempts, at: 5)
                try upsert.bind(row.nextAttemptAt, at: 6)
                try upsert.bind(row.lastError, at: 7)
                try upsert.bind(row.replay, at: 8)
                try upsert.bind(row.createdAt, at: 9)
                try upsert.bind(row.updatedAt, at: 10)
                try upsert.bind(row.leaseExpirations, at: 11)
                try upsert.bind(row.subject, at: 12)
                try upsert.bind(row.orderAt, at: 13)
                try upsert.bind(row.outOfOrder, at: 14)
                try upsert.step()
            }
        }
    }

    public func insert(attempts: [AttemptRow]) throws(StoreError) {
        try transaction { connection throws(SQLiteError) in
            let insert = try connection.prepare(
                "INSERT INTO attempts (\(Self.attemptColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
            for row in attempts {
                defer { insert.reset() }
                try insert.bind(row.id, at: 1)
                try insert.bind(row.deliveryID, at: 2)
                try insert.bind(row.number, at: 3)
                try insert.bind(row.startedAt, at: 4)
                try insert.bind(row.durationMilliseconds, at: 5)
                try insert.bind(row.outcome, at: 6)
                try insert.bind(row.error, at: 7)
                try insert.bind(row.output, at: 8)
                try insert.step()
            }
        }
    }

    public func listedKeys() throws(StoreError) -> [String] {
        try with { connection throws(SQLiteError) in
            try connection.rows(StoreKeySQL.listed, []) { $0.text(at: 0) ?? "" }
        }
    }

    public func list(keys: [String]) throws(StoreError) {
        try transaction { connection throws(SQLiteError) in
            for key in keys {
                _ = try connection.rows(StoreKeySQL.list, [.text(key), .integer(unixMilliseconds())]) { _ in () }
            }
        }
    }

    public func reserveIDs(above ids: StoreCopy.HighestIDs) {}

    public func close() {
        connection.withLockedValue { $0 = nil }
    }
}
