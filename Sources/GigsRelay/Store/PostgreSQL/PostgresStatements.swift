import Logging
import NIOCore
import PostgresNIO

/// A batch of events and their deliveries as one prepared statement, committed on its own (one round
/// trip, durable when it returns with `synchronous_commit = on`): arrays unnested in the order given, the
/// first of repeated ids taken, conflicts on the event id skipped, and one pending delivery per routed
/// action of each new event. Returns each new event's id and sequence number, and how many deliveries
/// the statement created.
struct InsertEvents: PostgresPreparedStatement {
    static let sql = """
        WITH input AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::text[], $6::bool[], $7::int8[],
                $8::text[], $9::int8[], $10::text[], $11::bytea[]) WITH ORDINALITY
                AS t(id, type, project, has_project, event_time, has_time, received_at, message_id, webhook_timestamp,
                    signature, body, ord)
        ),
        firsts AS (SELECT DISTINCT ON (id) * FROM input ORDER BY id, ord),
        inserted AS (
            INSERT INTO events (id, type, project, event_time, received_at, message_id, webhook_timestamp, signature,
                body)
            SELECT id, type, CASE WHEN has_project THEN project END, CASE WHEN has_time THEN event_time END,
                received_at, message_id, webhook_timestamp, signature, body
            FROM firsts ORDER BY ord
            ON CONFLICT (id) DO NOTHING
            RETURNING id, seq
        ),
        delivered AS (
            INSERT INTO deliveries (event_seq, action, status, next_attempt_at, replay, created_at, updated_at)
            SELECT i.seq, r.action, 'pending', f.received_at, 0, f.received_at, f.received_at
            FROM inserted i JOIN firsts f ON f.id = i.id
            JOIN unnest($12::int8[], $13::text[]) AS r(ord, action) ON r.ord = f.ord
            RETURNING event_seq
        )
        SELECT id, seq, (SELECT count(*) FROM delivered) FROM inserted
        """

    typealias Row = (String, Int64, Int64)

    let events: [(event: VerifiedEvent, actions: [String])]

    init(_ events: [(event: VerifiedEvent, actions: [String])]) {
        self.events = events
    }

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 13)
        bindings.append(events.map { $0.event.id.rawValue.postgresText })
        bindings.append(events.map { $0.event.type.postgresText })
        bindings.append(events.map { $0.event.project?.postgresText ?? "" })
        bindings.append(events.map { $0.event.project != nil })
        bindings.append(events.map { $0.event.time?.postgresText ?? "" })
        bindings.append(events.map { $0.event.time != nil })
        bindings.append(events.map(\.event.receivedAt))
        bindings.append(events.map { $0.event.headers.id.postgresText })
        bindings.append(events.map(\.event.timestamp))
        bindings.append(events.map { $0.event.headers.signature.postgresText })
        bindings.append(events.map { ByteBuffer(bytes: $0.event.body) })
        var ordinals: [Int64] = []
        var actions: [String] = []
        for (index, item) in events.enumerated() {
            for action in item.actions {
                ordinals.append(Int64(index + 1))
                actions.append(action.postgresText)
            }
        }
        bindings.append(ordinals)
        bindings.append(actions)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(Row.self)
    }
}

