import Foundation

/// Read-only queries on the event log, for the CLI and tests.
///
/// It opens its own connection with `query_only`, so it works while the daemon writes (WAL lets
/// readers and the writer proceed together). Use one reader from one thread.
public final class EventLogReader {
    private let connection: SQLiteConnection
    /// Opens the bodies, errors and outputs it reads.
    private let sealer: PayloadSealer

    /// Opens an existing store read-only; refuses one holding rows sealed with a key `sealer` lacks.
    public init(path: String, sealer: PayloadSealer = .plaintext) throws(StoreError) {
        self.sealer = sealer
        do {
            connection = try SQLiteConnection(path: path, mode: .readOnly)
        } catch {
            throw StoreError.openFailed(path: path, error)
        }
        try connection.checkKeys(sealer, listing: false)
    }

    /// The newest events first, optionally of one exact type, without bodies.
    public func list(type: String? = nil, limit: Int) throws(StoreError) -> [StoredEvent] {
        try list(EventFilter(type: type, limit: limit))
    }

    /// Events sharing an id prefix beyond which a listing walks the log instead of the id index.
    static let commonPrefixRows: Int64 = 10_000

    /// The newest events first, filtered and after a cursor, without bodies.
    public func list(_ filter: EventFilter) throws(StoreError) -> [StoredEvent] {
        // An id prefix many events share ("evt_") is found fastest newest-first along the log; a rarer one
        // through the id index (whose matches are then sorted). `+id` keeps SQLite off the index.
        var bytewiseID = "id"
        if let prefix = filter.idPrefix, !prefix.isEmpty {
            let (low, high) = ListingSQL.prefixRange(prefix)
            let sharing =
                try rows(
                    "SELECT count(*) FROM (SELECT 1 FROM events WHERE id >= ? AND id < ? LIMIT ?)",
                    [.text(low), .text(high), .integer(Self.commonPrefixRows)]
                ) { $0.int64(at: 0) }.first ?? 0
            if sharing >= Self.commonPrefixRows { bytewiseID = "+id" }
        }
        return try rows(ListingSQL.events(filter, bytewiseID: bytewiseID, .sqlite), Self.event)
    }

    /// One event with its body, or nil when no event has that id.
    public func event(id: EventID) throws(StoreError) -> StoredEvent? {
        let sql = "SELECT \(ListingSQL.eventColumns(body: true, .sqlite)) FROM events WHERE id = ?"
        return try rows(sql, [.text(id.rawValue)], Self.event).first?.opened(by: sealer)
    }

    /// How many events the log holds.
    public func count() throws(StoreError) -> Int {
        try rows("SELECT count(*) FROM events", []) { Int($0.int64(at: 0)) }.first ?? 0
    }

    /// How many rows hold this id (the unique index makes this 0 or 1; tests check it).
    public func rowCount(id: EventID) throws(StoreError) -> Int {
        try rows("SELECT count(*) FROM events WHERE id = ?", [.text(id.rawValue)]) { Int($0.int64(at: 0)) }.first ?? 0
    }

    /// Deliveries, newest first, filtered.
    public func deliveries(_ filter: DeliveryFilter) throws(StoreError) -> [StoredDelivery] {
        let sealer = sealer
        return try rows(ListingSQL.deliveries(filter, .sqlite)) { row in
            ListedDelivery(
                id: row.int64(at: 0), eventID: row.text(at: 1) ?? "", eventType: row.text(at: 2) ?? "",
                action: row.text(at: 3) ?? "", status: row.text(at: 4) ?? "", attempts: row.int64(at: 5),
                lastError: row.text(at: 6), nextAttemptAt: row.int64(at: 7), replay: row.int64(at: 8),
                createdAt: row.int64(at: 9), updatedAt: row.int64(at: 10), subject: row.text(at: 11),
                outOfOrder: row.int64(at: 12)
            ).delivery(opening: sealer)
        }
    }

    /// The dead delivery that holds an ordered delivery's subject: the earliest dead one ordered before
    /// it. Nil when none does (or it is not ordered).
    public func blocker(of delivery: DeliveryID) throws(StoreError) -> DeliveryID? {
        try rows(OrderingSQL.blocker, [.integer(delivery.rawValue)]) {
            DeliveryID($0.int64(at: 0))
        }.first
    }

    /// The recorded attempts of one delivery, oldest first.
    public func attempts(of delivery: DeliveryID) throws(StoreError) -> [StoredAttempt] {
        let sealer = sealer
        return try rows(ListingSQL.attempts, [.integer(delivery.rawValue)]) { row in
            StoredAttempt(
                number: Int(row.int64(at: 0)),
                startedAt: Date(unixMilliseconds: row.int64(at: 1)),
                durationMilliseconds: row.int64(at: 2),
                outcome: row.text(at: 3) ?? "",
                error: row.text(at: 4),
                output: row.text(at: 5)
            ).opened(by: sealer, of: delivery)
        }
    }

    /// The names of the applied schema migrations, in order.
    public func appliedMigrations() throws(StoreError) -> [String] {
        try rows("SELECT name FROM schema_migrations ORDER BY name", []) { $0.text(at: 0) ?? "" }
    }

    /// The newest reconciliation runs, newest first.
    public func reconcileRuns(limit: Int) throws(StoreError) -> [ReconcileRun] {
        try rows(ReconcileRunSQL.latest, [.integer(Int64(limit))], StoreMaintenance.reconcileRun)
    }

    /// Runs a statement built for both backends and maps every row.
    private func rows<Row>(_ statement: SQLStatement, _ map: (SQLiteStatement) -> Row) throws(StoreError) -> [Row] {
        do {
            return try connection.rows(statement, map)
        } catch {
            throw StoreError.readFailed(error)
        }
    }

    /// Runs one query and maps every row; SQLite failures become ``StoreError/readFailed(_:)``.
    private func rows<Row>(
        _ sql: String,
        _ parameters: [SQLiteValue],
        _ map: (SQLiteStatement) -> Row
    ) throws(StoreError) -> [Row] {
        do {
            return try connection.rows(sql, parameters, map)
        } catch {
            throw StoreError.readFailed(error)
        }
    }

    /// A row of ``ListingSQL/eventColumns(body:_:)``.
    private static func event(_ row: SQLiteStatement) -> StoredEvent {
        var event = StoredEvent(
            sequence: row.int64(at: 0),
            id: EventID(row.text(at: 1) ?? ""),
            type: row.text(at: 2) ?? "",
            project: row.text(at: 3),
            time: row.text(at: 4),
            receivedAt: Date(unixMilliseconds: row.int64(at: 5)),
            messageID: row.text(at: 6) ?? "",
            webhookTimestamp: row.int64(at: 7),
            body: row.bytes(at: 8)
        )
        event.subject = row.text(at: 9)
        event.user = row.text(at: 10)
        event.erasedAt = row.optionalInt64(at: 11).map { Date(unixMilliseconds: $0) }
        event.traceContext = TraceContext(stored: row.text(at: 12))
        return event
    }
}
