import Logging
import NIOCore
import PostgresNIO

/// ``StoreRows`` on PostgreSQL, for `store copy`.
extension PostgresStore: StoreRows {
    private typealias EventColumns = (
        Int64, String, String, String?, String?, Int64, String, Int64, String, ByteBuffer, String?, String?, Int64?,
        String?
    )
    private typealias DeliveryColumns = (
        Int64, Int64, String, String, Int64, Int64, String?, Int64, Int64, Int64, Int64, String?, Int64, Int64
    )
    private typealias AttemptColumns = (Int64, Int64, Int64, Int64, Int64, String, String?, String?)

    private static let eventColumns =
        "seq, id, type, project, event_time, received_at, message_id, webhook_timestamp, signature, body, subject, user_id, erased_at, "
        + "trace_context"
    private static let deliveryColumns = """
        id, event_seq, action, status, attempts, next_attempt_at, last_error, replay, created_at, updated_at,
        lease_expirations, subject, order_at, out_of_order
        """
    private static let attemptColumns = "id, delivery_id, number, started_at, duration_ms, outcome, error, output"

    private static func event(_ columns: EventColumns) -> EventRow {
        let (sequence, id, type, project, time, received, message, timestamp, signature, body, subject, user, erased) =
            (
                columns.0, columns.1, columns.2, columns.3, columns.4, columns.5, columns.6, columns.7, columns.8,
                columns.9, columns.10, columns.11, columns.12
            )
        return EventRow(
            sequence: sequence, id: id, type: type, project: project, eventTime: time, receivedAt: received,
            messageID: message, webhookTimestamp: timestamp, signature: signature, body: Array(body.readableBytesView),
            subject: subject, user: user, erasedAt: erased, traceContext: columns.13)
    }

    private static func delivery(_ columns: DeliveryColumns) -> DeliveryRow {
        let (id, event, action, status, attempts, next, error, replay, created, updated, expirations) = (
            columns.0, columns.1, columns.2, columns.3, columns.4, columns.5, columns.6, columns.7, columns.8,
            columns.9, columns.10
        )
        return DeliveryRow(
            id: id, eventSequence: event, action: action, status: status, attempts: attempts, nextAttemptAt: next,
            lastError: error, replay: replay, createdAt: created, updatedAt: updated, leaseExpirations: expirations,
            subject: columns.11, orderAt: columns.12, outOfOrder: columns.13)
    }

    private static func attempt(_ columns: AttemptColumns) -> AttemptRow {
        let (id, delivery, number, started, duration, outcome, error, output) = columns
        return AttemptRow(
            id: id, deliveryID: delivery, number: number, startedAt: started, durationMilliseconds: duration,
            outcome: outcome, error: error, output: output)
    }

    /// `SELECT columns FROM table WHERE key > $1 ORDER BY key LIMIT $2`, or `WHERE key = ANY($1)`.
    private static func select(_ columns: String, from table: String, key: String, after id: Int64, limit: Int)
        -> PostgresQuery
    {
        var binds = PostgresBindings()
        binds.append(id)
        binds.append(Int64(limit))
        return PostgresQuery(
            unsafeSQL: "SELECT \(columns) FROM \(table) WHERE \(key) > $1 ORDER BY \(key) LIMIT $2", binds: binds)
    }

    private static func select(_ columns: String, from table: String, key: String, in ids: [Int64]) -> PostgresQuery {
        var binds = PostgresBindings()
        binds.append(ids)
        return PostgresQuery(unsafeSQL: "SELECT \(columns) FROM \(table) WHERE \(key) = ANY($1)", binds: binds)
    }

    public func events(after id: Int64, limit: Int) async throws(StoreError) -> [EventRow] {
        let query = Self.select(Self.eventColumns, from: "events", key: "seq", after: id, limit: limit)
        return try await read { client, logger in
            try await client.query(query, logger: logger).decode(EventColumns.self).collect().map(Self.event)
        }
    }

    public func deliveries(after id: Int64, limit: Int) async throws(StoreError) -> [DeliveryRow] {
        let query = Self.select(Self.deliveryColumns, from: "deliveries", key: "id", after: id, limit: limit)
        return try await read { client, logger in
            try await client.query(query, logger: logger).decode(DeliveryColumns.self).collect().map(Self.delivery)
        }
    }

    public func attempts(after id: Int64, limit: Int) async throws(StoreError) -> [AttemptRow] {
        let query = Self.select(Self.attemptColumns, from: "attempts", key: "id", after: id, limit: limit)
        return try await read { client, logger in
            try await client.query(query, logger: logger).decode(AttemptColumns.self).collect().map(Self.attempt)
        }
    }

