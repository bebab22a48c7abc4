import Logging
import NIOCore
import PostgresNIO

/// A batch of events as one prepared multi-row insert: arrays unnested in the order given, conflicts on
/// the event id skipped. Returns the sequence number of each event it inserted, by id.
struct InsertEvents: PostgresPreparedStatement {
    static let sql = """
        INSERT INTO events (id, type, project, event_time, received_at, message_id, webhook_timestamp, signature, body)
        SELECT id, type, CASE WHEN has_project THEN project END, CASE WHEN has_time THEN event_time END, received_at,
            message_id, webhook_timestamp, signature, body
        FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::text[], $6::bool[], $7::int8[], $8::text[],
            $9::int8[], $10::text[], $11::bytea[]) WITH ORDINALITY
            AS t(id, type, project, has_project, event_time, has_time, received_at, message_id, webhook_timestamp,
                signature, body, ord)
        ORDER BY ord
        ON CONFLICT (id) DO NOTHING
        RETURNING id, seq
        """

    typealias Row = (String, Int64)

    let events: [VerifiedEvent]

    init(_ events: [VerifiedEvent]) {
        self.events = events
    }

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 11)
        bindings.append(events.map { $0.id.rawValue.postgresText })
        bindings.append(events.map { $0.type.postgresText })
        bindings.append(events.map { $0.project?.postgresText ?? "" })
        bindings.append(events.map { $0.project != nil })
        bindings.append(events.map { $0.time?.postgresText ?? "" })
        bindings.append(events.map { $0.time != nil })
        bindings.append(events.map(\.receivedAt))
        bindings.append(events.map { $0.headers.id.postgresText })
        bindings.append(events.map(\.timestamp))
        bindings.append(events.map { $0.headers.signature.postgresText })
        bindings.append(events.map { ByteBuffer(bytes: $0.body) })
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(Row.self)
    }

    /// Inserts the events; returns the sequence number of each new one, by id.
    func run(on connection: PostgresConnection, logger: Logger) async throws -> [String: Int64] {
        var inserted: [String: Int64] = [:]
        for try await (id, sequence) in try await connection.execute(self, logger: logger) {
            inserted[id] = sequence
        }
        return inserted
    }
}

/// One pending delivery per (event, action), due at once, as one prepared multi-row insert.
struct InsertDeliveries: PostgresPreparedStatement {
    static let sql = """
        INSERT INTO deliveries (event_seq, action, status, next_attempt_at, replay, created_at, updated_at)
        SELECT seq, action, 'pending', at, 0, at, at FROM unnest($1::int8[], $2::text[], $3::int8[]) AS t(seq, action, at)
        """

    typealias Row = ()

    private var sequences: [Int64] = []
    private var actions: [String] = []
    private var times: [Int64] = []

    var isEmpty: Bool { sequences.isEmpty }

    mutating func add(sequence: Int64, action: String, at time: Int64) {
        sequences.append(sequence)
        actions.append(action.postgresText)
        times.append(time)
    }

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 3)
        bindings.append(sequences)
        bindings.append(actions)
        bindings.append(times)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {}
}

/// A finished attempt, fenced by attempt number: the delivery moves on and the attempt is recorded only
/// while the delivery is still `running` at that attempt. Returns one row when it applied.
struct FinishAttempt: PostgresPreparedStatement {
    static let sql = """
        WITH finished AS (
            UPDATE deliveries SET status = $1, next_attempt_at = $2, last_error = $3, updated_at = $4
            WHERE id = $5 AND attempts = $6 AND status = 'running'
            RETURNING id
        )
        INSERT INTO attempts (delivery_id, number, started_at, duration_ms, outcome, error, output)
        SELECT id, $6, $7, $8, $9, $3, $10 FROM finished
        RETURNING delivery_id
        """

    typealias Row = Int64

    let record: AttemptRecord

    init(_ record: AttemptRecord) {
        self.record = record
    }

    func makeBindings() throws -> PostgresBindings {
        let status: DeliveryStatus
        var nextAttemptAt: Int64 = 0
        switch record.outcome {
        case .succeeded: status = .succeeded
        case .retry(_, let next):
            status = .failed
            nextAttemptAt = next
        case .dead: status = .dead
        case .skipped: status = .skipped
        case .released: status = .pending
        }
        var bindings = PostgresBindings(capacity: 10)
        bindings.append(status.rawValue)
        bindings.append(nextAttemptAt)
        bindings.append(record.outcome.error?.postgresText)
        bindings.append(unixMilliseconds())
        bindings.append(record.delivery.rawValue)
        bindings.append(Int64(record.attempt))
        bindings.append(record.startedAt)
        bindings.append(record.durationMilliseconds)
        bindings.append(record.outcome.label)
        bindings.append(record.output?.postgresText)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(Int64.self)
    }
}

/// Due deliveries of one action, oldest due first, locked for this transaction; rows other instances
/// hold are skipped, not waited for.
struct SelectDue: PostgresPreparedStatement {
    static let sql = """
        SELECT d.id, d.attempts, d.status, d.lease_expirations, d.replay, e.id, e.type, e.body, e.received_at
        FROM deliveries d JOIN events e ON e.seq = d.event_seq
        WHERE d.action = $1 AND d.status IN ('pending', 'failed', 'running') AND d.next_attempt_at <= $2
        ORDER BY d.next_attempt_at, d.id
        LIMIT $3
        FOR UPDATE OF d SKIP LOCKED
        """