/// Finished attempts, fenced by attempt number, as one prepared statement committed on its own: each
/// delivery moves on and its attempt is recorded only while it is still `running` at that attempt.
/// Returns the ids it applied to.
struct FinishAttempts: PostgresPreparedStatement {
    static let sql = """
        WITH input AS (
            SELECT * FROM unnest($1::int8[], $2::int8[], $3::text[], $4::int8[], $5::text[], $6::bool[], $7::int8[],
                $8::int8[], $9::text[], $10::text[], $11::bool[])
                AS t(id, attempt, status, next_attempt_at, error, has_error, started_at, duration_ms, outcome, output,
                    has_output)
        ),
        finished AS (
            UPDATE deliveries d SET status = i.status, next_attempt_at = i.next_attempt_at,
                last_error = CASE WHEN i.has_error THEN i.error END, updated_at = $12
            FROM input i
            WHERE d.id = i.id AND d.attempts = i.attempt AND d.status = 'running'
            RETURNING d.id, d.attempts
        )
        INSERT INTO attempts (delivery_id, number, started_at, duration_ms, outcome, error, output)
        SELECT i.id, i.attempt, i.started_at, i.duration_ms, i.outcome, CASE WHEN i.has_error THEN i.error END,
            CASE WHEN i.has_output THEN i.output END
        FROM input i JOIN finished f ON f.id = i.id AND f.attempts = i.attempt
        RETURNING delivery_id
        """

    typealias Row = Int64

    let records: [AttemptRecord]

    init(_ records: [AttemptRecord]) {
        self.records = records
    }

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 12)
        bindings.append(records.map(\.delivery.rawValue))
        bindings.append(records.map { Int64($0.attempt) })
        bindings.append(records.map { Self.status(of: $0.outcome).rawValue })
        bindings.append(
            records.map { record -> Int64 in
                if case .retry(_, let next) = record.outcome { return next }
                return 0
            })
        bindings.append(records.map { $0.outcome.error?.postgresText ?? "" })
        bindings.append(records.map { $0.outcome.error != nil })
        bindings.append(records.map(\.startedAt))
        bindings.append(records.map(\.durationMilliseconds))
        bindings.append(records.map(\.outcome.label))
        bindings.append(records.map { $0.output?.postgresText ?? "" })
        bindings.append(records.map { $0.output != nil })
        bindings.append(unixMilliseconds())
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(Int64.self)
    }

    static func status(of outcome: AttemptOutcome) -> DeliveryStatus {
        switch outcome {
        case .succeeded: .succeeded
        case .retry: .failed
        case .dead: .dead
        case .skipped: .skipped
        case .released: .pending
        }
    }
}

/// Due deliveries of one action, oldest due first, locked for this transaction; rows other instances
/// hold are skipped, not waited for.
struct SelectDue: PostgresPreparedStatement {
    // The due rows are picked and locked through the (action, next_attempt_at, id) index alone, then
    // joined with their events: joining first let the planner read and sort every due row with its body
    // (measured: 160 ms per claim with a backlog of 11,000).
    static let sql = """
        WITH due AS (
            SELECT id, event_seq, attempts, status, lease_expirations, replay, next_attempt_at
            FROM deliveries
            WHERE action = $1 AND status IN ('pending', 'failed', 'running') AND next_attempt_at <= $2
            ORDER BY next_attempt_at, id
            LIMIT $3
            FOR UPDATE SKIP LOCKED
        )
        SELECT due.id, due.attempts, due.status, due.lease_expirations, due.replay, e.id, e.type, e.body,
            e.received_at
        FROM due JOIN events e ON e.seq = due.event_seq
        ORDER BY due.next_attempt_at, due.id
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
                    let error = PoisonedDelivery.error(
                        expirations: expirations.saturatingAdd(1), attempts: previousAttempts,
                        maxAttempts: settings.maxAttempts)
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
        // After marking, so the claimed deliveries count with their lease's end. One index seek per action
        // (min() over several actions at once would read every unfinished delivery).
        var nextDueAt: Int64?
        for action in request.actions.keys {
            for try await due in try await connection.query(
                """
                SELECT next_attempt_at FROM deliveries
                WHERE action = \(action.postgresText) AND status IN ('pending', 'failed', 'running')
                ORDER BY next_attempt_at LIMIT 1
                """, logger: logger
            ).decode(Int64.self) {
                nextDueAt = min(due, nextDueAt ?? due)
            }
        }
        var claim = Claim(jobs: rows.map(\.job), nextDueAt: nextDueAt)
        claim.poisoned = poisoned
        return claim
    }
}