    public func events(ids: [Int64]) async throws(StoreError) -> [EventRow] {
        let query = Self.select(Self.eventColumns, from: "events", key: "seq", in: ids)
        return try await read { client, logger in
            try await client.query(query, logger: logger).decode(EventColumns.self).collect().map(Self.event)
        }
    }

    public func deliveries(ids: [Int64]) async throws(StoreError) -> [DeliveryRow] {
        let query = Self.select(Self.deliveryColumns, from: "deliveries", key: "id", in: ids)
        return try await read { client, logger in
            try await client.query(query, logger: logger).decode(DeliveryColumns.self).collect().map(Self.delivery)
        }
    }

    public func attempts(ids: [Int64]) async throws(StoreError) -> [AttemptRow] {
        let query = Self.select(Self.attemptColumns, from: "attempts", key: "id", in: ids)
        return try await read { client, logger in
            try await client.query(query, logger: logger).decode(AttemptColumns.self).collect().map(Self.attempt)
        }
    }

    public func eventSequences(eventIDs: [String]) async throws(StoreError) -> [String: Int64] {
        let ids = eventIDs.map(\.postgresText)
        let pairs = try await read { client, logger in
            try await client.query("SELECT id, seq FROM events WHERE id = ANY(\(ids))", logger: logger).decode(
                (String, Int64).self
            ).collect()
        }
        return Dictionary(pairs, uniquingKeysWith: { first, _ in first })
    }

    public func insert(events: [EventRow]) async throws(StoreError) {
        try await transaction { connection, logger in
            for row in events {
                try await connection.query(
                    """
                    INSERT INTO events (\(unescaped: Self.eventColumns))
                    VALUES (\(row.sequence), \(row.id.postgresText), \(row.type.postgresText), \(row.project?.postgresText),
                        \(row.eventTime?.postgresText), \(row.receivedAt), \(row.messageID.postgresText),
                        \(row.webhookTimestamp), \(row.signature.postgresText), \(ByteBuffer(bytes: row.body)),
                        \(row.subject?.postgresText), \(row.user?.postgresText),
                        \(row.erasedAt), \(row.traceContext?.postgresText))
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
            }
        }
    }

    public func upsert(deliveries: [DeliveryRow]) async throws(StoreError) {
        try await transaction { connection, logger in
            for row in deliveries {
                try await connection.query(
                    """
                    INSERT INTO deliveries (\(unescaped: Self.deliveryColumns))
                    VALUES (\(row.id), \(row.eventSequence), \(row.action.postgresText), \(row.status), \(row.attempts),
                        \(row.nextAttemptAt), \(row.lastError?.postgresText), \(row.replay), \(row.createdAt),
                        \(row.updatedAt), \(row.leaseExpirations), \(row.subject?.postgresText), \(row.orderAt),
                        \(row.outOfOrder))
                    ON CONFLICT (id) DO UPDATE SET status = excluded.status, attempts = excluded.attempts,
                        next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error,
                        updated_at = excluded.updated_at, lease_expirations = excluded.lease_expirations,
                        out_of_order = excluded.out_of_order
                    WHERE deliveries.updated_at < excluded.updated_at
                    """, logger: logger)
            }
        }
    }

    public func insert(attempts: [AttemptRow]) async throws(StoreError) {
        try await transaction { connection, logger in
            for row in attempts {
                try await connection.query(
                    """
                    INSERT INTO attempts (\(unescaped: Self.attemptColumns))
                    VALUES (\(row.id), \(row.deliveryID), \(row.number), \(row.startedAt), \(row.durationMilliseconds),
                        \(row.outcome), \(row.error?.postgresText), \(row.output?.postgresText))
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
            }
        }
    }

    public func listedKeys() async throws(StoreError) -> [String] {
        try await read { client, logger in
            try await client.query(PostgresQuery(unsafeSQL: StoreKeySQL.listed), logger: logger).decode(String.self)
                .collect()
        }
    }

    public func list(keys: [String]) async throws(StoreError) {
        try await transaction { connection, logger in
            for key in keys {
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: StoreKeySQL.list, binds: Self.binds(key.postgresText, unixMilliseconds())),
                    logger: logger)
            }
        }
    }

    public func reserveIDs(above ids: StoreCopy.HighestIDs) async throws(StoreError) {
        try await transaction { connection, logger in
            for (table, column, value) in [
                ("events", "seq", ids.events), ("deliveries", "id", ids.deliveries), ("attempts", "id", ids.attempts),
            ] {
                // Never backwards: the sequence may be past this already.
                try await connection.query(
                    """
                    SELECT setval(pg_get_serial_sequence(\(table), \(column)),
                        greatest(\(value), (SELECT last_value FROM \(unescaped: table)_\(unescaped: column)_seq)))
                    """, logger: logger)
            }
        }
    }
}
