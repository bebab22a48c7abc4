import Foundation

/// Read-only queries on the event log, for the CLI and tests.
///
/// It opens its own connection with `query_only`, so it works while the daemon writes (WAL lets
/// readers and the writer proceed together). Use one reader from one thread.
public final class EventLogReader {
    private let connection: SQLiteConnection

    /// Opens an existing store read-only.
    public init(path: String) throws(StoreError) {
        do {
            connection = try SQLiteConnection(path: path, mode: .readOnly)
        } catch {
            throw StoreError.openFailed(path: path, error)
        }
    }

    /// The newest events first, optionally of one exact type, without bodies.
    public func list(type: String? = nil, limit: Int) throws(StoreError) -> [StoredEvent] {
        let columns = "seq, id, type, project, event_time, received_at, message_id, webhook_timestamp, x''"
        let sql =
            type == nil
            ? "SELECT \(columns) FROM events ORDER BY seq DESC LIMIT ?"
            : "SELECT \(columns) FROM events WHERE type = ? ORDER BY seq DESC LIMIT ?"
        return try query(sql) { statement throws(SQLiteError) in
            var index: Int32 = 1
            if let type {
                try statement.bind(type, at: index)
                index += 1
            }
            try statement.bind(Int64(limit), at: index)
        }
    }

    /// One event with its body, or nil when no event has that id.
    public func event(id: EventID) throws(StoreError) -> StoredEvent? {
        let sql = """
            SELECT seq, id, type, project, event_time, received_at, message_id, webhook_timestamp, body
            FROM events WHERE id = ?
            """
        return try query(sql) { statement throws(SQLiteError) in try statement.bind(id.rawValue, at: 1) }.first
    }

    /// How many events the log holds.
    public func count() throws(StoreError) -> Int {
        do {
            return Int(try connection.scalarText("SELECT count(*) FROM events") ?? "0") ?? 0
        } catch {
            throw StoreError.readFailed(error)
        }
    }

    /// How many rows hold this id (the unique index makes this 0 or 1; tests check it).
    public func rowCount(id: EventID) throws(StoreError) -> Int {
        do {
            let statement = try connection.prepare("SELECT count(*) FROM events WHERE id = ?")
            try statement.bind(id.rawValue, at: 1)
            guard try statement.step() else { return 0 }
            return Int(statement.int64(at: 0))
        } catch {
            throw StoreError.readFailed(error)
        }
    }

    /// The names of the applied schema migrations, in order.
    public func appliedMigrations() throws(StoreError) -> [String] {
        do {
            let statement = try connection.prepare("SELECT name FROM schema_migrations ORDER BY name")
            var names: [String] = []
            while try statement.step() {
                if let name = statement.text(at: 0) { names.append(name) }
            }
            return names
        } catch {
            throw StoreError.readFailed(error)
        }
    }

    private func query(
        _ sql: String,
        bind: (SQLiteStatement) throws(SQLiteError) -> Void
    ) throws(StoreError) -> [StoredEvent] {
        do {
            let statement = try connection.prepare(sql)
            try bind(statement)
            var events: [StoredEvent] = []
            while try statement.step() {
                events.append(
                    StoredEvent(
                        sequence: statement.int64(at: 0),
                        id: EventID(statement.text(at: 1) ?? ""),
                        type: statement.text(at: 2) ?? "",
                        project: statement.text(at: 3),
                        time: statement.text(at: 4),
                        receivedAt: Date(timeIntervalSince1970: Double(statement.int64(at: 5)) / 1000),
                        messageID: statement.text(at: 6) ?? "",
                        webhookTimestamp: statement.int64(at: 7),
                        body: statement.bytes(at: 8)
                    )
                )
            }
            return events
        } catch {
            throw StoreError.readFailed(error)
        }
    }
}
