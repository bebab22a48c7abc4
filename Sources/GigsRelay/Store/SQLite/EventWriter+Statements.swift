extension EventWriter {
    /// The open connection and its statements; nil once closed.
    struct Statements {
        let connection: SQLiteConnection
        let begin: SQLiteStatement
        let commit: SQLiteStatement
        let insertEvent: SQLiteStatement
        let eventStored: SQLiteStatement
        let insertDelivery: SQLiteStatement
        let selectDue: SQLiteStatement
        let markRunning: SQLiteStatement
        let markPoisoned: SQLiteStatement
        let nextDue: SQLiteStatement
        let finish: SQLiteStatement
        let release: SQLiteStatement
        let insertAttempt: SQLiteStatement
        let countEvents: SQLiteStatement
        let countPending: SQLiteStatement
        let countDead: SQLiteStatement
        let queuedActions: SQLiteStatement
        let selectPaused: SQLiteStatement
        let recordCircuit: SQLiteStatement

        init(connection: SQLiteConnection) throws(SQLiteError) {
            self.connection = connection
            begin = try connection.prepare("BEGIN IMMEDIATE")
            commit = try connection.prepare("COMMIT")
            insertEvent = try connection.prepare(SQLiteStatement.insertEventSQL)
            eventStored = try connection.prepare(SQLiteStatement.eventStoredSQL)
            insertDelivery = try connection.prepare(SQLiteStatement.insertDeliverySQL)
            selectDue = try connection.prepare(
                """
                SELECT d.id, d.action, d.attempts, d.status, e.id, e.type, e.body, e.received_at, d.lease_expirations,
                    d.replay, ?4 = 1 AND d.subject IS NOT NULL AND \(SQLiteStatement.laterDelivered), e.trace_context
                FROM deliveries d INDEXED BY deliveries_due_by_action JOIN events e ON e.seq = d.event_seq
                WHERE d.action = ?1 AND d.status IN (\(DeliveryStatus.unfinished.sql)) AND d.next_attempt_at <= ?2
                    AND (?4 = 0 OR d.subject IS NULL OR NOT \(SQLiteStatement.subjectHeld))
                ORDER BY d.next_attempt_at, d.id LIMIT ?3
                """
            )
            markRunning = try connection.prepare(
                """
                UPDATE deliveries SET status = \(DeliveryStatus.running.sql), attempts = attempts + 1,
                    next_attempt_at = ?1, updated_at = ?2, lease_expirations = lease_expirations + ?3,
                    out_of_order = max(out_of_order, ?5)
                WHERE id = ?4
                """
            )
            markPoisoned = try connection.prepare(
                """
                UPDATE deliveries SET status = \(DeliveryStatus.dead.sql), lease_expirations = lease_expirations + 1,
                    last_error = ?, next_attempt_at = 0, updated_at = ?
                WHERE id = ? AND status = \(DeliveryStatus.running.sql)
                """
            )
            selectPaused = try connection.prepare("SELECT action FROM action_state WHERE paused_at IS NOT NULL")
            recordCircuit = try connection.prepare(ActionStateSQL.recordCircuit)
            nextDue = try connection.prepare(
                """
                SELECT next_attempt_at FROM deliveries INDEXED BY deliveries_due_by_action
                WHERE action = ? AND status IN (\(DeliveryStatus.unfinished.sql)) ORDER BY next_attempt_at LIMIT 1
                """
            )
            finish = try connection.prepare(
                """
                UPDATE deliveries SET status = $1, next_attempt_at = $2, last_error = $3, updated_at = $4
                WHERE \(AttemptSQL.fence(id: "$5", attempt: "$6"))
                """
            )
            release = try connection.prepare(AttemptSQL.release)
            insertAttempt = try connection.prepare(AttemptSQL.insert)
            countEvents = try connection.prepare("SELECT coalesce(max(seq), 0) FROM events")
            countPending = try connection.prepare(
                """
                SELECT count(*), min(created_at) FROM deliveries INDEXED BY deliveries_by_status
                WHERE status IN (\(DeliveryStatus.unfinished.sql))
                """
            )
            countDead = try connection.prepare(
                "SELECT count(*) FROM deliveries WHERE status = \(DeliveryStatus.dead.sql)")
            // The distinct actions of unfinished deliveries, one index seek per action (a loose index scan),
            // however large the backlog.
            queuedActions = try connection.prepare(
                """
                WITH RECURSIVE queued(action) AS (
                    SELECT min(action) FROM deliveries INDEXED BY deliveries_due_by_action
                    WHERE status IN (\(DeliveryStatus.unfinished.sql))
                    UNION ALL
                    SELECT (
                        SELECT min(action) FROM deliveries INDEXED BY deliveries_due_by_action
                        WHERE status IN (\(DeliveryStatus.unfinished.sql)) AND action > queued.action
                    ) FROM queued WHERE queued.action IS NOT NULL
                )
                SELECT action FROM queued WHERE action IS NOT NULL LIMIT 1000
                """
            )
        }
    }
}