    typealias Row = (Int64, Int64, String, Int64, Int64, String, String, ByteBuffer, Int64)

    let action: String
    let now: Int64
    let limit: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 3)
        bindings.append(action.postgresText)
        bindings.append(now)
        bindings.append(limit)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(Row.self)
    }
}

/// One claim on PostgreSQL, in the caller's transaction: the same rules as the SQLite writer's claim
/// (actions in turn, each within its room; an expired lease counts as an attempt and poisons a delivery on
/// its last one), with rows locked by `FOR UPDATE SKIP LOCKED` so that instances claim disjoint sets.
struct PostgresClaim {
    let request: ClaimRequest
    /// Which action's queue is taken from first.
    let turn: Int

    func run(on connection: PostgresConnection, logger: Logger) async throws -> Claim {
        var queues: [[EventWriter.ClaimedRow]] = []
        var poisoned: [PoisonedDelivery] = []
        for (action, settings) in request.actions.sorted(by: { $0.key < $1.key }) where settings.room > 0 {
            var queue: [EventWriter.ClaimedRow] = []
            let select = SelectDue(action: action, now: request.now, limit: Int64(min(settings.room, request.limit)))
            for try await (id, attempts, status, expirations, replay, eventID, type, body, received)
                in try await connection
                .execute(select, logger: logger)
            {
                let previousAttempts = Int(clamping: attempts)
                let leaseExpired = status == DeliveryStatus.running.rawValue
                if leaseExpired && previousAttempts >= settings.maxAttempts {
                    let expirations = expirations.saturatingAdd(1)
                    let error =
                        "attempt did not finish: lease expired \(expirations) time\(expirations == 1 ? "" : "s")"
                        + " (attempt \(previousAttempts) of \(settings.maxAttempts))"
                    poisoned.append(
                        PoisonedDelivery(
                            id: DeliveryID(id), eventID: EventID(eventID), action: action, attempts: previousAttempts,
                            error: error))
                    continue
                }
                var job = DeliveryJob(
                    id: DeliveryID(id),
                    eventID: EventID(eventID),
                    eventType: type,
                    action: action,
                    attempt: previousAttempts + 1,
                    body: Array(body.readableBytesView),
                    receivedAt: received
                )
                job.isReplay = replay != 0
                queue.append(EventWriter.ClaimedRow(job: job, leaseExpired: leaseExpired))
            }
            if !queue.isEmpty { queues.append(queue) }
        }
        let first = queues.isEmpty ? 0 : turn % queues.count
        let rows = EventWriter.takeInTurn(from: Array(queues[first...] + queues[..<first]), limit: request.limit)
        let now = request.now
        for delivery in poisoned {
            try await connection.query(
                """
                WITH dead AS (
                    UPDATE deliveries SET status = 'dead', lease_expirations = lease_expirations + 1,
                        last_error = \(delivery.error), next_attempt_at = 0, updated_at = \(now)
                    WHERE id = \(delivery.id.rawValue) AND status = 'running'
                    RETURNING id
                )
                INSERT INTO attempts (delivery_id, number, started_at, duration_ms, outcome, error)
                SELECT id, \(delivery.attempts), \(now), 0, 'dead', \(delivery.error) FROM dead
                """, logger: logger)
        }
        if !rows.isEmpty {
            let expired = rows.filter(\.leaseExpired).map { $0.job.id.rawValue }
            if !expired.isEmpty {
                // The unfinished attempts are recorded as failed ones.
                try await connection.query(
                    """
                    INSERT INTO attempts (delivery_id, number, started_at, duration_ms, outcome, error)
                    SELECT id, attempts, \(now), 0, 'failed', 'attempt did not finish: its lease expired'
                    FROM deliveries WHERE id = ANY(\(expired))
                    """, logger: logger)
            }
            let ids = rows.map { $0.job.id.rawValue }
            try await connection.query(
                """
                UPDATE deliveries SET status = 'running', attempts = attempts + 1, next_attempt_at = \(now + request.leaseMilliseconds),
                    updated_at = \(now),
                    lease_expirations = lease_expirations + CASE WHEN status = 'running' THEN 1 ELSE 0 END
                WHERE id = ANY(\(ids))
                """, logger: logger)
        }
        // After marking, so the claimed deliveries count with their lease's end.
        let actions = Array(request.actions.keys).map(\.postgresText)
        var nextDueAt: Int64?
        for try await due in try await connection.query(
            """
            SELECT min(next_attempt_at) FROM deliveries
            WHERE action = ANY(\(actions)) AND status IN ('pending', 'failed', 'running')
            """, logger: logger
        ).decode(Int64?.self) {
            nextDueAt = due
        }
        var claim = Claim(jobs: rows.map(\.job), nextDueAt: nextDueAt)
        claim.poisoned = poisoned
        return claim
    }
}
