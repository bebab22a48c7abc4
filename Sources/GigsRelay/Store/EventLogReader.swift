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

    /// Deliveries, newest first, filtered.
    public func deliveries(_ filter: DeliveryFilter) throws(StoreError) -> [StoredDelivery] {
        var conditions: [String] = []
        if filter.id != nil { conditions.append("d.id = ?") }
        if filter.status != nil { conditions.append("d.status = ?") }
        if filter.action != nil { conditions.append("d.action = ?") }
        if filter.eventID != nil { conditions.append("e.id = ?") }
        let sql = """
            SELECT d.id, e.id, e.type, d.action, d.status, d.attempts, d.last_error, d.next_attempt_at, d.replay,
                   d.created_at, d.updated_at
            FROM deliveries d JOIN events e ON e.seq = d.event_seq
            \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
            ORDER BY d.id DESC LIMIT ?
            """
        do {
            let statement = try connection.prepare(sql)
            var index: Int32 = 1
            if let id = filter.id {
                try statement.bind(id.rawValue, at: index)
                index += 1
            }
            for value in [filter.status?.rawValue, filter.action, filter.eventID?.rawValue] {
                guard let value else { continue }
                try statement.bind(value, at: index)
                index += 1
            }
            try statement.bind(Int64(filter.limit), at: index)
            var deliveries: [StoredDelivery] = []
            while try statement.step() {
                let status = DeliveryStatus(rawValue: statement.text(at: 4) ?? "") ?? .pending
                let isOpen = status == .pending || status == .failed || status == .running
                deliveries.append(
                    StoredDelivery(
                        id: DeliveryID(statement.int64(at: 0)),
                        eventID: EventID(statement.text(at: 1) ?? ""),
                        eventType: statement.text(at: 2) ?? "",
                        action: statement.text(at: 3) ?? "",
                        status: status,
                        attempts: Int(statement.int64(at: 5)),
                        lastError: statement.text(at: 6),
                        nextAttemptAt: isOpen ? Self.date(statement.int64(at: 7)) : nil,
                        isReplay: statement.int64(at: 8) != 0,
                        createdAt: Self.date(statement.int64(at: 9)),
                        updatedAt: Self.date(statement.int64(at: 10))
                    )
                )
            }
            return deliveries
        } catch {
            throw StoreError.readFailed(error)
        }
    }

    /// The recorded attempts of one delivery, oldest first.
    public func attempts(of delivery: DeliveryID) throws(StoreError) -> [StoredAttempt] {
        do {
            let statement = try connection.prepare(
                "SELECT number, started_at, duration_ms, outcome, error, output FROM attempts WHERE delivery_id = ? ORDER BY id"
            )
            try statement.bind(delivery.rawValue, at: 1)
            var attempts: [StoredAttempt] = []
            while try statement.step() {
                attempts.append(
                    StoredAttempt(
                        number: Int(statement.int64(at: 0)),
                        startedAt: Self.date(statement.int64(at: 1)),
                        durationMilliseconds: statement.int64(at: 2),
                        outcome: statement.text(at: 3) ?? "",
                        error: statement.text(at: 4),
                        output: statement.text(at: 5)
                    )
                )
            }
            return attempts
        } catch {
            throw StoreError.readFailed(error)
        }
    }

    private static func date(_ milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
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
                        receivedAt: Self.date(statement.int64(at: 5)),
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
